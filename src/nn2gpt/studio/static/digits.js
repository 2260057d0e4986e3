// Chapter 1: draw a digit; see the 28x28 input, the hidden sigmoids and the 10 outputs as you draw.
import {$, bars, curve, el, fillRuns, followLog, getJSON, loadRuns, postJSON, register, shade, showError, watchRun}
  from "./app.js";

const SIDE = 140; // the drawing is sent at 140x140 grey levels: enough detail for a 20x20 digit
let inFlight = false, again = false, drawn = false;
let hiddenNow = [];   // the hidden activations of the latest drawing
let neuronShown = null;
let testShown = null; // the misclassified test digit shown in the network, while nothing is drawn over it

function paintPixels(canvas, values, side = 28) {
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(side, side);
  values.forEach((v, i) => { const g = Math.round(255 * v); img.data.set([g, g, g, 255], 4 * i); });
  const small = el("canvas", {width: side, height: side});
  small.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
}

function greyLevels(canvas) {
  const small = el("canvas", {width: SIDE, height: SIDE}), ctx = small.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, SIDE, SIDE);
  ctx.drawImage(canvas, 0, 0, SIDE, SIDE);
  const rgba = ctx.getImageData(0, 0, SIDE, SIDE).data, out = new Array(SIDE * SIDE);
  for (let i = 0; i < out.length; i++) out[i] = rgba[4 * i];
  return out;
}

function showPrediction(p) {
  paintPixels($("digits-input"), p.input);
  const hidden = p.hidden[0] || [], cols = Math.ceil(Math.sqrt(hidden.length));
  const box = $("digits-hidden");
  box.style.gridTemplateColumns = `repeat(${cols}, 12px)`;
  hiddenNow = hidden;
  box.replaceChildren(...hidden.map((a, i) => el("div", {style: `background:${shade(a)}`, title: `neuron ${i}: ${a.toFixed(3)}`,
    tabindex: "0", role: "button", "aria-label": `hidden neuron ${i}`, class: i === neuronShown ? "picked" : "",
    onclick: () => showNeuron(i), onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); showNeuron(i); } }})));
  if (neuronShown !== null) sayNeuron(neuronShown);
  $("digits-hidden-caption").textContent = `hidden layer: ${hidden.length} sigmoids σ(w·x + b)` +
    (p.hidden.length > 1 ? ` (first of ${p.hidden.length})` : "");
  bars($("digits-output"), p.probabilities.map((v, d) => ({label: String(d), value: v, text: v >= 0.01 ? v.toFixed(2) : ""})),
       {top: p.digit}); // the verdict's digit, even where two outputs round alike
  $("digits-output-caption").textContent = p.output === "softmax" ? "output: softmax probabilities (10,)"
    : "output: 10 sigmoid activations, scaled to sum to 1";
  $("digits-verdict").replaceChildren("The network says ", el("b", {text: String(p.digit)}),
    ` (${(100 * p.probabilities[p.digit]).toFixed(1)}%)`);
}

// Weights as a 28x28 picture: blue = positive (ink there turns the neuron on), red = negative, white = 0.
function paintWeights(canvas, weights, largest) {
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(28, 28);
  weights.forEach((w, i) => {
    const t = Math.min(1, Math.abs(w) / Math.max(largest, 1e-9));
    const [r, g, b] = w >= 0 ? [47, 109, 181] : [190, 75, 55];
    img.data.set([255 - t * (255 - r), 255 - t * (255 - g), 255 - t * (255 - b), 255].map(Math.round), 4 * i);
  });
  const small = el("canvas", {width: 28, height: 28});
  small.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
}

function sayNeuron(i) {
  const a = hiddenNow[i];
  $("digits-neuron-value").textContent = `neuron ${i}` + (a === undefined ? "" : `: ${a.toFixed(3)} for this drawing`);
}

async function showNeuron(i) {
  neuronShown = i;
  sayNeuron(i);
  for (const [j, d] of [...$("digits-hidden").children].entries()) d.classList.toggle("picked", j === i);
  try {
    const n = await getJSON(`api/digits/neuron?run=${encodeURIComponent($("digits-run").value)}&neuron=${i}`);
    paintWeights($("digits-neuron-weights"), n.weights, n.largest);
    $("digits-neuron").hidden = false;
    $("digits-neuron-caption").textContent = `neuron ${i}: its 784 incoming weights (28×28), bias ${n.bias.toFixed(2)}`;
  } catch (e) { if (!e.said) $("digits-neuron-value").textContent = e.message; }
}

async function predict() {
  if (!drawn || !$("digits-run").value) return;
  if (inFlight) { again = true; return; } // one request at a time; the latest drawing wins
  inFlight = true;
  $("digits-verdict").dataset.state = "busy";
  try {
    const p = await postJSON("api/digits/predict", {run: $("digits-run").value, width: SIDE, height: SIDE,
                                                     pixels: greyLevels($("digits-canvas"))});
    showPrediction(p);
  } catch (e) {
    if (!e.said) $("digits-verdict").textContent = e.message; // said: the line under the network's name
  } finally {
    inFlight = false;
    if (again) { again = false; predict(); } else $("digits-verdict").dataset.state = "done";
  }
}

function setUpCanvas() {
  const canvas = $("digits-canvas"), ctx = canvas.getContext("2d");
  const clear = () => {
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height); drawn = false; testShown = null;
    clearViews("Draw a digit in the white square.");
  };
  clear();
  let last = null;
  const at = (e) => { const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height]; };
  canvas.addEventListener("pointerdown", (e) => { canvas.setPointerCapture(e.pointerId); last = at(e); testShown = null; });
  canvas.addEventListener("pointermove", (e) => {
    if (!last) return;
    const p = at(e);
    ctx.strokeStyle = "#111"; ctx.lineWidth = 20; ctx.lineCap = "round"; ctx.lineJoin = "round";
    ctx.beginPath(); ctx.moveTo(...last); ctx.lineTo(...p); ctx.stroke();
    last = p; drawn = true; predict();
  });
  const end = () => { if (last) { last = null; predict(); } };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  $("digits-clear").addEventListener("click", clear);
}

async function gallery() {
  const box = $("digits-gallery");
  if (!$("digits-run").value) { box.replaceChildren(); return; }
  box.replaceChildren(el("span", {class: "note", text: "scoring the 10,000 test digits…"}));
  try {
    const g = await getJSON(`api/digits/misclassified?run=${encodeURIComponent($("digits-run").value)}`);
    box.replaceChildren(el("p", {class: "note", text: `${g.wrong.toLocaleString("en")} of ${g.total.toLocaleString("en")} wrong (${g.accuracy}% right); the first ${g.items.length}:`}));
    for (const it of g.items) {
      const c = el("canvas", {width: 28, height: 28});
      paintPixels(c, it.pixels.map((v) => v / 255));
      box.append(el("figure", {}, el("button", {class: "plain", type: "button", "data-index": it.index,
        "aria-label": `test digit ${it.index}: a ${it.label}, read as ${it.predicted}; send it through the network`,
        onclick: () => showTest(it)}, c), el("figcaption", {text: `${it.label} → ${it.predicted}`})));
    }
  } catch (e) { if (!e.said) box.replaceChildren(el("p", {class: "error", text: e.message})); } // said: cleared already
}

// A misclassified test digit through the network, as MNIST holds it: drawn in the white square, then its 784
// inputs, hidden layer and outputs, its true label beside the network's answer. Drawing over it reads the drawing.
async function showTest(it) {
  testShown = it; drawn = false;
  const canvas = $("digits-canvas");
  paintPixels(canvas, it.pixels.map((v) => 1 - v / 255)); // ink dark on white, as a drawing is
  document.querySelector("#view-digits .pipeline").scrollIntoView({block: "nearest"});
  try {
    const p = await getJSON(`api/digits/test?run=${encodeURIComponent($("digits-run").value)}&index=${it.index}`);
    if (testShown !== it) return; // drawn over, or another one clicked, meanwhile
    showPrediction(p);
    $("digits-verdict").replaceChildren(`Test digit ${p.index}, a ${p.label}: the network says `, el("b", {text: String(p.digit)}),
      ` (${(100 * p.probabilities[p.digit]).toFixed(1)}%)` + (p.digit === p.label ? "" : `, and ${(100 * p.probabilities[p.label]).toFixed(1)}% for ${p.label}`));
  } catch (e) { if (!e.said) $("digits-verdict").textContent = e.message; }
}

// What came from a network, cleared: the 28x28 input, the hidden layer, the outputs, the neuron, the verdict.
function clearViews(verdict, {gallery = false} = {}) {
  const input = $("digits-input");
  input.getContext("2d").clearRect(0, 0, input.width, input.height);
  hiddenNow = []; neuronShown = null;
  $("digits-hidden").replaceChildren();
  $("digits-hidden-caption").textContent = "hidden layer";
  $("digits-neuron-value").textContent = "tap or click a neuron";
  $("digits-neuron").hidden = true;
  $("digits-output").replaceChildren();
  $("digits-output-caption").textContent = "output: 10 probabilities";
  $("digits-verdict").textContent = verdict;
  if (gallery) $("digits-gallery").replaceChildren();
}

// The network trained again (or rewritten) since the page drew it: everything it drew, drawn again.
function redraw() {
  const neuron = neuronShown;
  if (testShown) showTest(testShown);
  else if (drawn) predict();
  else clearViews("Draw a digit in the white square.");
  if (neuron !== null && (testShown || drawn)) showNeuron(neuron);
  gallery();
}

async function trainOne() {
  const {runs} = await loadRuns(true);
  const names = new Set(runs.digits.map((r) => r.name));
  let name = "digits", i = 2;
  while (names.has(name)) name = `digits-${i++}`;
  $("digits-training").hidden = false;
  const log = $("digits-log"), points = [];
  log.textContent = "";
  try {
    await postJSON("api/train/start", {chapter: "digits", name, fields: {epochs: 30}});
  } catch (e) { log.textContent = e.message; return; }
  $("digits-train").disabled = true;
  const source = new EventSource("api/train/events");
  source.onerror = () => { if (source.readyState === EventSource.CLOSED) $("digits-train").disabled = false; };
  source.onmessage = async (m) => {
    const e = JSON.parse(m.data);
    if (e.type === "log") followLog(log, e.line, 8); // its last line in view
    if (e.type === "metric") {
      points.push([e.epoch, e.accuracy]);
      curve($("digits-curve"), [{points, cls: "train"}, {points, cls: "val", dots: true}], {xLabel: "epoch", yLabel: "validation accuracy, %"});
    }
    if (e.type === "end") {
      source.close();
      $("digits-train").disabled = false;
      await start(name);
    }
  };
}

async function start(choose = null) {
  const has = await fillRuns("digits", $("digits-run"), $("digits-empty"), $("digits-summary"),
                             {force: choose !== null, choose});
  if (has) { predict(); gallery(); }
}

register("digits", () => {
  setUpCanvas();
  watchRun($("digits-run"), {what: "this page was drawn", again: "drawn again with the new weights", changed: redraw,
    gone: () => { testShown = null; clearViews("Pick a network to read your drawing.", {gallery: true}); }});
  $("digits-train").addEventListener("click", trainOne);
  $("digits-run").addEventListener("run", () => {
    neuronShown = null; $("digits-neuron").hidden = true;
    if (testShown) showTest(testShown); else predict();
    gallery();
  });
  start().catch((e) => showError($("digits-empty"), e));
}, () => fillRuns("digits", $("digits-run"), $("digits-empty"), $("digits-summary"), {force: true}));
