// nn2gpt studio: the requests every view makes, its run lists, and runs that change under the page. app.js
// re-exports what the views use; this module imports nothing, so that app.js can import it without a cycle.

const el = (tag, text, value = null) => {
  const node = document.createElement(tag);
  node.textContent = text;
  if (value !== null) node.value = value;
  return node;
};
let current = null; // the view shown (app.js's router says which)
export function showing(view) { current = view; }

// `run`: the run the request named; an answer from another model than the one its view shows, or a run
// that is gone, is told to the views that show it (see watchRun) and thrown as an error already said.
async function answer(response, run = null, view = current) {
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = body.error || `the studio answered ${response.status}`;
    if (run && GONE.test(message) && watched.some((w) => w.select.value === run)) {
      runGone(run, /holds no trained model/.test(message));
      throw new RunChanged(message);
    }
    throw new Error(message);
  }
  stamped(body, false, view);
  return body;
}

export async function getJSON(path) {
  const view = current; // the view that asked: its answer is checked against the run that view shows
  return answer(await fetch(path), new URL(path, location.href).searchParams.get("run"), view);
}

export async function postJSON(path, body) {
  const view = current;
  return answer(await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                   body: JSON.stringify(body)}), body?.run ?? null, view);
}

// Server-Sent Events over a POST (EventSource can only GET): call onEvent with each data object.
export async function postStream(path, body, onEvent, signal) {
  const view = current;
  const response = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                      body: JSON.stringify(body), signal});
  if (!response.ok) await answer(response, body?.run ?? null, view);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const chunk = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = chunk.split("\n").find((line) => line.startsWith("data: "));
      if (!data) continue;
      const event = JSON.parse(data.slice(6));
      if (event.type === "model") stamped(event, true, view); // a new text: by the model named, whatever came before
      else onEvent(event);
    }
  }
}

// The runs of one chapter in a <select>; with none, say which command trains one.
let runsCache = null;
export async function loadRuns(force = false) {
  if (!runsCache || force) runsCache = await getJSON("api/runs");
  document.getElementById("runs-dir").textContent = runsCache.runs_dir + "/";
  return runsCache;
}

export async function fillRuns(chapter, select, emptyNode, summaryNode, {force = false, choose = null} = {}) {
  const {runs, train_one} = await loadRuns(force);
  const list = runs[chapter], w = watched.find((v) => v.select === select);
  if (w) { w.fill = [chapter, emptyNode, summaryNode]; if (choose !== null) picked(w); }
  const keep = choose ?? select.value, waiting = !!w?.lost && keep === ""; // a run was deleted: none until one is picked
  select.replaceChildren(...(waiting ? [el("option", "(pick a run)", "")] : []),
                         ...list.map((r) => el("option", r.name, r.name)));
  if (waiting || list.some((r) => r.name === keep)) select.value = keep;
  const gone = keep && select.value !== keep; // the chosen run was deleted
  emptyNode.hidden = list.length > 0;
  if (!list.length) {
    emptyNode.replaceChildren("No run of this chapter yet in the studio's folder. Train one: ",
                              el("code", train_one[chapter]), " (then reload this page).");
  }
  const show = () => { if (summaryNode) summaryNode.textContent = list.find((r) => r.name === select.value)?.summary ?? ""; };
  select.onchange = () => { if (w && select.value) picked(w); show(); select.dispatchEvent(new CustomEvent("run")); };
  if (gone && w) { select.value = ""; lose(w, keep); } // said, and its views cleared: never a silent switch
  else if (gone) select.dispatchEvent(new CustomEvent("run"));
  else if (w) compare(w, list);
  show();
  return list.length > 0;
}

// ---- runs that change under the page ----
// Every answer a model computes carries {run, identity}: the run's name and its model's identity (the latest
// checkpoint's name, time and size), as the run list does. Each view watches its run <select> (watchRun) and
// keeps the identity its numbers came from. When an answer or the run list says the run is another model now
// (trained again into its folder, its checkpoint rewritten, still training), the view's `changed` clears or
// redraws what came from the old model; when the run is gone, `gone` clears it, the list says "(pick a run)"
// instead of switching silently to another, and nothing more is asked of that run. One line under the run's
// name says what happened. An answer from another model than the one its view shows is thrown as an error
// already said (RunChanged, which showError keeps quiet), so that old and new numbers never mix on a view.
export class RunChanged extends Error { constructor(message) { super(message); this.said = true; } }
const GONE = /there is no run|holds no trained model/;
const watched = [];
const RECHECK_MS = 4000; // the shown view's runs are read again this often (a stat per file on the server)

// what: what the view showed ("this was drawn"); again: what it does now (a string, or a function that says it).
export function watchRun(select, {what = "this was shown", again = "shown again with the new weights",
                                  changed = () => {}, gone = () => {}} = {}) {
  const note = el("p", "");
  note.className = "runnote";
  note.setAttribute("role", "status");
  note.hidden = true;
  (select.closest(".runbar") ?? select).after(note);
  const w = {select, note, what, again, changed, gone, identity: null, old: new Set(), lost: null, training: false,
             fill: null, view: select.closest(".view")?.id.replace(/^view-/, "")};
  watched.push(w);
  return w;
}

function say(w, text = null) { w.note.textContent = text ?? ""; w.note.hidden = !text; }

function picked(w) { // a run picked (or chosen by the page): nothing is known of its model yet
  w.lost = null; w.identity = null; w.old.clear(); say(w);
  w.select.querySelector('option[value=""]')?.remove();
}

// A model's answer to `view`: is it the model that every view showing its run drew with? An answer for a run
// its view no longer shows (another picked, or the run deleted, while it was computed) is dropped. (fresh: a
// stream that redraws its view from scratch, such as a generation, makes its model the view's without a word.)
function stamped(body, fresh = false, view = current) {
  if (typeof body?.identity !== "string" || !body.identity || typeof body.run !== "string") return;
  const asked = watched.filter((w) => w.view === view);
  if (asked.length && !asked.some((w) => w.select.value === body.run)) {
    throw new RunChanged(`the answer is for the run '${body.run}', which this view no longer shows`);
  }
  let stale = false;
  for (const w of watched.filter((v) => v.select.value === body.run && v.identity !== body.identity)) {
    const mine = w.view === view;
    if (w.old.has(body.identity)) stale ||= mine; // computed just before the run changed: dropped
    else if (w.identity === null) { if (mine) w.identity = body.identity; } // the view's first answer from the run
    else { runChanged(w, body.identity, fresh && mine); stale ||= mine && !fresh; }
  }
  if (stale) throw new RunChanged(`the run '${body.run}' changed while this was computed`);
}

function runChanged(w, identity, quiet = false) {
  if (w.identity) w.old.add(w.identity);
  w.identity = identity;
  const how = w.training ? "is still training: it changed" : "was trained again";
  const again = typeof w.again === "function" ? w.again() : w.again; // asked before the views are cleared
  say(w, quiet ? null : `the run '${w.select.value}' ${how} since ${w.what} — ${again}`);
  w.changed(w.select.value);
}

// The run is gone (deleted, or emptied): every view showing it clears what came from it and says so.
function runGone(run, empty = false) {
  runsCache = null; // the next list is read afresh
  for (const w of watched.filter((v) => v.select.value === run)) lose(w, run, empty);
}

function lose(w, run, empty = false) {
  w.lost = run; w.identity = null; w.old.clear();
  w.select.querySelector('option[value=""]')?.remove();
  w.select.prepend(el("option", "(pick a run)", ""));
  for (const o of [...w.select.options]) if (o.value === run) o.remove();
  w.select.value = "";
  if (w.fill?.[2]) w.fill[2].textContent = "";
  say(w, `the run '${run}' ${empty ? "holds no trained model now" : "was deleted"} — pick another run`);
  w.gone(run);
}

// The list's word on the run the view shows: gone, or another model than the view drew with.
function compare(w, list) {
  const entry = list.find((r) => r.name === w.select.value);
  if (!w.select.value) return;
  if (!entry) { lose(w, w.select.value); return; }
  w.training = !!entry.training;
  if (entry.identity && w.identity && entry.identity !== w.identity) runChanged(w, entry.identity);
}

setInterval(async () => {
  const shown = watched.filter((w) => w.view === current && w.fill);
  if (document.visibilityState !== "visible" || !shown.length) return;
  let runs;
  try { ({runs} = await loadRuns(true)); } catch { return; }
  for (const w of shown) {
    const names = runs[w.fill[0]].map((r) => r.name).join("\n");
    const listed = [...w.select.options].map((o) => o.value).filter(Boolean).join("\n");
    if (names !== listed) fillRuns(w.fill[0], w.select, w.fill[1], w.fill[2]).catch(() => {}); // a run added or gone
    else compare(w, runs[w.fill[0]]);
  }
}, RECHECK_MS);
