// Chapter 2: stream a GPT's text; click a character to see its next-token distribution (re-shaped live by
// temperature and top-k), every head's attention, and what changes when heads are turned off.
import {$, bars, el, fillRuns, heatmap, legend, postJSON, postStream, register, shade, showError, watchRun} from "./app.js";
import {hideDeeper, logit, prob, showDeeper, startDeeper, visible} from "./lens.js";
import {renderTokens, rove, tokenKeys} from "./strip.js";

let tokens = [];        // the text as the model reads it, one piece per token
let inspected = null;   // the last answer of api/gpt/inspect
let head = 0;           // which layer·head row shades the text (an index into inspected.attention)
let controller = null;  // aborts a generation in progress
let asked = null;       // the newest slider request (older answers are dropped)
const off = new Set();  // heads turned off, as "layer,head"
const MANY_ROWS = 32;   // above this many heads, the heatmap shows one layer at a time

const value = (id) => { const v = $(id).value.trim(); return v === "" ? null : Number(v); };
const offList = () => [...off].map((k) => k.split(",").map(Number));

// Redraw a box without losing the keyboard's place: the element with the same data-key gets the focus back.
function keepFocus(box, draw) {
  const key = box.contains(document.activeElement) ? document.activeElement.dataset.key : null;
  draw();
  if (key) box.querySelector(`[data-key="${key}"]`)?.focus();
}

function shadeText() {
  const spans = $("gpt-text").children;
  for (const s of spans) { s.style.background = ""; s.classList.remove("picked"); }
  if (!inspected || !inspected.attention.length) return;
  const row = inspected.attention[head].weights, max = Math.max(...row);
  // a light wash, so the text stays readable: alpha = weight / the row's largest weight
  row.forEach((w, j) => { const s = spans[inspected.start + j]; if (s) s.style.background = `rgba(47,109,181,${(0.75 * w / max).toFixed(3)})`; });
  spans[inspected.position]?.classList.add("picked");
}

// ---- the next-token bars: the sampler's distribution at the clicked position ----
function sliderSettings() {
  const k = Number($("gpt-slide-k").value);
  return {temperature: Number($("gpt-slide-t").value), top_k: k === 0 ? null : k, top_p: value("gpt-top-p")};
}

function showSliders() {
  const s = sliderSettings();
  $("gpt-slide-t-value").textContent = s.temperature.toFixed(2);
  $("gpt-slide-k-value").textContent = s.top_k ?? "all";
}

function drawNext(answer, was = null) {
  const items = answer.next.map((n) => ({id: n.id, label: visible(n.token), value: n.p, logit: n.logit}));
  const f = answer.following;
  let mark = f ? items.findIndex((it) => it.id === f.id) : -1;
  if (f && mark < 0 && f.p > 0) { items.push({id: f.id, label: visible(f.token), value: f.p, logit: f.logit}); mark = items.length - 1; }
  for (const it of items) it.text = prob(it.value) + (was && was.has(it.id) ? ` · was ${prob(was.get(it.id))}` : "");
  const box = $("gpt-next");
  bars(box, items, {horizontal: true, highlight: 0, mark: mark >= 0 ? mark : null, max: Math.max(1e-9, ...items.map((it) => it.value))});
  [...box.children].forEach((row, i) => row.append(el("small", {text: logit(items[i].logit)})));
  box.prepend(el("div", {class: "bars-head"}, el("span", {text: "token"}), el("span"), el("span", {text: was ? "p · was" : "p"}),
                 el("span", {text: "logit"})));
  const s = answer.settings;
  $("gpt-next-title").textContent = `Next token after “${visible(tokens[answer.position] ?? "")}” (position ${answer.position})`;
  $("gpt-following").textContent = (f ? `Came next in the text: “${visible(f.token)}”, p = ${prob(f.p)}, ` +
    `rank ${f.rank.toLocaleString("en")}. ` : "The end of the text: nothing came next yet. ") +
    `Temperature ${s.temperature}, top-k ${s.top_k ?? "all"}` + (s.top_p ? `, top-p ${s.top_p}` : "") +
    (answer.off?.length || off.size ? `; ${off.size} head${off.size === 1 ? "" : "s"} off.` : ".");
}

// What every bar (whatever its rank) was with every head on: null when no head is off.
async function baseline(answer, settings) {
  if (!off.size) return null;
  const ids = answer.next.map((n) => n.id).concat(answer.following ? [answer.following.id] : []);
  const b = await postJSON("api/gpt/was", {run: $("gpt-run").value, text: tokens.join(""), position: answer.position, ids, ...settings});
  return new Map(ids.map((id, i) => [id, b.p[i]]));
}

async function slide() {
  showSliders();
  if (!inspected) return;
  const settings = sliderSettings(), position = inspected.position, ask = {settings};
  asked = ask;
  try {
    const body = {run: $("gpt-run").value, text: tokens.join(""), position, ...settings, heads_off: offList()};
    const answer = await postJSON("api/gpt/next", body);
    const was = await baseline(answer, settings);
    if (asked === ask) { drawNext({...answer, off: offList()}, was); deeper(["compare"]); }
  } catch (e) { showError($("gpt-error"), e); }
}

// ---- attention: the clicked position's row of every head, and every head's recent map ----
function drawAttention(keep = false) {
  const a = inspected.attention;
  $("gpt-layer-box").hidden = a.length <= MANY_ROWS;
  if (!a.length) {
    $("gpt-attention").replaceChildren(el("p", {class: "note", text: "This model has no attention (a bigram model reads one token)."}));
    return;
  }
  const layer = a[head].layer;
  const shown = a.map((r, i) => ({...r, i})).filter((r) => a.length <= MANY_ROWS || r.layer === layer);
  if (a.length > MANY_ROWS) {
    $("gpt-layer").replaceChildren(...Array.from({length: inspected.n_layer}, (_, l) => el("option", {value: String(l), text: `layer ${l + 1} of ${inspected.n_layer}`})));
    $("gpt-layer").value = String(layer);
  }
  const cols = inspected.tokens.slice(inspected.start, inspected.position + 1).map(visible);
  heatmap($("gpt-attention"), shown.map((r) => r.weights), shown.map((r) => `L${r.layer + 1} H${r.head + 1}` + (off.has(`${r.layer},${r.head}`) ? " off" : "")), cols,
          {picked: shown.findIndex((r) => r.i === head), perRow: true, fit: true, keep,
           onRow: (i) => openHead(shown[i].i)});
}

function openHead(i) {
  head = i;
  const map = $("gpt-attention"), row = map.contains(document.activeElement);
  drawAttention(true);
  if (row) map.querySelector(".hm-row.picked")?.focus(); // Enter on a row keeps the keyboard there
  shadeText();
  drawHeads();
  deeper(["map", "compare"]);
}

// The views below the heads (lens.js): the logit lens, one head over the text, two positions side by side.
function deeper(only = null) {
  const r = inspected.attention[head];
  showDeeper({run: $("gpt-run").value, text: tokens.join(""), position: inspected.position, tokens, off: offList(),
              settings: sliderSettings(), layer: r?.layer ?? 0, head: r?.head ?? 0, n_layer: inspected.n_layer,
              n_head: inspected.n_head, onHead: (l, h) => openHead(inspected.attention.findIndex((x) => x.layer === l && x.head === h))},
             {only});
}

function thumbnail(recent) {
  const n = recent.length, c = el("canvas", {width: n, height: n}), ctx = c.getContext("2d");
  const top = Math.max(1, ...recent.flat());
  recent.forEach((row, i) => row.forEach((w, j) => { ctx.fillStyle = shade(w, top); ctx.fillRect(j, i, 1, 1); }));
  return c;
}

function drawHeads() {
  const a = inspected.attention, box = $("gpt-heads");
  if (!a.length) { box.replaceChildren(); return; }
  const rows = [];
  for (let l = 0; l < inspected.n_layer; l++) {
    const cells = a.filter((r) => r.layer === l).map((r) => {
      const i = a.indexOf(r), key = `${r.layer},${r.head}`;
      const tick = el("input", {type: "checkbox", "data-key": `tick ${key}`, "aria-label": `turn off layer ${l + 1} head ${r.head + 1}`,
        onchange: (e) => { if (e.target.checked) off.add(key); else off.delete(key); inspect(inspected.position); }});
      tick.checked = off.has(key);
      return el("div", {class: "thumb" + (i === head ? " picked" : "") + (off.has(key) ? " off" : "")},
        el("button", {class: "plain", "data-key": `open ${key}`, title: `open layer ${l + 1} head ${r.head + 1}`, onclick: () => openHead(i)},
           thumbnail(r.recent), el("span", {text: `H${r.head + 1}`})),
        el("label", {class: "small"}, tick, "off"));
    });
    rows.push(el("div", {class: "thumb-row"}, el("span", {class: "thumb-layer", text: `L${l + 1}`}), ...cells));
  }
  keepFocus(box, () => box.replaceChildren(...rows, legend("each thumbnail's largest weight")));
  $("gpt-off-summary").textContent = off.size ? `Turned off: ${[...off].map((k) => { const [l, h] = k.split(","); return `L${+l + 1} H${+h + 1}`; }).join(", ")}.` +
    " The bars and maps above come from the model without them." : "";
}

async function inspect(position) {
  const text = tokens.join("");
  const settings = sliderSettings();
  if (!inspected || inspected.position !== position) { // a new position: the sliders start at the sampling settings
    const t = value("gpt-temperature") ?? 1, k = value("gpt-top-k");
    $("gpt-slide-t").value = String(Math.min(2, t));
    $("gpt-slide-k").value = String(k && k <= 50 ? k : 0);
    Object.assign(settings, sliderSettings());
  }
  showSliders();
  let was;
  try {
    inspected = await postJSON("api/gpt/inspect", {run: $("gpt-run").value, text, position, ...settings, heads_off: offList()});
    was = await baseline(inspected, settings);
  } catch (e) { showError($("gpt-error"), e); return; }
  showError($("gpt-error"), null);
  tokens = inspected.tokens;
  if ($("gpt-text").children.length !== tokens.length) renderTokens(tokens, inspect);
  rove(position, $("gpt-text").contains(document.activeElement));
  head = Math.min(head, Math.max(0, inspected.attention.length - 1));
  $("gpt-inspect").hidden = false;
  drawNext(inspected, was);
  drawAttention();
  shadeText();
  drawHeads();
  deeper();
}

async function generate() {
  if (controller) { controller.abort(); return; }
  if (!$("gpt-run").value) return; // no run picked (the one shown was deleted): the line under the list says so
  const box = $("gpt-text");
  const body = {run: $("gpt-run").value, prompt: $("gpt-prompt").value, temperature: value("gpt-temperature"),
                top_k: value("gpt-top-k"), top_p: value("gpt-top-p"), seed: value("gpt-seed"),
                max_new_tokens: value("gpt-max")};
  showError($("gpt-error"), null);
  $("gpt-inspect").hidden = true;
  hideDeeper();
  inspected = null;
  controller = new AbortController();
  $("gpt-generate").textContent = "Stop";
  const t0 = performance.now();
  let first = null, text = "";
  try {
    await postStream("api/gpt/generate", body, (e) => {
      if (e.type === "start") { text = e.prompt; box.textContent = text; }
      if (e.type === "piece") {
        if (first === null) first = performance.now() - t0;
        text += e.text;
        box.append(e.text);
        box.scrollTop = box.scrollHeight;
      }
      if (e.type === "error") throw new Error(e.error);
      if (e.type === "end") {
        tokens = e.tokens;
        renderTokens(tokens, inspect);
        $("gpt-speed").textContent = `${e.new_tokens} tokens, ${e.tokens_per_s ?? "?"} tokens/s; first token after ` +
          `${first === null ? "?" : first.toFixed(0)} ms. Click any character (or Tab to the text, move with the arrow keys, press Enter).`;
      }
    }, controller.signal);
  } catch (e) {
    if (e.name !== "AbortError") showError($("gpt-error"), e);
    if (text) { // stopped early: ask how the model splits what is there, so each span is one token
      try { tokens = (await postJSON("api/gpt/tokens", {run: body.run, text})).tokens; renderTokens(tokens, inspect); }
      catch (err) { showError($("gpt-error"), err); }
    }
  } finally {
    controller = null;
    $("gpt-generate").textContent = "Generate";
  }
}

async function shapes() {
  const table = $("gpt-shapes");
  try {
    const s = await postJSON("api/gpt/shapes", {run: $("gpt-run").value, text: $("gpt-prompt").value || "ROMEO:"});
    const c = s.config;
    table.replaceChildren(el("caption", {class: "note", text: `${c.model}: ${c.n_layer} layers, ${c.n_head} heads, ` +
      `C = ${c.n_embd}, block ${c.block_size}, V = ${c.vocab_size}, ${c.pos} positions; the prompt is T = ${s.T} tokens`}),
      el("tr", {}, el("th", {text: "tensor"}), el("th", {text: "shape"}), el("th", {text: "dimensions"})),
      ...s.rows.map((r) => el("tr", {}, el("td", {text: r.name}), el("td", {text: r.shape}), el("td", {text: r.dims}))));
  } catch (e) { table.replaceChildren(el("tr", {}, el("td", {class: "error", text: e.message}))); }
}

async function refresh() {
  const has = await fillRuns("gpt", $("gpt-run"), $("gpt-empty"), $("gpt-summary"), {force: true});
  $("gpt-generate").disabled = !has;
}

register("gpt", async () => {
  $("gpt-generate").addEventListener("click", generate);
  $("gpt-text").addEventListener("keydown", (e) => tokenKeys(e, inspect));
  startDeeper();
  $("gpt-run").addEventListener("run", () => {
    shapes(); inspected = null; off.clear(); $("gpt-inspect").hidden = true; hideDeeper();
  });
  // the run trained again, or deleted, under the page: what came from the old model goes (app.js says why)
  const forget = () => { inspected = null; $("gpt-inspect").hidden = true; hideDeeper(); shadeText(); };
  watchRun($("gpt-run"), {what: "this text was generated", again: "click a character to read it with the new weights",
    changed: () => { forget(); shapes(); },
    gone: () => { forget(); $("gpt-text").replaceChildren(); $("gpt-speed").textContent = ""; $("gpt-shapes").replaceChildren(); }});
  $("gpt-shapes-box").addEventListener("toggle", () => { if ($("gpt-shapes-box").open) shapes(); });
  for (const id of ["gpt-slide-t", "gpt-slide-k"]) $(id).addEventListener("input", slide);
  $("gpt-layer").addEventListener("change", () => {
    const i = inspected.attention.findIndex((r) => r.layer === Number($("gpt-layer").value));
    if (i >= 0) openHead(i);
  });
  try {
    const has = await fillRuns("gpt", $("gpt-run"), $("gpt-empty"), $("gpt-summary"));
    $("gpt-generate").disabled = !has;
    if (has) shapes();
  } catch (e) { showError($("gpt-error"), e); }
}, refresh);
