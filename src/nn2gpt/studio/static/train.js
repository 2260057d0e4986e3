// Train live: start `nn2gpt gpt train` from the page and follow it; any number of tabs may watch, and a tab
// finds a run started elsewhere (it asks every few seconds while this view is shown).
import {$, curve, followLog, getJSON, loadRuns, postJSON, register, showError} from "./app.js";

let source = null;
let job = null;           // the job this tab watches (as /api/train last described it)
let heard = 0;            // performance.now() when `job.seconds` was read: the clock ticks on from there
let last = null;          // the last metric: step, val loss, tokens/s
const train = new Map();  // step -> training loss (from the progress lines and metrics.jsonl)
const val = [];

function status() {
  if (!job) { $("train-status").textContent = "No run in progress."; return; }
  const running = job.status === "running";
  const seconds = job.seconds + (running ? (performance.now() - heard) / 1000 : 0);
  let text;
  if (running && job.stopping) {
    text = `${job.name}: stopping (${seconds.toFixed(0)} s) — ` + (last ? "finishing its step and saving a checkpoint"
      : "Stop is held until its first step, so that it saves a checkpoint");
  } else if (running) {
    text = `${job.name}: ` + (last ? `step ${last.step}` + (last.val !== undefined ? `, val ${last.val.toFixed(3)}` : "") +
      (last.tokens ? `, ${last.tokens.toLocaleString("en")} tokens/s` : "") : "starting: loading the data, building the model") +
      ` (${seconds.toFixed(0)} s)`;
  } else {
    text = `${job.name}: ${job.status}` + (job.saved === false ? " — nothing was saved (no checkpoint was written)" :
      job.saved ? ` — saved in ${job.name}` : "");
  }
  $("train-status").textContent = `${text} · ${job.command}`;
  $("train-start").disabled = running;
  $("train-stop").disabled = !running || job.stopping;
}

function draw() {
  const points = [...train.entries()].sort((a, b) => a[0] - b[0]);
  curve($("train-curve"), [{points, cls: "train"}, {points: val, cls: "val", dots: true}],
        {xLabel: "step", yLabel: "loss, nats per character"});
}

function watch(next) {
  if (source) { source.close(); source = null; }
  job = next; heard = performance.now(); last = null;
  train.clear(); val.length = 0;
  $("train-log").textContent = ""; $("train-sample").textContent = "";
  draw(); // an empty chart at once: never the previous run's curve under this run's name
  status();
  if (!job || job.chapter !== "gpt") return;
  source = new EventSource(`api/train/events?job=${job.id}&after=0`);
  source.onmessage = (m) => {
    const e = JSON.parse(m.data);
    if (e.type === "gone") { source.close(); source = null; check(); return; }
    if (e.type === "log") followLog($("train-log"), e.line); // its last line in view
    if (e.type === "metric") {
      if (e.train_loss !== undefined) train.set(e.step, e.train_loss);
      if (e.val_loss !== undefined) val.push([e.step, e.val_loss]);
      last = {step: Math.max(e.step, last?.step ?? 0), val: val.at(-1)?.[1], tokens: e.tokens_per_s || last?.tokens};
      draw();
      status();
    }
    if (e.type === "sample") $("train-sample").textContent = `step ${e.step}:\n${e.text}`;
    if (e.type === "end") { source.close(); source = null; ended(e); }
  };
}

async function ended(e) {
  job = {...job, ...e}; heard = performance.now();
  status();
  const {runs} = await loadRuns(true);
  if ($("train-name").value.trim() === e.name) $("train-name").value = freeName(runs.gpt); // the next Start works
}

function freeName(gptRuns) {
  const names = new Set(gptRuns.map((r) => r.name));
  let i = 1;
  while (names.has(`gpt-live-${i}`)) i++;
  return `gpt-live-${i}`;
}

// Which job runs now; a new one (started from another tab, or after this tab's 409) is watched from its start.
async function check() {
  try {
    const {job: now} = await getJSON("api/train");
    if (now && (!job || now.id !== job.id)) watch(now);
    else if (now && job && now.status !== "running" && job.status === "running" && !source) ended(now);
    else if (now) { job = {...job, seconds: now.seconds, stopping: now.stopping}; heard = performance.now(); }
  } catch (e) { showError($("train-error"), e); }
}

async function startRun() {
  showError($("train-error"), null);
  const fields = {layers: Number($("train-layers").value), width: Number($("train-width").value),
                  pos: $("train-pos").value, seconds: Number($("train-seconds").value)};
  try {
    watch(await postJSON("api/train/start", {chapter: "gpt", name: $("train-name").value.trim(), fields}));
  } catch (e) { showError($("train-error"), e); check(); } // busy: show the run that is going on
}

async function stopRun() {
  $("train-stop").disabled = true; // one Stop: the run is saving
  try { const now = await postJSON("api/train/stop", {}); job = {...job, ...now}; heard = performance.now(); status(); }
  catch (e) { showError($("train-error"), e); }
}

register("train", async () => {
  $("train-start").addEventListener("click", startRun);
  $("train-stop").addEventListener("click", stopRun);
  draw();
  const {runs} = await loadRuns();
  if ($("train-name").value === "gpt-live") $("train-name").value = freeName(runs.gpt); // unless one was typed
  await check();
  setInterval(() => {
    if ($("view-train").hidden) return;
    if (job?.status === "running") status(); // the clock ticks every second
  }, 1000);
  setInterval(() => { if (!$("view-train").hidden && document.visibilityState === "visible") check(); }, 3000);
});
