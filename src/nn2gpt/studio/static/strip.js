// The GPT page's text, one span per token, as one tab stop (a roving tabindex): ArrowLeft / ArrowRight move to
// the token before / after, ArrowUp / ArrowDown to the token on the line above / below (the one nearest by x),
// Home / End to the first / last, and Enter or Space opens one. A newline token shows a ⏎ (CSS), so it has a
// width and can be clicked. gpt.js draws the strip and says what opening a token does.
import {$, el} from "./app.js";

let roving = 0; // the token the strip's one tab stop is on

export function renderTokens(tokens, open) {
  roving = Math.min(roving, Math.max(0, tokens.length - 1));
  $("gpt-text").replaceChildren(...tokens.map((t, i) => el("span", {"data-i": i, text: t, tabindex: i === roving ? "0" : "-1",
    role: "button", class: t.includes("\n") ? "nl" : t === "" ? "nil" : "", onclick: () => open(i)})));
}

export function rove(i, focus = true) {
  const spans = $("gpt-text").children;
  if (!spans[i]) return;
  if (spans[roving]) spans[roving].tabIndex = -1;
  roving = i;
  spans[i].tabIndex = 0;
  if (focus) spans[i].focus();
}

// The token on the line above (step -1) or below (step 1) token i, the one whose box is nearest to i's centre
// by x; i itself on the first (last) line. A token that wraps onto two lines is on both.
function lineNeighbour(spans, i, step) {
  const boxes = (k) => [...spans[k].getClientRects()].filter((r) => r.width > 0 || r.height > 0);
  const own = boxes(i);
  if (!own.length) return i;
  const from = step > 0 ? own[own.length - 1] : own[0], x = (from.left + from.right) / 2;
  const mid = (r) => (r.top + r.bottom) / 2;
  let line = null, best = i, gap = Infinity;
  for (let k = i + step; k >= 0 && k < spans.length; k += step) {
    const rs = boxes(k);
    for (const r of step > 0 ? rs : rs.reverse()) {
      if (line === null && (step > 0 ? mid(r) > from.bottom : mid(r) < from.top)) line = mid(r); // the next line
      if (line === null || Math.abs(mid(r) - line) >= r.height / 2) continue;
      const d = Math.max(0, r.left - x, x - r.right);
      if (d < gap) { gap = d; best = k; }
    }
    if (line !== null && rs.length && (step > 0 ? rs[0].top > line : rs[0].bottom < line)) break; // past that line
  }
  return best;
}

export function tokenKeys(e, open) {
  const spans = $("gpt-text").children, i = Number(e.target.dataset?.i), n = spans.length;
  if (!Number.isInteger(i)) return;
  const to = {ArrowRight: () => i + 1, ArrowLeft: () => i - 1, ArrowDown: () => lineNeighbour(spans, i, 1),
              ArrowUp: () => lineNeighbour(spans, i, -1), Home: () => 0, End: () => n - 1}[e.key]?.();
  if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(i); }
  else if (to !== undefined) { e.preventDefault(); if (to >= 0 && to < n) rove(to); }
}
