// Token embeddings: every row of a GPT's wte on its first two principal components (an SVG scatter);
// hover or tap a point for its token, click it (or find a token by its text) for its nearest tokens by cosine.
import {$, el, fillRuns, getJSON, postJSON, register, showError, watchRun} from "./app.js";

const ns = "http://www.w3.org/2000/svg";
let map = null;       // the last answer of api/embeddings/map
let picked = null;    // the last answer of api/embeddings/neighbours
let asked = 0;        // the newest request (older answers are dropped)

function svgEl(tag, attrs) {
  const n = document.createElementNS(ns, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  return n;
}

const run = () => $("emb-run").value;
const say = (p) => { $("emb-hover").textContent = `${p.token} · id ${p.id} · (${p.x}, ${p.y})`; };

// The points to draw: the map's subset, plus the picked token and its neighbours wherever they are.
function points() {
  const all = map.x.map((x, id) => ({id, x, y: map.y[id], token: map.tokens[id]}));
  if (picked) for (const p of [picked.token, ...picked.neighbours]) if (p.id >= map.shown) all.push(p);
  return all;
}

// Drawn at the SVG's own width in pixels (as the training curve is), so labels keep their size on a phone.
function draw() {
  const svg = $("emb-map");
  const W = Math.round(svg.clientWidth) || 600, H = Math.round(Math.min(W * 0.8, 560)), pad = 14;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.replaceChildren();
  if (!map) return;
  const all = points(), xs = all.map((p) => p.x), ys = all.map((p) => p.y);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1e-9), y0 = Math.min(...ys), y1 = Math.max(...ys, y0 + 1e-9);
  const X = (x) => pad + (W - 2 * pad) * (x - x0) / (x1 - x0), Y = (y) => H - pad - (H - 2 * pad) * (y - y0) / (y1 - y0);
  svg.append(svgEl("line", {x1: X(0), y1: pad, x2: X(0), y2: H - pad, class: "axis"}),
             svgEl("line", {x1: pad, y1: Y(0), x2: W - pad, y2: Y(0), class: "axis"}));
  const pc = (i) => `PC${i + 1} (${(100 * map.explained[i]).toFixed(1)}%)`;
  const axis1 = svgEl("text", {x: W - 4, y: H - 4, "text-anchor": "end", class: "axis"}), axis2 = svgEl("text", {x: 4, y: 12, class: "axis"});
  axis1.textContent = `${pc(0)} →`;
  axis2.textContent = `↑ ${pc(1)}`;
  svg.append(axis1, axis2);
  const near = new Set(picked ? picked.neighbours.map((p) => p.id) : []), chosen = picked?.token.id;
  const labelAll = map.V <= 128, small = all.length > 500;
  const layers = [all.filter((p) => !near.has(p.id) && p.id !== chosen), all.filter((p) => near.has(p.id)),
                  all.filter((p) => p.id === chosen)];
  layers.forEach((layer, depth) => {
    for (const p of layer) {
      const cls = ["dot", "near", "picked"][depth];
      svg.append(svgEl("circle", {cx: X(p.x).toFixed(1), cy: Y(p.y).toFixed(1), r: depth ? 3 + 2 * depth : small ? 2 : 3,
                                  class: cls, "data-id": p.id}));
      if (depth || labelAll) {
        const t = svgEl("text", {x: (X(p.x) + 4).toFixed(1), y: (Y(p.y) - 4).toFixed(1), class: cls});
        t.textContent = p.token;
        svg.append(t);
      }
    }
  });
}

function listNeighbours() {
  const box = $("emb-neighbours");
  if (!picked) { box.replaceChildren(); return; }
  $("emb-title").textContent = `Nearest to ${picked.token.token} (id ${picked.token.id}) by cosine`;
  box.replaceChildren(...picked.neighbours.map((p) => el("button", {class: "row plain", "data-id": p.id,
    title: `open ${p.token}`, onclick: () => pick({id: p.id})},
    el("code", {text: p.token}), el("i", {style: `width:${(100 * Math.max(0, p.cos)).toFixed(1)}%`}),
    el("span", {text: `${p.cos.toFixed(3)} · id ${p.id}`}))));
}

async function pick(what) {
  const n = ++asked;
  try {
    const answer = await postJSON("api/embeddings/neighbours", {run: run(), ...what});
    if (n !== asked) return;
    picked = answer;
    showError($("emb-error"), null);
    say(picked.token);
    listNeighbours();
    draw();
  } catch (e) { if (n === asked) showError($("emb-error"), e); }
}

async function load() {
  const n = ++asked;
  map = picked = null;
  draw(); listNeighbours();
  $("emb-title").textContent = "Nearest by cosine";
  if (!run()) return;
  $("emb-shapes").textContent = "computing the map of the run's wte…";
  try {
    const answer = await getJSON(`api/embeddings/map?run=${encodeURIComponent(run())}`);
    if (n !== asked) return;
    map = answer;
    showError($("emb-error"), null);
    $("emb-shapes").textContent = map.shapes;
    $("emb-subset").textContent = map.shown < map.V
      ? `The map shows the first ${map.shown.toLocaleString("en")} of the ${map.V.toLocaleString("en")} tokens ` +
        `(ids 0–${(map.shown - 1).toLocaleString("en")}) to keep the page light; a token you find or click, and its ` +
        "neighbours, are added wherever they are."
      : `All ${map.V.toLocaleString("en")} tokens.`;
    $("emb-hover").textContent = "hover or tap a point for its token; click it for its nearest tokens";
    draw();
  } catch (e) { if (n === asked) { $("emb-shapes").textContent = ""; showError($("emb-error"), e); } }
}

register("embeddings", async () => {
  const svg = $("emb-map");
  const at = (e) => { const id = e.target.dataset?.id; return id === undefined ? null : Number(id); };
  const pointOf = (id) => (picked && [picked.token, ...picked.neighbours].find((p) => p.id === id)) ||
    {id, token: map.tokens[id], x: map.x[id], y: map.y[id]};
  svg.addEventListener("pointerover", (e) => { const id = at(e); if (id !== null && map) say(pointOf(id)); });
  svg.addEventListener("pointerdown", (e) => { const id = at(e); if (id !== null && map) say(pointOf(id)); });
  svg.addEventListener("click", (e) => { const id = at(e); if (id !== null && map) pick({id}); });
  $("emb-find-go").addEventListener("click", () => { if (map) pick({text: $("emb-find").value}); });
  $("emb-find").addEventListener("keydown", (e) => { if (e.key === "Enter" && map) pick({text: $("emb-find").value}); });
  $("emb-run").addEventListener("run", load);
  // the run trained again (its map drawn again) or deleted (the map cleared) under the page; app.js says which
  watchRun($("emb-run"), {what: "this map was drawn", again: "drawn again with the new weights", changed: load,
    gone: () => { load(); $("emb-shapes").textContent = $("emb-subset").textContent = ""; }});
  window.addEventListener("resize", draw);
  try {
    if (await fillRuns("gpt", $("emb-run"), $("emb-empty"), $("emb-summary"))) load();
  } catch (e) { showError($("emb-error"), e); }
}, async () => { // back on the page: a run trained meanwhile is listed, and the map fits the window again
  if (await fillRuns("gpt", $("emb-run"), $("emb-empty"), $("emb-summary"), {force: true}) && !map) load();
  else draw();
});
