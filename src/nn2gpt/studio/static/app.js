// nn2gpt studio: the page's shared pieces (heatmaps, bars, curves; requests and run lists from runs.js) and the tab router.
// Plain JavaScript modules, no build step and nothing fetched from the internet.

import {showing} from "./runs.js";

export {RunChanged, fillRuns, getJSON, loadRuns, postJSON, postStream, watchRun} from "./runs.js";
export const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

export function showError(node, error) {
  if (error?.said) error = null; // the line under the run's name says it
  node.hidden = !error;
  node.textContent = error ? (error.message || String(error)) : "";
  // a run deleted (or emptied) since the list was read: read the list again, so it cannot be picked
  if (error && /there is no run|holds no trained model/.test(node.textContent)) refreshCurrent();
}

// A log box that follows its last line, as a terminal does, unless the reader scrolled up to read an earlier one;
// it keeps the last `keep` lines.
export function followLog(box, line, keep = 12) {
  const following = box.scrollHeight - box.scrollTop - box.clientHeight < 8;
  box.textContent = (box.textContent + line + "\n").split("\n").slice(-keep).join("\n");
  if (following) box.scrollTop = box.scrollHeight;
}

// A calm white -> blue scale for weights in [0, 1].
export function shade(w, max = 1) {
  const t = Math.max(0, Math.min(1, max > 0 ? w / max : 0));
  const r = Math.round(255 - t * (255 - 31)), g = Math.round(255 - t * (255 - 78)), b = Math.round(255 - t * (255 - 140));
  return `rgb(${r},${g},${b})`;
}

// A heatmap as rows of cells: rows[i] is an array of weights, shaded white (0) to blue (the largest).
// Every cell and its column label are exactly --cell px wide (borders inside), so label j sits over column j.
// perRow shades each row against its own largest weight (a diffuse head stays visible next to a sharp one).
// fit narrows the cells so that the columns fit the view's width (never under MIN_CELL px, where the labels
// stay readable: then the map scrolls sideways, to the newest column). Hovering, tapping or focusing a cell
// shows its value in the line under the map (touch has no hover); rows are reachable with Tab and the arrows,
// and Enter or Space does what a click does.
const MIN_CELL = 9;
// keep: the same map drawn again (a row was picked): the value line keeps what it said; sayRow: the value line
// says that row's largest weight (a row picked by a click elsewhere, as focusing it would).
export function heatmap(node, rows, rowLabels, colLabels, {onRow, onHover, picked, big, max, perRow, fit, keep, sayRow} = {}) {
  node.replaceChildren();
  node.classList.toggle("big", !!big);
  if (fit) {
    const columns = rows[0]?.length || 1, label = parseFloat(getComputedStyle(node).getPropertyValue("--label")) || 88;
    const room = (node.clientWidth || 700) - label - 2;
    node.style.setProperty("--cell", `${Math.max(MIN_CELL, Math.min(big ? 26 : 16, Math.floor(room / columns)))}px`);
  }
  const all = max ?? Math.max(1e-9, ...rows.flat());
  const grid = el("div", {class: "hm-grid"});
  const readout = el("p", {class: "hm-readout note", text: (keep && node.dataset.readout) || "\u00a0"});
  const say = (i, j, w) => { readout.textContent = node.dataset.readout = `${rowLabels[i] ?? i} → ` +
    `${colLabels ? colLabels[j] : j}` + (colLabels ? ` (column ${j + 1})` : "") + `: ${w.toFixed(3)}`; };
  if (colLabels) grid.append(el("div", {class: "hm-cols"}, ...colLabels.map((c) => el("span", {text: c, title: c}))));
  rows.forEach((row, i) => {
    const top = perRow ? Math.max(1e-9, ...row) : all;
    const line = el("div", {class: "hm-row" + (i === picked ? " picked" : ""), "data-row": i, tabindex: "0",
                            role: onRow ? "button" : "group", "aria-label": `row ${rowLabels[i] ?? i}`},
      el("div", {class: "hm-label", text: rowLabels[i] ?? "", title: rowLabels[i] ?? ""}),
      ...row.map((w, j) => el("div", {class: "hm-cell", style: `background:${shade(w, top)}`,
                                      title: `${rowLabels[i] ?? i} → ${colLabels ? colLabels[j] : j}: ${w.toFixed(3)}`,
                                      onpointerenter: () => say(i, j, w), onpointerdown: () => say(i, j, w)})));
    line.addEventListener("focus", () => { const j = row.indexOf(Math.max(...row)); say(i, j, row[j]); });
    line.addEventListener("keydown", (e) => {
      if ((e.key === "Enter" || e.key === " ") && onRow) { e.preventDefault(); onRow(i); }
      const next = e.key === "ArrowDown" ? line.nextElementSibling : e.key === "ArrowUp" ? line.previousElementSibling : null;
      if (next?.classList.contains("hm-row")) { e.preventDefault(); next.focus(); }
    });
    if (onRow) { line.style.cursor = "pointer"; line.addEventListener("click", () => onRow(i)); }
    if (onHover) {
      line.addEventListener("mouseenter", () => onHover(i)); line.addEventListener("mouseleave", () => onHover(null));
      line.addEventListener("focus", () => onHover(i)); line.addEventListener("blur", () => onHover(null));
    }
    grid.append(line);
  });
  node.append(grid, legend(perRow ? "the row's largest weight" : max === 1 ? "1" : `${all.toFixed(3)}, the largest`), readout);
  if (rows[sayRow]) { const row = rows[sayRow], j = row.indexOf(Math.max(...row)); say(sayRow, j, row[j]); }
  if (fit && !big) grid.scrollLeft = grid.scrollWidth; // a text's map: the newest columns in view
}

// The colour scale under a heatmap: white = 0, full blue = `top`.
export function legend(top) {
  return el("div", {class: "hm-legend"}, el("span", {text: "0"}),
    el("i", {style: `background:linear-gradient(to right, ${shade(0)}, ${shade(0.5)}, ${shade(1)})`}),
    el("span", {text: top}));
}

// Probability bars, vertical (labels under) or horizontal (label, bar, value). `top` (vertical) or
// `highlight` (horizontal) is the bar drawn in the accent colour; `mark` a bar outlined and flagged.
export function bars(node, items, {horizontal = false, top = null, max = null, highlight = null, mark = null} = {}) {
  node.replaceChildren();
  const best = top ?? items.reduce((b, it, i) => (it.value > items[b].value ? i : b), 0);
  max = max ?? Math.max(1e-9, ...items.map((it) => it.value));
  for (const [i, it] of items.entries()) {
    if (horizontal) {
      node.append(el("div", {class: "row" + (i === highlight ? " top" : "") + (i === mark ? " marked" : "")},
        el("code", {text: it.label, title: it.label}),
        el("i", {style: `width:${(100 * it.value / max).toFixed(1)}%`}), el("span", {text: it.text ?? it.value.toFixed(3)})));
    } else {
      node.append(el("div", {class: "bar" + (i === best ? " top" : "")}, el("span", {text: it.text ?? ""}),
        el("i", {style: `height:${(100 * it.value).toFixed(1)}%`}), el("b", {text: it.label})));
    }
  }
}

// A tiny line chart: series = [{points: [[x, y]], cls: "train" | "val", dots: bool}].
// Drawn at the SVG's own width in pixels, so its text keeps its size on a phone.
export function curve(svg, series, {xLabel = "step", yLabel = ""} = {}) {
  const H = svg.viewBox.baseVal.height, W = Math.round(svg.clientWidth) || svg.viewBox.baseVal.width;
  const L = 44, B = 22, T = 8, R = 8;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const pts = series.flatMap((s) => s.points);
  svg.replaceChildren();
  const ns = "http://www.w3.org/2000/svg", add = (tag, attrs) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    svg.append(n);
    return n;
  };
  add("line", {x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis"});
  add("line", {x1: L, y1: T, x2: L, y2: H - B, class: "axis"});
  if (!pts.length) return;
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1), y0 = Math.min(...ys), y1 = Math.max(...ys, y0 + 1e-3);
  const X = (x) => L + (W - L - R) * (x - x0) / (x1 - x0), Y = (y) => H - B - (H - B - T) * (y - y0) / (y1 - y0);
  for (const s of series) {
    if (s.dots) s.points.forEach((p) => add("circle", {cx: X(p[0]), cy: Y(p[1]), r: 3, class: s.cls}));
    else if (s.points.length) add("polyline", {points: s.points.map((p) => `${X(p[0])},${Y(p[1])}`).join(" "), class: s.cls});
  }
  add("text", {x: L, y: H - 6, text: ""}).textContent = `${x0}`;
  add("text", {x: W - R, y: H - 6, "text-anchor": "end"}).textContent = `${x1} ${xLabel}`;
  add("text", {x: 2, y: T + 8}).textContent = y1.toFixed(2);
  add("text", {x: 2, y: H - B}).textContent = y0.toFixed(2);
  if (yLabel) add("text", {x: L + 6, y: T + 8}).textContent = yLabel;
}

// ---- the router: one view at a time, chosen by the URL's #fragment ----
const views = {};
const started = new Set();

let current = null;
function route() {
  const name = (location.hash || "#digits").slice(1);
  const view = views[name] ? name : "digits";
  current = view;
  showing(view);
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${view}`;
  for (const a of document.querySelectorAll("#tabs a")) {
    a.classList.toggle("active", a.dataset.view === view);
    if (a.dataset.view === view) a.scrollIntoView({block: "nearest", inline: "nearest"}); // a narrow nav scrolls
  }
  edges();
  if (!started.has(view)) { started.add(view); views[view](); }
  else if (refreshers[view]) refreshers[view](); // a run trained meanwhile shows up in the lists
}

// A nav wider than the screen (a phone's) scrolls sideways; it fades at each edge that hides more tabs.
const tabs = document.getElementById("tabs");
function edges() {
  tabs.classList.toggle("more", tabs.scrollLeft + tabs.clientWidth < tabs.scrollWidth - 1);
  tabs.classList.toggle("less", tabs.scrollLeft > 1);
}
tabs.addEventListener("scroll", edges, {passive: true});
window.addEventListener("resize", edges);

const refreshers = {};
export function register(name, start, refresh = null) { views[name] = start; refreshers[name] = refresh; }
// The shown view reads its run lists again (a run trained, or deleted, in the meantime).
export function refreshCurrent() { if (current && started.has(current) && refreshers[current]) refreshers[current](); }
window.addEventListener("focus", refreshCurrent);

Promise.all(["digits", "gpt", "embeddings", "translate", "train", "lab"].map((v) => import(`./${v}.js`))).then(() => {
  window.addEventListener("hashchange", route);
  route();
});
