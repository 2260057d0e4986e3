// Chapter 3: translate a sentence; cross-attention (target x source) and encoder self-attention (source x source).
import {$, el, fillRuns, getJSON, heatmap, postJSON, register, shade, showError, watchRun} from "./app.js";

let result = null;     // the last answer of api/translate
let picked = null;     // the source subword whose encoder row shades the source line
const off = new Set(); // heads turned off, as "layer,head" (layer numbered over every attention layer)
const offList = () => [...off].map((k) => k.split(",").map(Number)).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
let focusedHead = "0,0"; // the head tick Tab lands on (one Tab stop for the grid; the arrows move inside it)

// The heads turned off, named: "encoder 2 self head 3", "decoder 1 cross heads 1, 2; encoder 1 self head 2".
function headsNamed(pairs) {
  const by = new Map();
  for (const [l, h] of pairs) by.set(l, [...(by.get(l) ?? []), h + 1]);
  return [...by].map(([l, hs]) => `${result?.layers[l] ?? `layer ${l + 1}`} head${hs.length > 1 ? "s" : ""} ${hs.join(", ")}`)
    .join("; ");
}

// A tick box per attention layer and head; a ticked head's output is zeroed in the next Translate and Score.
// The grid is one Tab stop: the arrows move between heads, Space ticks, Enter translates, and the next Tab
// is the button that translates with the heads ticked.
function drawHeads() {
  const box = $("translate-heads"), refocus = box.contains(document.activeElement);
  if (!off.size && !box.children.length) focusedHead = "0,0";
  box.replaceChildren(...result.layers.map((name, l) => el("div", {class: "headrow"}, el("span", {text: name}),
    ...Array.from({length: result.n_head}, (_, h) => {
      const key = `${l},${h}`, tick = el("input", {type: "checkbox", "aria-label": `turn off ${name} head ${h + 1}`,
        "data-key": key, tabindex: key === focusedHead ? "0" : "-1",
        onchange: (e) => { if (e.target.checked) off.add(key); else off.delete(key); sayHeads(); },
        onfocus: () => { focusedHead = key; for (const t of box.querySelectorAll("input")) t.tabIndex = t === tick ? 0 : -1; }});
      tick.checked = off.has(key);
      return el("label", {class: "small"}, tick, `H${h + 1}`);
    }))));
  if (!box.querySelector('input[tabindex="0"]')) box.querySelector("input")?.setAttribute("tabindex", "0");
  if (refocus) box.querySelector(`input[data-key="${focusedHead}"]`)?.focus();
  sayHeads();
}

function moveInHeads(e) {
  const ticks = [...$("translate-heads").querySelectorAll("input")], i = ticks.indexOf(document.activeElement);
  if (i < 0 || !result) return;
  if (e.key === "Enter") { e.preventDefault(); translate(); return; }
  const to = {ArrowRight: i + 1, ArrowLeft: i - 1, ArrowDown: i + result.n_head, ArrowUp: i - result.n_head}[e.key];
  if (to === undefined) return;
  e.preventDefault();
  ticks[Math.max(0, Math.min(ticks.length - 1, to))].focus();
}

function sayHeads() {
  $("translate-heads-go").textContent = off.size ? `Translate with ${headsNamed(offList())} off` : "Translate with every head on";
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
    sayRow: picked, onRow: (i) => { picked = i; drawEncoder(); }}); // the clicked word's line, written under the map
}

// One row per try: the same try again (the same heads off, the same translation) replaces its row.
function compareRow(label, scored, key) {
  return el("tr", {"data-key": key}, el("td", {text: label}), el("td", {text: scored.translation}),
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
  const without = result.off.length ? ` with ${headsNamed(result.off)} off` : "";
  $("translate-logp").textContent = result.log_prob === null ? "" :
    `log P(this translation | sentence) = ${result.log_prob.toFixed(2)} nats over ${result.tokens.length} subwords${without}`;
  drawHeads();
  for (const [id, w, what] of [["cross-layer", result.cross, "layer"], ["enc-layer", result.encoder, "layer"]])
    fillChoices($(id), w.length, what, true);
  fillChoices($("cross-head"), result.cross[0].length, "head", true);
  fillChoices($("enc-head"), result.encoder[0].length, "head", true);
  drawCross();
  drawEncoder();
  const row = compareRow("the model's" + without, {translation: result.translation, log_prob: result.log_prob, tokens: result.tokens},
                         `model ${JSON.stringify(result.off)}`);
  const table = $("translate-compare"), asked = `${result.source.join(" ")} · beam ${$("translate-beam").value}`;
  if (!result.off.length || table.dataset.asked !== asked) table.replaceChildren(); // another sentence: a new table
  table.dataset.asked = asked;
  addRow(row); // a try with heads off is kept under the full model's, to compare
}

function addRow(row) {
  const table = $("translate-compare"), same = [...table.rows].find((r) => r.dataset.key === row.dataset.key);
  if (same) same.replaceWith(row); else table.append(row);
}

// What came from the model, cleared (its run was trained again, or is gone).
function clearResult() {
  result = null; picked = null; off.clear();
  $("translate-result").hidden = true;
  for (const id of ["translate-compare", "translate-heads", "translate-cross", "translate-enc"]) $(id).replaceChildren();
  $("translate-output").textContent = $("translate-logp").textContent = "";
}

async function score() {
  showError($("translate-error"), null);
  try {
    const s = await postJSON("api/translate/score", {run: $("translate-run").value, sentence: $("translate-sentence").value,
                                                      translation: $("translate-mine").value, heads_off: offList()});
    addRow(compareRow("yours" + (off.size ? ` with ${headsNamed(offList())} off` : ""), s,
                      `yours ${JSON.stringify(offList())} ${s.translation}`));
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
  $("translate-heads").addEventListener("keydown", moveInHeads);
  $("translate-heads-go").addEventListener("click", translate);
  watchRun($("translate-run"), {what: "this was translated",
    again: () => (result ? "translated again with the new weights" : "the next translation reads the new weights"),
    changed: () => { const had = !!result; clearResult(); if (had) setTimeout(translate); }, gone: clearResult});
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
