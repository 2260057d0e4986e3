// Chapter 2: stream a GPT's text; click a character to see its next-token distribution (re-shaped live by
// temperature and top-k), every head's attention, and what changes when heads are turned off.
import {$, bars, el, fillRuns, heatmap, legend, postJSON, postStream, register, shade, showError} from "./app.js";

let tokens = [];        // the text as the model reads it, one piece per token
let inspected = null;   // the last answer of api/gpt/inspect
let head = 0;           // which layer·head row shades the text (an index into inspected.attention)
let controller = null;  // aborts a generation in progress
let asked = null;       // the newest slider request (older answers are dropped)
const off = new Set();  // heads turned off, as "layer,head"
const MANY_ROWS = 32;   // above this many heads, the heatmap shows one layer at a time

const value = (id) => { const v = $(id).value.trim(); return v === "" ? null : Number(v); };
const visible = (s) => s.replace(/\n/g, "⏎").replace(/ /g, "␣");
const prob = (p) => (p >= 0.001 || p === 0 ? p.toFixed(3) : p.toExponential(1)); // 50k tokens: 2.0e-5, not 0.000
const offList = () => [...off].map((k) => k.split(",").map(Number));

function renderTokens() {
  const box = $("gpt-text");
  box.replaceChildren(...tokens.map((t, i) => el("span", {"data-i": i, text: t, tabindex: "0", role: "button",
    onclick: () => inspect(i),
    onkeydown: (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); inspect(i); }
      const next = e.key === "ArrowRight" ? e.target.nextElementSibling : e.key === "ArrowLeft" ? e.target.previousElementSibling : null;
      if (next) { e.preventDefault(); next.focus(); }
    }})));
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
  const items = answer.next.map((n) => ({id: n.id, label: visible(n.token), value: n.p}));
  const f = answer.following;
  let mark = f ? items.findIndex((it) => it.id === f.id) : -1;
  if (f && mark < 0) { items.push({id: f.id, label: visible(f.token), value: f.p}); mark = items.length - 1; }
  for (const it of items) {
    it.text = prob(it.value) + (was && was.has(it.id) ? ` · was ${prob(was.get(it.id))}` : "");
  }
  bars($("gpt-next"), items, {horizontal: true, highlight: 0, mark: mark >= 0 ? mark : null, max: Math.max(1e-9, ...items.map((it) => it.value))});
  const s = answer.settings;
  $("gpt-next-title").textContent = `Next token after “${visible(tokens[answer.position] ?? "")}” (position ${answer.position})`;
  $("gpt-following").textContent = (f ? `Came next in the text: “${visible(f.token)}”, p = ${f.p.toFixed(4)}, ` +
    `rank ${f.rank.toLocaleString("en")}. ` : "The end of the text: nothing came next yet. ") +
    `Temperature ${s.temperature}, top-k ${s.top_k ?? "all"}` + (s.top_p ? `, top-p ${s.top_p}` : "") +
    (answer.off?.length || off.size ? `; ${off.size} head${off.size === 1 ? "" : "s"} off.` : ".");
}

async function baseline(position, settings) {
  if (!off.size) return null; // every head on: the bars are the baseline
  const b = await postJSON("api/gpt/next", {run: $("gpt-run").value, text: tokens.join(""), position, ...settings});
  return new Map(b.next.concat(b.following ? [b.following] : []).map((n) => [n.id, n.p]));
}

async function slide() {
  showSliders();
  if (!inspected) return;
  const settings = sliderSettings(), position = inspected.position, ask = {settings};
  asked = ask;
  try {
    const body = {run: $("gpt-run").value, text: tokens.join(""), position, ...settings, heads_off: offList()};
    const [answer, was] = await Promise.all([postJSON("api/gpt/next", body), baseline(position, settings)]);
    if (asked === ask) drawNext({...answer, off: offList()}, was);
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
  drawAttention(true);
  shadeText();
  drawHeads();
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
      const tick = el("input", {type: "checkbox", "aria-label": `turn off layer ${l + 1} head ${r.head + 1}`,
        onchange: (e) => { if (e.target.checked) off.add(key); else off.delete(key); inspect(inspected.position); }});
      tick.checked = off.has(key);
      return el("div", {class: "thumb" + (i === head ? " picked" : "") + (off.has(key) ? " off" : "")},
        el("button", {class: "plain", title: `open layer ${l + 1} head ${r.head + 1}`, onclick: () => openHead(i)},
           thumbnail(r.recent), el("span", {text: `H${r.head + 1}`})),
        el("label", {class: "small"}, tick, "off"));
    });
    rows.push(el("div", {class: "thumb-row"}, el("span", {class: "thumb-layer", text: `L${l + 1}`}), ...cells));
  }
  box.replaceChildren(...rows, legend("each thumbnail's largest weight"));
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
    [inspected, was] = await Promise.all([
      postJSON("api/gpt/inspect", {run: $("gpt-run").value, text, position, ...settings, heads_off: offList()}),
      baseline(position, settings)]);
  } catch (e) { showError($("gpt-error"), e); return; }
  showError($("gpt-error"), null);
  tokens = inspected.tokens;
  if ($("gpt-text").children.length !== tokens.length) renderTokens();
  head = Math.min(head, Math.max(0, inspected.attention.length - 1));
  $("gpt-inspect").hidden = false;
  drawNext(inspected, was);
  drawAttention();
  shadeText();
  drawHeads();
}

async function generate() {
  if (controller) { controller.abort(); return; }
  const box = $("gpt-text");
  const body = {run: $("gpt-run").value, prompt: $("gpt-prompt").value, temperature: value("gpt-temperature"),
                top_k: value("gpt-top-k"), top_p: value("gpt-top-p"), seed: value("gpt-seed"),
                max_new_tokens: value("gpt-max")};
  showError($("gpt-error"), null);
  $("gpt-inspect").hidden = true;
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
        renderTokens();
        $("gpt-speed").textContent = `${e.new_tokens} tokens, ${e.tokens_per_s ?? "?"} tokens/s; first token after ` +
          `${first === null ? "?" : first.toFixed(0)} ms. Click any character (or Tab to it and press Enter).`;
      }
    }, controller.signal);
  } catch (e) {
    if (e.name !== "AbortError") showError($("gpt-error"), e);
    if (text) { // stopped early: ask how the model splits what is there, so each span is one token
      try { tokens = (await postJSON("api/gpt/tokens", {run: body.run, text})).tokens; renderTokens(); }
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
  $("gpt-run").addEventListener("run", () => {
    shapes(); inspected = null; off.clear(); $("gpt-inspect").hidden = true;
  });
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
