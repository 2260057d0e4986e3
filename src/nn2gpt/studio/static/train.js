// Train live: start `nn2gpt gpt train` from the page and follow its metrics.jsonl; any number of tabs may watch.
import {$, curve, el, loadRuns, postJSON, register, showError, getJSON} from "./app.js";

let source = null;
const rows = {train: [], val: []};

function status(job) {
  if (!job) { $("train-status").textContent = "No run in progress."; return; }
  const running = job.status === "running";
  $("train-status").textContent = `${job.name}: ${job.status}` + (running ? ` (${job.seconds.toFixed(0)} s)` : "") +
    ` — ${job.command}`;
  $("train-start").disabled = running;
  $("train-stop").disabled = !running;
}

function draw() {
  curve($("train-curve"), [{points: rows.train, cls: "train"}, {points: rows.val, cls: "val", dots: true}],
        {xLabel: "step", yLabel: "loss, nats per character"});
}

function watch(job) {
  if (source) source.close();
  rows.train = []; rows.val = [];
  $("train-log").textContent = ""; $("train-sample").textContent = "";
  status(job);
  if (!job || job.chapter !== "gpt") return;
  let tokens = null;
  source = new EventSource("api/train/events?after=0");
  source.onmessage = (m) => {
    const e = JSON.parse(m.data);
    if (e.type === "start") status(e);
    if (e.type === "log") $("train-log").textContent = ($("train-log").textContent + e.line + "\n").split("\n").slice(-12).join("\n");
    if (e.type === "metric") {
      if (e.train_loss !== undefined) rows.train.push([e.step, e.train_loss]);
      if (e.val_loss !== undefined) rows.val.push([e.step, e.val_loss]);
      if (e.tokens_per_s) tokens = e.tokens_per_s;
      draw();
      const last = rows.val.at(-1);
      $("train-status").textContent = `${job.name}: step ${e.step}` + (last ? `, val ${last[1].toFixed(3)}` : "") +
        (tokens ? `, ${tokens.toLocaleString()} tokens/s` : "");
    }
    if (e.type === "sample") $("train-sample").textContent = `step ${e.step}:\n${e.text}`;
    if (e.type === "end") { source.close(); source = null; status(e); loadRuns(true); }
  };
}

async function startRun() {
  showError($("train-error"), null);
  const fields = {layers: Number($("train-layers").value), width: Number($("train-width").value),
                  pos: $("train-pos").value, seconds: Number($("train-seconds").value)};
  try {
    const job = await postJSON("api/train/start", {chapter: "gpt", name: $("train-name").value.trim(), fields});
    watch(job);
  } catch (e) { showError($("train-error"), e); }
}

async function stopRun() {
  $("train-stop").disabled = true; // one Stop: the run is saving
  try { status(await postJSON("api/train/stop", {})); $("train-stop").disabled = true; }
  catch (e) { showError($("train-error"), e); }
}

register("train", async () => {
  $("train-start").addEventListener("click", startRun);
  $("train-stop").addEventListener("click", stopRun);
  draw();
  const {runs} = await loadRuns();
  const names = new Set(runs.gpt.map((r) => r.name));
  let i = 1;
  while (names.has(`gpt-live-${i}`)) i++;
  if ($("train-name").value === "gpt-live") $("train-name").value = `gpt-live-${i}`; // unless one was typed
  const {job} = await getJSON("api/train");
  if (job) watch(job);
});
