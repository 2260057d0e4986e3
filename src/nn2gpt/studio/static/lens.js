// The GPT page's deeper views of the clicked position (api/gpt/lens, head, position; nn2gpt.studio.lens):
// the logit lens, one head's map over the whole text, and a pinned position set beside the clicked one.
// gpt.js calls showDeeper() with what it shows; nothing here reaches back into gpt.js.
import {$, bars, el, postJSON, shade, showError} from "./app.js";

// One formatter for every probability on the page: 0.928, and small ones as 1.5e-5 (never 0.0000).
export const prob = (p) => (p >= 0.001 || p === 0 ? p.toFixed(3) : p.toExponential(1));
export const logit = (z) => (z < 0 ? "\u2212" : "") + Math.abs(z).toFixed(2);
const CALM = 0.7; // the darkest shade of the maps below: a head's largest weight in a mid blue, so its text stays calm
export const visible = (s) => s.replace(/\n/g, "⏎").replace(/ /g, "␣");

let ctx = null;     // what gpt.js shows: run, text, position, tokens, off, settings, layer, head, n_layer, n_head
let pinned = null;  // the position kept for comparison
let map = null;     // the last answer of api/gpt/head
let cursor = null;  // [query, key] of the map's readout
const asked = {};   // the newest request of each view (older answers are dropped)

// Every answer names its run and model (postJSON checks it, runs.js): one from a model other than the one
// the page shows, retrained or deleted since, is thrown as RunChanged, which fail() keeps quiet, so that
// the views below never mix old and new numbers; gpt.js's watchRun hides them and says why.
async function ask(view, path, body) {
  const token = {};
  asked[view] = token;
  const answer = await postJSON(path, {run: ctx.run, text: ctx.text, heads_off: ctx.off, ...body});
  return asked[view] === token ? answer : null;
}

// ---- the logit lens: the residual stream after each block's attention and MLP, read through ln_f and the head ----
async function drawLens() {
  const box = $("gpt-lens");
  const a = await ask("lens", "api/gpt/lens", {position: ctx.position});
  if (!a) return;
  const f = a.following;
  $("gpt-lens-note").textContent = f ? "" : "The end of the text: nothing came next yet.";
  const head = el("div", {class: "lens-row lens-head"}, el("span", {class: "lens-label", text: "read after"}),
    el("span", {class: "lens-top", text: "the most likely next tokens, p"}),
    el("span", {class: "lens-following", text: f ? `“${visible(f.token)}” came next: p · rank` : ""}));
  box.replaceChildren(head, ...a.rows.map((r) => el("div", {class: "lens-row"},
    el("span", {class: "lens-label", text: r.label}),
    el("span", {class: "lens-top"}, ...r.top.map((t) => el("span", {class: "chip" + (f && t.id === f.id ? " came" : ""),
      style: `background:${shade(Math.min(1, t.p) * 0.55)}`, title: `logit ${logit(t.logit)}`},
      el("code", {text: visible(t.token)}), ` ${prob(t.p)}`))),
    el("span", {class: "lens-following", text: r.following ? `${prob(r.following.p)} · #${r.following.rank.toLocaleString("en")}` : ""}))));
}

// ---- one head over the whole text: row i = query token i, column j = key token j ----
function fillHeadPickers() {
  const layer = $("gpt-map-layer"), head = $("gpt-map-head");
  if (layer.options.length !== ctx.n_layer) layer.replaceChildren(...Array.from({length: ctx.n_layer}, (_, l) => el("option", {value: String(l), text: `layer ${l + 1}`})));
  if (head.options.length !== ctx.n_head) head.replaceChildren(...Array.from({length: ctx.n_head}, (_, h) => el("option", {value: String(h), text: `head ${h + 1}`})));
  layer.value = String(ctx.layer);
  head.value = String(ctx.head);
}

async function drawMap() {
  const a = await ask("map", "api/gpt/head", {position: ctx.position, layer: ctx.layer, head: ctx.head});
  if (!a) return;
  map = a;
  const n = a.rows.length, canvas = $("gpt-map"), g = canvas.getContext("2d");
  canvas.width = canvas.height = n;
  const image = g.createImageData(n, n);
  a.rows.forEach((row, i) => {
    const top = Math.max(1, ...row);
    for (let j = 0; j < n; j++) {
      const [r, gr, b] = j < row.length ? shade(CALM * row[j], top).match(/\d+/g).map(Number) : [246, 247, 249];
      image.data.set([r, gr, b, 255], 4 * (i * n + j));
    }
  });
  g.putImageData(image, 0, 0);
  canvas.setAttribute("aria-label", `layer ${a.layer + 1} head ${a.head + 1} over ${n} tokens: arrow keys move, the value is written under the map`);
  $("gpt-map-caption").textContent = `L${a.layer + 1} H${a.head + 1} over ${n} tokens` +
    (a.start ? ` (positions ${a.start}–${a.position}, the context read at the clicked one)` : ` (positions 0–${a.position})`);
  point(n - 1, a.rows[n - 1].indexOf(Math.max(...a.rows[n - 1])));
}

function point(i, j) {
  const n = map.rows.length;
  i = Math.max(0, Math.min(n - 1, i));
  j = Math.max(0, Math.min(i, j));
  cursor = [i, j];
  const box = $("gpt-map-cursor"), size = $("gpt-map").clientWidth / n;
  Object.assign(box.style, {left: `${j * size}px`, top: `${i * size}px`, width: `${Math.max(3, size)}px`, height: `${Math.max(3, size)}px`});
  box.hidden = false;
  const t = map.tokens, at = (k) => `“${visible(t[k])}” (position ${map.start + k})`;
  $("gpt-map-readout").textContent = `${at(i)} reads ${at(j)}: ${(map.rows[i][j] / 1000).toFixed(3)}`;
}

function pointAt(e) {
  if (!map) return;
  const r = $("gpt-map").getBoundingClientRect(), n = map.rows.length;
  point(Math.floor((e.clientY - r.top) / r.height * n), Math.floor((e.clientX - r.left) / r.width * n));
}

function mapKeys(e) {
  if (!map || !cursor) return;
  const moves = {ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1]}, m = moves[e.key];
  if (!m) return;
  e.preventDefault();
  point(cursor[0] + m[0], cursor[1] + m[1]);
}

// ---- two positions side by side: their next-token bars and the chosen head's row ----
function column(a, title) {
  const items = a.next.map((n) => ({id: n.id, label: visible(n.token), value: n.p, text: prob(n.p), logit: n.logit}));
  const f = a.following, mark = f ? items.findIndex((it) => it.id === f.id) : -1;
  const barBox = el("div", {class: "bars horizontal next-bars"});
  bars(barBox, items, {horizontal: true, highlight: 0, mark: mark >= 0 ? mark : null});
  [...barBox.children].forEach((row, i) => row.append(el("small", {text: logit(items[i].logit)})));
  const shown = a.tokens.slice(-40), from = a.tokens.length - shown.length, top = Math.max(1e-9, ...(a.row ?? [0]));
  return el("div", {class: "compare-col"}, el("h4", {text: title}),
    el("p", {class: "note small", text: f ? `came next: “${visible(f.token)}”, p = ${prob(f.p)}, rank ${f.rank.toLocaleString("en")}` : "the end of the text"}),
    barBox,
    a.row ? el("p", {class: "note small", text: `L${a.layer + 1} H${a.head + 1} reads` + (from ? ` (the last ${shown.length} of ${a.tokens.length} tokens):` : ":")}) : "",
    a.row ? el("div", {class: "tokens reads"}, ...shown.map((t, k) => el("span", {text: visible(t),
      title: `${a.row[from + k].toFixed(3)}`, style: `background:${shade(CALM * a.row[from + k], top)};color:${a.row[from + k] > 0.8 * top ? "#fff" : "inherit"}`}))) : "");
}

async function drawCompare() {
  const box = $("gpt-compare");
  $("gpt-pin").textContent = pinned === ctx.position ? `position ${pinned} is pinned` : `pin position ${ctx.position}`;
  if (pinned === null || pinned === ctx.position) {
    box.replaceChildren(el("p", {class: "note", text: pinned === null ? "Pin this position, then click another character to set the two side by side."
      : "Now click another character: it opens beside this one."}));
    return;
  }
  const body = {layer: ctx.layer, head: ctx.head, ...ctx.settings};
  const token = {};
  asked.compare = token;
  const [a, b] = await Promise.all([pinned, ctx.position].map((p) =>
    postJSON("api/gpt/position", {run: ctx.run, text: ctx.text, heads_off: ctx.off, position: p, ...body})));
  if (asked.compare !== token) return;
  const name = (x) => `after “${visible(ctx.tokens[x.position] ?? "")}” (position ${x.position})`;
  box.replaceChildren(column(a, `pinned: ${name(a)}`), column(b, `clicked: ${name(b)}`));
}

function pin() { pinned = ctx.position; drawCompare().catch(fail); }
function fail(e) { showError($("gpt-error"), e); }

// gpt.js: the clicked position changed, or its settings, heads off or chosen head did.
export function showDeeper(next, {only = null} = {}) {
  if (ctx && (ctx.run !== next.run || ctx.text !== next.text)) pinned = null; // another text: a pin means nothing there
  ctx = next;
  $("gpt-deeper").hidden = false;
  fillHeadPickers();
  $("gpt-map-box").hidden = !ctx.n_layer;
  const views = {lens: drawLens, map: drawMap, compare: drawCompare};
  for (const [name, draw] of Object.entries(views)) {
    if (only && !only.includes(name)) continue;
    if (name === "map" && !ctx.n_layer) continue;
    draw().catch(fail);
  }
}

export function hideDeeper() { pinned = null; $("gpt-deeper").hidden = true; }

export function startDeeper() {
  $("gpt-pin").addEventListener("click", pin);
  const pick = () => ctx.onHead(Number($("gpt-map-layer").value), Number($("gpt-map-head").value)); // gpt.js opens it everywhere
  $("gpt-map-layer").addEventListener("change", pick);
  $("gpt-map-head").addEventListener("change", pick);
  $("gpt-map-legend").replaceChildren(el("span", {text: "0"}),
    el("i", {style: `background:linear-gradient(to right, ${shade(0)}, ${shade(CALM)})`}), el("span", {text: "the row's largest weight"}));
  const canvas = $("gpt-map");
  canvas.addEventListener("pointermove", pointAt);
  canvas.addEventListener("pointerdown", pointAt);
  canvas.addEventListener("keydown", mapKeys);
}
