// Chapter 2: stream a GPT's text; click a character to see its next-token distribution and attention.
import {$, bars, el, fillRuns, heatmap, postJSON, postStream, register, showError} from "./app.js";

let tokens = [];        // the text as the model reads it, one piece per token
let inspected = null;   // the last answer of api/gpt/inspect
let head = 0;           // which layer·head row shades the text
let controller = null;  // aborts a generation in progress

const value = (id) => { const v = $(id).value.trim(); return v === "" ? null : Number(v); };
const visible = (s) => s.replace(/\n/g, "⏎").replace(/ /g, "␣");

function renderTokens() {
  const box = $("gpt-text");
  box.replaceChildren(...tokens.map((t, i) => el("span", {"data-i": i, text: t, onclick: () => inspect(i)})));
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

function drawAttention() {
  const a = inspected.attention;
  if (!a.length) {
    $("gpt-attention").replaceChildren(el("p", {class: "note", text: "This model has no attention (a bigram model reads one token)."}));
    return;
  }
  const labels = a.map((r) => `L${r.layer + 1} H${r.head + 1}`);
  const cols = inspected.tokens.slice(inspected.start, inspected.position + 1).map(visible);
  heatmap($("gpt-attention"), a.map((r) => r.weights), labels, cols,
          {picked: head, perRow: true, fit: true, onRow: (i) => { head = i; drawAttention(); shadeText(); }});
}

async function inspect(position) {
  const text = tokens.join("");
  try {
    inspected = await postJSON("api/gpt/inspect", {run: $("gpt-run").value, text, position});
  } catch (e) { showError($("gpt-error"), e); return; }
  showError($("gpt-error"), null);
  tokens = inspected.tokens;
  if ($("gpt-text").children.length !== tokens.length) renderTokens();
  head = Math.min(head, Math.max(0, inspected.attention.length - 1));
  $("gpt-inspect").hidden = false;
  $("gpt-next-title").textContent = `Next token after “${visible(tokens[position])}” (position ${position})`;
  bars($("gpt-next"), inspected.next.map((n) => ({label: visible(n.token), value: n.p, text: n.p.toFixed(3)})), {horizontal: true});
  drawAttention();
  shadeText();
}

async function generate() {
  if (controller) { controller.abort(); return; }
  const box = $("gpt-text");
  const body = {run: $("gpt-run").value, prompt: $("gpt-prompt").value, temperature: value("gpt-temperature"),
                top_k: value("gpt-top-k"), top_p: value("gpt-top-p"), seed: value("gpt-seed"),
                max_new_tokens: value("gpt-max")};
  showError($("gpt-error"), null);
  $("gpt-inspect").hidden = true;
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
          `${first === null ? "?" : first.toFixed(0)} ms. Click any character.`;
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
  $("gpt-run").addEventListener("run", () => { shapes(); inspected = null; $("gpt-inspect").hidden = true; });
  $("gpt-shapes-box").addEventListener("toggle", () => { if ($("gpt-shapes-box").open) shapes(); });
  try {
    const has = await fillRuns("gpt", $("gpt-run"), $("gpt-empty"), $("gpt-summary"));
    $("gpt-generate").disabled = !has;
    if (has) shapes();
  } catch (e) { showError($("gpt-error"), e); }
}, refresh);
