// Chapter 3: translate a sentence; cross-attention (target x source) and encoder self-attention (source x source).
import {$, el, fillRuns, getJSON, heatmap, postJSON, register, shade, showError} from "./app.js";

let result = null;     // the last answer of api/translate
let picked = null;     // the source subword whose encoder row shades the source line
const off = new Set(); // heads turned off, as "layer,head" (layer numbered over every attention layer)
const offList = () => [...off].map((k) => k.split(",").map(Number));

// A tick box per attention layer and head; a ticked head's output is zeroed in the next Translate and Score.
function drawHeads() {
  const box = $("translate-heads");
  box.replaceChildren(...result.layers.map((name, l) => el("div", {class: "headrow"}, el("span", {text: name}),
    ...Array.from({length: result.n_head}, (_, h) => {
      const key = `${l},${h}`, tick = el("input", {type: "checkbox", "aria-label": `turn off ${name} head ${h + 1}`,
        onchange: (e) => { if (e.target.checked) off.add(key); else off.delete(key); }});
      tick.checked = off.has(key);
      return el("label", {class: "small"}, tick, `H${h + 1}`);
    }))));
}

// The mean over heads (head = "mean") or over layers and heads (layer = "mean") of [layer][head][rows][cols].
function pick(weights, layer, head) {
  const chosen = layer === "mean" ? weights : [weights[Number(layer)]];
  const mats = chosen.flatMap((heads) => (head === "mean" ? heads : [heads[Number(head)]]));
  return mats[0].map((row, i) => row.map((_, j) => mats.reduce((s, m) => s + m[i][j], 0) / mats.length));
}

function fillChoices(select, n, what, withMean) {
  const keep = select.value;
  select.replaceChildren(...(withMean ? [el("option", {value: "mean", text: `mean of ${what}s`})] : []),
    ...Array.from({length: n}, (_, i) => el("option", {value: String(i), text: `${what} ${i + 1}`})));
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
}

function sourceLine(node, weights) {
  node.replaceChildren(...result.source.map((s, j) => el("span", {text: s,
    style: weights ? `background:${shade(weights[j], Math.max(...weights))}` : ""})));
}

function drawCross() {
  const m = pick(result.cross, $("cross-layer").value, $("cross-head").value);
  sourceLine($("translate-source-line"), null);
  heatmap($("translate-cross"), m, result.target, result.source, {big: true, max: 1, fit: true,
    onHover: (i) => sourceLine($("translate-source-line"), i === null ? null : m[i])});
}

function drawEncoder() {
  const m = pick(result.encoder, $("enc-layer").value, $("enc-head").value);
  const line = $("translate-enc-tokens");
  line.replaceChildren(...result.source.map((s, j) => el("span", {text: s, class: j === picked ? "picked" : "",
    style: picked !== null ? `background:${shade(m[picked][j], Math.max(...m[picked]))}` : "",
    tabindex: "0", role: "button", onclick: () => { picked = j; drawEncoder(); },
    onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); picked = j; drawEncoder(); line.children[j]?.focus(); } }})));
  heatmap($("translate-enc"), m, result.source, result.source, {big: true, max: 1, picked, keep: true, fit: true,
    onRow: (i) => { picked = i; drawEncoder(); }});
}

function compareRow(label, scored) {
  return el("tr", {}, el("td", {text: label}), el("td", {text: scored.translation}),
    el("td", {text: scored.log_prob === null ? "–" : scored.log_prob.toFixed(2)}),
    el("td", {class: "note", text: scored.tokens.map((t) => `${t.token} ${t.log_prob.toFixed(1)}`).join("  ")}));
}

async function translate() {
  if ($("translate-go").disabled) return; // one at a time (Enter pressed twice)
  showError($("translate-error"), null);
  $("translate-go").disabled = true;
  try {
    result = await postJSON("api/translate", {run: $("translate-run").value, sentence: $("translate-sentence").value,
                                              beam: Number($("translate-beam").value), heads_off: offList()});
  } catch (e) { showError($("translate-error"), e); return; } finally { $("translate-go").disabled = false; }
  picked = result.source.findIndex((s) => /sab|schmeck/i.test(s));
  if (picked < 0) picked = null;
  $("translate-result").hidden = false;
  $("translate-output").textContent = result.translation;
  const without = result.off.length ? ` with ${result.off.length} head${result.off.length === 1 ? "" : "s"} off` : "";
  $("translate-logp").textContent = result.log_prob === null ? "" :
    `log P(this translation | sentence) = ${result.log_prob.toFixed(2)} nats over ${result.tokens.length} subwords${without}`;
  drawHeads();
  for (const [id, w, what] of [["cross-layer", result.cross, "layer"], ["enc-layer", result.encoder, "layer"]])
    fillChoices($(id), w.length, what, true);
  fillChoices($("cross-head"), result.cross[0].length, "head", true);
  fillChoices($("enc-head"), result.encoder[0].length, "head", true);
  drawCross();
  drawEncoder();
  const row = compareRow("the model's" + without, {translation: result.translation, log_prob: result.log_prob, tokens: result.tokens});
  if (result.off.length) $("translate-compare").append(row); // kept under the full model's, to compare
  else $("translate-compare").replaceChildren(row);
}

async function score() {
  showError($("translate-error"), null);
  try {
    const s = await postJSON("api/translate/score", {run: $("translate-run").value, sentence: $("translate-sentence").value,
                                                      translation: $("translate-mine").value, heads_off: offList()});
    $("translate-compare").append(compareRow("yours" + (off.size ? ` with ${off.size} head${off.size === 1 ? "" : "s"} off` : ""), s));
  } catch (e) { showError($("translate-error"), e); }
}

async function example() {
  try {
    const info = await getJSON(`api/translate/info?run=${encodeURIComponent($("translate-run").value)}`);
    if (info.example && !$("translate-sentence").dataset.typed) $("translate-sentence").value = info.example;
    $("translate-mine").placeholder = info.slip || "type your own translation";
  } catch (e) { showError($("translate-error"), e); }
}

register("translate", async () => {
  $("translate-go").addEventListener("click", translate);
  $("translate-sentence").addEventListener("keydown", (e) => { if (e.key === "Enter") translate(); });
  $("translate-sentence").addEventListener("input", (e) => { e.target.dataset.typed = "1"; });
  $("translate-score").addEventListener("click", score);
  for (const id of ["cross-layer", "cross-head"]) $(id).addEventListener("change", drawCross);
  for (const id of ["enc-layer", "enc-head"]) $(id).addEventListener("change", drawEncoder);
  $("translate-run").addEventListener("run", () => { off.clear(); example(); });
  try {
    const has = await fillRuns("translate", $("translate-run"), $("translate-empty"), $("translate-summary"));
    $("translate-go").disabled = !has;
    if (has) await example();
  } catch (e) { showError($("translate-error"), e); }
}, () => fillRuns("translate", $("translate-run"), $("translate-empty"), $("translate-summary"), {force: true})
      .then((has) => { $("translate-go").disabled = !has; }));
