// Chapter 4: the dot-product toy (random q, k through each score function) and the lab's own report.
import {$, bars, fillRuns, getJSON, heatmap, postJSON, register, showError, watchRun} from "./app.js";

const SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256];
let seed = 0, pending = null;

async function toy() {
  const size = SIZES[Number($("toy-size").value)];
  $("toy-size-value").textContent = String(size);
  const ask = {score: $("toy-score").value, head_size: size, T: 8, seed};
  pending = ask;
  try {
    const t = await postJSON("api/lab/toy", ask);
    if (pending !== ask) return; // a newer position of the slider is on its way
    const labels = t.weights.map((_, i) => `q${i + 1}`), keys = t.weights.map((_, j) => `k${j + 1}`);
    heatmap($("toy-map"), t.weights, labels, keys, {big: true, max: 1});
    bars($("toy-entropy"), t.entropy.map((h, i) => ({label: `q${i + 1}`, value: h, text: `${h.toFixed(2)} nats`})),
         {horizontal: true, max: t.uniform});
    alignEntropy();
    $("toy-summary").textContent = `mean entropy ${t.mean_entropy.toFixed(2)} of ${t.uniform.toFixed(2)} nats (uniform); ` +
      `the scores' spread (std) is ${t.score_spread.toFixed(2)}`;
  } catch (e) { $("toy-summary").textContent = e.message; }
}

// Beside the map, each entropy bar sits on its query's row: as tall as a row, starting where the first row does
// (under the column labels). Under the map (a phone's width) they keep their own spacing.
function alignEntropy() {
  const rows = [...document.querySelectorAll("#toy-map .hm-row")], box = $("toy-entropy");
  box.style.marginTop = box.style.gap = "";
  for (const bar of box.children) bar.style.height = "";
  if (!rows.length) return;
  const first = rows[0].getBoundingClientRect(), beside = box.getBoundingClientRect().left >= first.right - 1;
  if (!beside) return;
  box.style.gap = "0px";
  for (const bar of box.children) bar.style.height = `${first.height}px`;
  box.style.marginTop = `${first.top - box.getBoundingClientRect().top}px`;
}

async function report() {
  const box = $("lab-report");
  if (!$("lab-run").value) { box.replaceChildren(); return; }
  try {
    const r = await getJSON(`api/lab/report?run=${encodeURIComponent($("lab-run").value)}`);
    showError($("lab-error"), null);
    // REPORT.md as `nn2gpt lab` wrote it, rendered on the server with its HTML shown as text
    box.innerHTML = r.html;
    for (const table of box.querySelectorAll("table")) { // each in a box of its own that scrolls sideways
      const wrap = document.createElement("div");
      wrap.className = "scroll-x";
      table.before(wrap);
      wrap.append(table);
    }
  } catch (e) {
    if (e.said) return; // an answer for a run no longer shown, or from before it changed: what is shown stays
    box.replaceChildren();
    showError($("lab-error"), e);
  }
}

register("lab", async () => {
  // a lab run again into the shown folder: its new report is shown; the run deleted: the report goes, and one
  // line under the list says so (runs.js)
  watchRun($("lab-run"), {what: "its report was shown", again: "its new report is shown",
                           changed: () => report(), gone: () => $("lab-report").replaceChildren()});
  $("toy-size").addEventListener("input", toy);
  $("toy-score").addEventListener("change", toy);
  $("toy-new").addEventListener("click", () => { seed += 1; toy(); });
  window.addEventListener("resize", alignEntropy);
  $("lab-run").addEventListener("run", report);
  toy();
  try {
    if (await fillRuns("lab", $("lab-run"), $("lab-empty"), null)) report();
  } catch (e) { showError($("lab-error"), e); }
}, async () => { if (await fillRuns("lab", $("lab-run"), $("lab-empty"), null, {force: true})) report(); });
