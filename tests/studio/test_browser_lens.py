"""The GPT page's clicked position in chromium, at 1280x900 and on a 390x844 phone: every bar says what it
was with every head on, on one line; top-k shows only the tokens it keeps; one formatter for small
probabilities; newline tokens that can be clicked; the text as one tab stop and a ticked head that keeps
the focus; the raw logits, the logit lens, one head over the text and two positions side by side, each
checked against the API or the model."""

import re

import pytest
import torch

from nn2gpt.gpt.runs import load_model
from nn2gpt.studio.gpt import distribution

from tests.studio.conftest import open_page
from tests.studio.test_browser_views import BIG, open_position, overflow

pytestmark = pytest.mark.slow  # trains, or drives processes or a browser, for seconds: `-m 'not slow'` leaves it out

def page_text(page) -> str:
    return page.evaluate("[...document.querySelectorAll('#gpt-text span')].map((s) => s.textContent).join('')")

def one_line(page, selector) -> list[bool]:
    """For each element: is it one line high (its height under 1.5 of its line height)?"""
    return page.evaluate("""(sel) => [...document.querySelectorAll(sel)].map((e) =>
        e.getBoundingClientRect().height < 1.5 * parseFloat(getComputedStyle(e).lineHeight))""", selector)

def full_model(runs_dir, run, text, position, settings):
    """The probabilities (V,) and logits (V,) of the model with every head on, at `position` of `text`."""
    model, tok, _ = load_model(runs_dir / run)
    ids = tok.encode(text)
    start = max(0, position + 1 - model.cfg.block_size)
    with torch.no_grad():
        logits = model(torch.tensor([ids[start:position + 1]]))[0][0, -1]
    return distribution(logits, settings), logits

@pytest.mark.parametrize("width", [1280, 390])
def test_every_bar_says_what_it_was_on_one_line(browser, tmp_path, studio, client, runs_dir, width):

    for page in open_page(browser, tmp_path, width, 900 if width > 400 else 844, touch=width < 400):
        open_position(page, studio, position=40)
        page.locator("#gpt-heads .thumb input[type=checkbox]").nth(0).check()  # layer 1, head 1
        page.wait_for_function("document.querySelector('#gpt-next .row span').textContent.includes('was')")
        texts = page.locator("#gpt-next .row span").all_inner_texts()
        assert texts and all(" · was " in t for t in texts)  # every bar, whatever its rank
        assert all(one_line(page, "#gpt-next .row span")) and overflow(page) <= 0
        text = page_text(page)
        asked = client.post("/api/gpt/next", json={"run": BIG, "text": text, "position": 40, "temperature": 0.8,
                                                    "heads_off": [[0, 0]]}).json()
        probs, _ = full_model(runs_dir, BIG, text, 40, {"temperature": 0.8, "top_k": None, "top_p": None})
        ids = [n["id"] for n in asked["next"]] + ([asked["following"]["id"]] if len(texts) > len(asked["next"]) else [])
        for t, i in zip(texts, ids):
            shown, was = t.split(" · was ")
            assert float(was) == pytest.approx(float(probs[i]), rel=0.06)  # 1.5e-5: two digits
            assert re.fullmatch(r"\d\.\d{3}|\d\.\de-\d+", shown) and re.fullmatch(r"\d\.\d{3}|\d\.\de-\d+", was)
        # the same probability is written the same way in the bar and in the line under the bars
        marked = page.locator("#gpt-next .row.marked span").inner_text().split(" · ")[0]
        assert f"p = {marked}," in page.inner_text("#gpt-following")

def test_top_k_shows_only_the_tokens_it_keeps_with_their_logits(page, studio, client, runs_dir):
    open_position(page, studio, run="gpt", position=30)
    page.locator("#gpt-slide-t").fill("1")
    page.locator("#gpt-slide-k").fill("3")
    page.wait_for_function("document.getElementById('gpt-following').textContent.includes('top-k 3')")
    assert page.locator("#gpt-next .row").count() == 3  # no bars of tokens top-k leaves out (p = 0)
    shown = [float(s) for s in page.locator("#gpt-next .row span").all_inner_texts()]
    assert all(p > 0 for p in shown) and sum(shown) == pytest.approx(1, abs=2e-3)
    _, logits = full_model(runs_dir, "gpt", page_text(page), 30, {"temperature": 1, "top_k": 3, "top_p": None})
    logit_text = [float(s.replace("\u2212", "-")) for s in page.locator("#gpt-next .row small").all_inner_texts()]
    assert logit_text == pytest.approx(torch.topk(logits, 3).values.tolist(), abs=6e-3)  # the raw logits, beside

def test_newline_tokens_are_marked_wide_and_clickable(page, studio):
    page.goto(studio + "#gpt")
    page.wait_for_selector("#gpt-run option", state="attached")
    page.select_option("#gpt-run", "gpt")
    page.fill("#gpt-prompt", "ROMEO:\nBut soft!\nWhat light\n\nis")
    page.fill("#gpt-max", "1")
    page.click("#gpt-generate")
    page.wait_for_function("document.getElementById('gpt-speed').textContent.includes('tokens/s')")
    newlines = page.evaluate("""[...document.querySelectorAll('#gpt-text span')].flatMap((s, i) => {
        if (!s.textContent.includes('\\n')) return [];
        const r = s.getClientRects()[0], x = r.left + r.width / 2, y = r.top + r.height / 2;
        return [{i, width: r.width, hit: document.elementFromPoint(x, y) === s,
                 mark: getComputedStyle(s, '::before').content}];
    })""")
    assert len(newlines) >= 4  # the prompt's four, and the new token if it is one
    for n in newlines:
        assert n["width"] >= 4 and n["hit"] and "⏎" in n["mark"]
    page.locator("#gpt-text span").nth(newlines[1]["i"]).click()
    at = newlines[1]["i"]
    page.wait_for_function(f"document.getElementById('gpt-next-title').textContent.includes('position {at}')")
    assert "“⏎”" in page.inner_text("#gpt-next-title")

def test_the_text_is_one_tab_stop_and_a_ticked_head_keeps_the_focus(page, studio):
    page.goto(studio + "#gpt")
    page.wait_for_selector("#gpt-run option", state="attached")
    page.select_option("#gpt-run", "gpt")
    page.fill("#gpt-max", "300")
    page.click("#gpt-generate")
    page.wait_for_function("document.getElementById('gpt-speed').textContent.includes('tokens/s')")
    assert page.locator("#gpt-text span").count() == 306
    page.focus("#gpt-generate")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.parentElement.id") == "gpt-text"
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('gpt-next-title').textContent.includes('position 5')")
    stops = 0
    while page.evaluate("document.activeElement.id") != "gpt-slide-t":
        page.keyboard.press("Tab")
        stops += 1
        assert stops < 10, page.evaluate("document.activeElement.outerHTML.slice(0, 120)")
    page.keyboard.press("Shift+Tab")  # back, and the text gives the focus to the token last opened
    while page.evaluate("document.activeElement.parentElement?.id") != "gpt-text":
        page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.dataset.i") == "5"
    stops = 0  # on, by Tab alone, to the second head's box: past the sliders and the first head's box
    while page.evaluate("document.activeElement.dataset.key") != "tick 0,1":
        page.keyboard.press("Tab")
        stops += 1
        assert stops < 12, page.evaluate("document.activeElement.outerHTML.slice(0, 120)")
    back = []
    for _ in range(2):
        page.keyboard.press("Shift+Tab")
        back.append(page.evaluate("document.activeElement.dataset.key"))
    assert back == ["open 0,1", "tick 0,0"]  # the heads in their order: each one's map, then its box
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    page.wait_for_function("document.querySelector('#gpt-next .row span').textContent.includes('was')")
    assert page.evaluate("document.activeElement.dataset.key") == "tick 0,1"
    assert page.evaluate("document.activeElement.checked") is True
    page.keyboard.press("Space")  # and off again, from the same place
    page.wait_for_function("!document.querySelector('#gpt-next .row span').textContent.includes('was')")
    assert page.evaluate("document.activeElement.dataset.key") == "tick 0,1"

@pytest.mark.parametrize("width", [1280, 390])
def test_the_logit_lens_in_the_page(browser, tmp_path, studio, client, width):

    for page in open_page(browser, tmp_path, width, 900 if width > 400 else 844, touch=width < 400):
        open_position(page, studio, position=20)
        page.wait_for_function("document.querySelectorAll('#gpt-lens .lens-row').length === 26")  # header + 1 + 2 x 12
        want = client.post("/api/gpt/lens", json={"run": BIG, "text": page_text(page), "position": 20}).json()
        labels = page.locator("#gpt-lens .lens-row:not(.lens-head) .lens-label").all_inner_texts()
        assert labels == [r["label"] for r in want["rows"]]
        first = page.locator("#gpt-lens .lens-row:not(.lens-head)").last.locator(".chip code").first.inner_text()
        assert first == want["rows"][-1]["top"][0]["token"].replace(" ", "␣").replace("\n", "⏎")
        assert page.evaluate("[...document.querySelectorAll('#gpt-lens .lens-row')]"
                             ".every((r) => r.scrollWidth <= r.clientWidth + 1)")  # nothing cut off
        assert overflow(page) <= 0

def test_one_head_over_the_whole_text_by_pointer_and_keyboard(phone, studio, client):
    open_position(phone, studio, run="gpt", position=50)
    phone.select_option("#gpt-map-layer", "1")
    phone.wait_for_function("document.getElementById('gpt-map-caption').textContent.startsWith('L2 H1 over 32 tokens')")
    picked = phone.locator("#gpt-attention .hm-row.picked .hm-label").inner_text()
    assert picked.startswith("L2 H1")  # the head is opened everywhere on the page
    want = client.post("/api/gpt/head", json={"run": "gpt", "text": page_text(phone), "position": 50, "layer": 1,
                                               "head": 0}).json()
    canvas = phone.locator("#gpt-map")
    box = canvas.bounding_box()
    assert box["width"] <= 390 and abs(box["width"] - box["height"]) <= 1 and overflow(phone) <= 0
    cell = box["width"] / 32
    canvas.tap(position={"x": 10.5 * cell, "y": 20.5 * cell})  # query 20, key 10
    said = phone.inner_text("#gpt-map-readout")
    assert said.endswith(f": {want['rows'][20][10] / 1000:.3f}") and "(position 39) reads" in said
    canvas.focus()
    phone.keyboard.press("ArrowDown")
    phone.keyboard.press("ArrowLeft")
    assert phone.inner_text("#gpt-map-readout").endswith(f": {want['rows'][21][9] / 1000:.3f}")

def test_two_positions_side_by_side(page, studio, client):
    open_position(page, studio, run="gpt", position=40)
    page.click("#gpt-pin")
    page.locator("#gpt-text span").nth(60).click()
    page.wait_for_selector("#gpt-compare .compare-col >> nth=1")
    cols = page.locator("#gpt-compare .compare-col")
    a, b = cols.nth(0).bounding_box(), cols.nth(1).bounding_box()
    assert abs(a["y"] - b["y"]) <= 1 and a["x"] + a["width"] <= b["x"]  # side by side at 1280
    text = page_text(page)
    for col, position in ((cols.nth(0), 40), (cols.nth(1), 60)):
        want = client.post("/api/gpt/position", json={"run": "gpt", "text": text, "position": position, "layer": 0,
                                                       "head": 0, "temperature": 0.8}).json()
        assert f"(position {position})" in col.locator("h4").inner_text()
        shown = [float(s) for s in col.locator(".row span").all_inner_texts()]
        assert shown[:len(want["next"])] == pytest.approx([n["p"] for n in want["next"]], abs=6e-4)
        weights = col.locator(".tokens.reads span").evaluate_all("(s) => s.map((e) => Number(e.title))")
        assert weights == pytest.approx(want["row"][-len(weights):], abs=6e-4)

def test_two_positions_stay_side_by_side_on_a_phone(phone, studio):
    open_position(phone, studio, run="gpt", position=40)
    phone.click("#gpt-pin")
    phone.locator("#gpt-text span").nth(60).tap()
    phone.wait_for_selector("#gpt-compare .compare-col >> nth=1")
    cols = phone.locator("#gpt-compare .compare-col")
    a, b = cols.nth(0).bounding_box(), cols.nth(1).bounding_box()
    assert abs(a["y"] - b["y"]) <= 1 and a["x"] + a["width"] <= b["x"] and b["x"] + b["width"] <= 390
    assert overflow(phone) <= 0
    # every bar row fits its column: the token, a bar of some width, its probability and its logit
    fits = phone.evaluate("""[...document.querySelectorAll('#gpt-compare .compare-col')].map((col) => {
        const c = col.getBoundingClientRect();
        return [...col.querySelectorAll('.next-bars .row')].every((row) => {
          const parts = [...row.children].map((e) => e.getBoundingClientRect());
          return parts.every((r) => r.left >= c.left - 1 && r.right <= c.right + 1) && parts[1].width >= 8
            && parts.slice(2).every((r) => r.width > 0 && row.children[2].scrollWidth <= row.children[2].clientWidth + 1);
        });
      })""")
    assert fits == [True, True]
