"""Every view measured in chromium at 1280x900 and on a 390x844 phone: labels over their columns,
nothing wider than the screen, values reachable without hover, the controls of the clicked position
(temperature and top-k, every head, heads turned off), the keyboard, and training that looks alive.
With NN2GPT_SCREENSHOTS=1 (and for a failed test) screenshots land in each test's temporary folder
(page-1280.png, page-390.png)."""

import re
import shutil
import time

import pytest

from nn2gpt.gpt.runs import load_model

pytestmark = pytest.mark.slow  # trains, or drives processes or a browser, for seconds: `-m 'not slow'` leaves it out

BIG = "wide/gpt2-12x12"
PROSE = "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be " \
        "in want of a wife. However little known the feelings or views of such a man may be on his first entering " \
        "a neighbourhood, this truth is so well fixed in the minds of the surrounding families, that he is " \
        "considered the rightful property of some one or other of their daughters."


def open_position(page, studio, run=BIG, position=-1):
    """The GPT page on `run`, one token generated after PROSE, then token `position` clicked."""
    page.goto(studio + "#gpt")
    page.wait_for_selector("#gpt-run option", state="attached")
    page.select_option("#gpt-run", run)
    page.fill("#gpt-prompt", PROSE)
    page.fill("#gpt-max", "1")
    page.click("#gpt-generate")
    page.wait_for_function("document.getElementById('gpt-speed').textContent.includes('tokens/s')")
    spans = page.locator("#gpt-text span")
    spans.nth(position if position >= 0 else spans.count() + position).click()
    page.wait_for_selector("#gpt-attention .hm-row")


def label_drift(page, selector) -> float:
    """The largest distance, in px, between a column label's centre and its column's centre."""
    return page.evaluate("""(sel) => {
        const map = document.querySelector(sel), row = map.querySelector('.hm-row');
        const cells = [...row.querySelectorAll('.hm-cell')], labels = [...map.querySelectorAll('.hm-cols span')];
        if (cells.length !== labels.length) return 1e9;
        const mid = (r) => r.left + r.width / 2;
        return Math.max(...cells.map((c, j) => Math.abs(mid(c.getBoundingClientRect()) - mid(labels[j].getBoundingClientRect()))));
    }""", selector)


def overflow(page) -> int:
    """How many px the page is wider than its window (0: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_a_12x12_model_with_64_columns_reads_right_at_laptop_width(page, studio):
    open_position(page, studio)
    cells = page.locator("#gpt-attention .hm-row").first.locator(".hm-cell")
    assert cells.count() == 64
    assert label_drift(page, "#gpt-attention") <= 2
    grid = page.evaluate("(() => { const g = document.querySelector('#gpt-attention .hm-grid'); "
                         "return [g.scrollWidth, g.clientWidth]; })()")
    assert grid[0] <= grid[1] and overflow(page) <= 0  # every column in view, nothing wider than the window
    # 144 heads: one layer of rows at a time, every head as a thumbnail, a legend on every map
    assert page.locator("#gpt-attention .hm-row").count() == 12 and page.locator("#gpt-layer option").count() == 12
    assert page.locator("#gpt-heads .thumb").count() == 144
    assert page.locator("#gpt-inspect .hm-legend").count() == 3  # the row map, the thumbnails, one head over the text
    # the 50k-token vocabulary's labels stay inside their column of the bars
    widths = page.evaluate("[...document.querySelectorAll('#gpt-next .row code')].map((c) => c.scrollWidth <= "
                           "c.clientWidth + 1 || getComputedStyle(c).textOverflow === 'ellipsis')")
    assert widths and all(widths)
    page.locator("#gpt-heads .thumb button").nth(5 * 12 + 3).click()  # layer 6, head 4
    page.wait_for_function("document.getElementById('gpt-layer').value === '5'")
    assert page.locator("#gpt-attention .hm-row.picked .hm-label").inner_text() == "L6 H4"


def test_the_heatmap_on_a_phone(phone, studio, tmp_path):
    open_position(phone, studio)
    assert label_drift(phone, "#gpt-attention") <= 2
    assert overflow(phone) <= 0  # the map scrolls inside itself, the page does not
    size = phone.evaluate("parseFloat(getComputedStyle(document.querySelector('#gpt-attention .hm-cols span')).fontSize)")
    assert size >= 8  # column labels stay readable
    phone.locator("#gpt-attention .hm-row").nth(2).locator(".hm-cell").nth(10).tap()  # touch: no hover
    assert ": 0." in phone.locator("#gpt-attention .hm-readout").inner_text()


def test_temperature_and_top_k_reshape_the_bars_without_generating(page, studio, client):
    open_position(page, studio, run="gpt", position=30)
    text = page.evaluate("[...document.querySelectorAll('#gpt-text span')].map((s) => s.textContent).join('')")
    page.evaluate("window.generated = 0; const f = window.fetch; window.fetch = (u, o) => "
                  "{ if (String(u).includes('generate')) window.generated++; return f(u, o); }")
    assert page.locator("#gpt-next .row.marked").count() == 1  # the token that came next
    page.locator("#gpt-slide-t").fill("0.5")
    page.locator("#gpt-slide-k").fill("3")
    page.wait_for_function("document.getElementById('gpt-following').textContent.includes('top-k 3')")
    want = client.post("/api/gpt/next", json={"run": "gpt", "text": text, "position": 30, "temperature": 0.5,
                                               "top_k": 3}).json()
    shown = page.locator("#gpt-next .row span").all_inner_texts()
    assert [float(s.split()[0]) for s in shown[:3]] == pytest.approx([n["p"] for n in want["next"][:3]], abs=1e-3)
    assert page.evaluate("window.generated") == 0


def test_turning_a_head_off_changes_the_bars_and_says_what_they_were(page, studio):
    open_position(page, studio, run="gpt", position=30)
    before = page.locator("#gpt-next .row span").all_inner_texts()
    page.locator("#gpt-heads .thumb input[type=checkbox]").nth(2).check()  # layer 2, head 1
    page.wait_for_function("document.querySelector('#gpt-next .row span').textContent.includes('was')")
    after = page.locator("#gpt-next .row span").all_inner_texts()
    assert after != before and "L2 H1" in page.locator("#gpt-off-summary").inner_text()
    assert page.locator("#gpt-attention .hm-label", has_text="L2 H1 off").count() == 1


def test_the_keyboard_opens_a_token_and_a_heatmap_row(page, studio):
    open_position(page, studio, run="gpt", position=3)
    page.locator("#gpt-text span").nth(10).focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('gpt-next-title').textContent.includes('position 11')")
    page.locator("#gpt-attention .hm-row").first.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert page.locator("#gpt-attention .hm-row.picked .hm-label").inner_text() == "L1 H2"
    assert "L1 H2" in page.locator("#gpt-attention .hm-readout").inner_text()


def test_phone_layout_header_digit_verdict_and_curve(phone, studio):
    phone.goto(studio + "#digits")
    phone.wait_for_selector("#digits-run option", state="attached")
    header = phone.locator("header").bounding_box()
    assert header["height"] <= 64
    for link in phone.locator("#tabs a").all():
        assert link.bounding_box()["height"] < 30  # one line each: no label wraps inside
    assert overflow(phone) <= 0
    canvas = phone.locator("#digits-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y = box["x"], box["y"]
    phone.mouse.move(x + 60, y + 60)
    phone.mouse.down()
    for t in range(11):
        phone.mouse.move(x + 60 + 16 * t, y + 60)
    for t in range(11):
        phone.mouse.move(x + 220 - 10 * t, y + 60 + 18 * t)
    phone.mouse.up()
    phone.wait_for_selector("#digits-verdict b")
    verdict = phone.locator("#digits-verdict").bounding_box()
    assert verdict["y"] + verdict["height"] <= 844 and verdict["y"] >= 0  # in view while drawing
    phone.locator("#digits-hidden div").nth(3).tap()  # a neuron's value and what it looks for, by touch
    assert re.fullmatch(r"neuron 3: [01]\.\d{3} for this drawing", phone.locator("#digits-neuron-value").inner_text())
    phone.wait_for_selector("#digits-neuron:not([hidden])")
    assert "784 incoming weights" in phone.locator("#digits-neuron-caption").inner_text()
    phone.goto(studio + "#train")
    phone.wait_for_selector("#train-curve line", state="attached")
    # drawn and measured in one task: the page's own redraw (the last run's curve, streamed in) cannot come between
    heights = phone.evaluate("import('./static/app.js').then((m) => { const svg = document.getElementById('train-curve'); "
                             "m.curve(svg, [{points: [[0, 4], [100, 2.5]], cls: 'train'}], {yLabel: 'loss'}); "
                             "return [...svg.querySelectorAll('text')].map((t) => t.getBoundingClientRect().height); })")
    assert heights and min(heights) >= 9  # the curve's text is readable on a phone


def test_every_heatmap_has_a_legend_and_the_entropy_bars_are_not_a_top_token(page, studio):
    page.goto(studio + "#lab")
    page.wait_for_selector("#toy-map .hm-row")
    assert page.locator("#toy-map .hm-legend").count() == 1
    assert page.locator("#toy-entropy .row").count() == 8 and page.locator("#toy-entropy .row.top").count() == 0


def test_a_deleted_run_leaves_the_list(page, studio, runs_dir):
    shutil.copytree(runs_dir / "gpt", runs_dir / "doomed")
    try:
        page.goto(studio + "#gpt")
        page.wait_for_selector("#gpt-run option[value=doomed]", state="attached")
        page.select_option("#gpt-run", "doomed")
        page.fill("#gpt-max", "20")
        page.click("#gpt-generate")          # a text of the run on screen, and a position opened in it
        page.wait_for_function("document.getElementById('gpt-speed').textContent.includes('tokens/s')")
        page.locator("#gpt-text span").nth(10).click()
        page.wait_for_selector("#gpt-inspect:not([hidden]) #gpt-next .row")
        # deleted at once (moved out, then removed): a list read while rmtree is halfway would rightly see a
        # folder that "holds no trained model now"
        (runs_dir / "doomed").rename(runs_dir.parent / "doomed-gone")
        shutil.rmtree(runs_dir.parent / "doomed-gone")
        # the page's own re-read of its runs (every 4 s) finds it gone: nothing of it is left on screen
        page.wait_for_selector("#gpt-run option[value=doomed]", state="detached", timeout=12_000)
        assert page.locator("#gpt-text span").count() == 0 and page.inner_text("#gpt-speed") == ""
        assert page.locator("#gpt-inspect").is_hidden()
        assert page.input_value("#gpt-run") == ""  # "(pick a run)": never a silent switch to another run
        assert page.inner_text("#view-gpt .runnote") == "the run 'doomed' was deleted — pick another run"
        assert page.locator("#gpt-error").is_hidden()  # said once, under the run's name
        # Generate again with no run picked (as when the list's own re-read found the run gone first): nothing
        # is asked, and the line under the list stays the only word
        asked = []
        page.on("request", lambda r: asked.append(r.url) if "/api/gpt/generate" in r.url else None)
        page.evaluate("document.getElementById('gpt-generate').click()")
        page.wait_for_timeout(300)
        assert not asked and page.locator("#gpt-error").is_hidden()
    finally:
        shutil.rmtree(runs_dir / "doomed", ignore_errors=True)


def test_train_live_is_alive_from_the_start_found_by_every_tab_and_stop_always_saves(browser, page, studio, runs_dir):
    other = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True).new_page()
    other.goto(studio + "#train")  # a tab opened before the run starts
    other.wait_for_function("/^gpt-live-\\d+$/.test(document.getElementById('train-name').value)")
    page.goto(studio + "#train")
    page.wait_for_function("/^gpt-live-\\d+$/.test(document.getElementById('train-name').value)")
    name = page.input_value("#train-name")
    page.fill("#train-layers", "1")
    page.fill("#train-seconds", "60")
    page.evaluate("import('./static/app.js').then((m) => m.curve(document.getElementById('train-curve'), "
                  "[{points: [[0, 4], [100, 2.5]], cls: 'train'}], {}))")  # a previous run's curve on screen
    page.wait_for_selector("#train-curve polyline", state="attached")
    page.click("#train-start")
    page.wait_for_function("document.getElementById('train-status').textContent.includes('starting')")
    assert page.locator("#train-curve polyline, #train-curve circle").count() == 0  # not under the new name
    first = page.inner_text("#train-status")
    time.sleep(2.2)
    assert page.inner_text("#train-status") != first  # the clock moves before the first step
    page.click("#train-stop")  # before the first checkpoint (usually before the first step)
    other.wait_for_function(f"document.getElementById('train-status').textContent.startsWith('{name}')",
                            timeout=15_000)  # the early tab found the run
    page.wait_for_function("document.getElementById('train-status').textContent.includes('stopped')", timeout=90_000)
    assert "saved in" in page.inner_text("#train-status")
    load_model(runs_dir / name)  # the checkpoint Stop saved
    page.wait_for_function(f"document.getElementById('train-name').value !== '{name}'")  # the next Start works
    other.context.close()


def test_translate_with_a_head_off_and_the_model_s_own_slip_as_placeholder(page, studio):
    page.goto(studio + "#translate")
    page.wait_for_function("document.getElementById('translate-sentence').value.length > 0")
    assert "knew well" in page.get_attribute("#translate-mine", "placeholder")  # es-en: the Spanish slip
    page.click("#translate-go")
    page.wait_for_selector("#translate-heads input[type=checkbox]")
    assert page.locator("#translate-heads .headrow").count() == 6  # 2 encoder + 2 x 2 decoder layers
    assert label_drift(page, "#translate-enc") <= 2 and overflow(page) <= 0
    page.locator("#translate-enc-tokens span").nth(2).focus()  # the keyboard picks a source word
    page.keyboard.press("Enter")
    assert page.locator("#translate-enc-tokens span.picked").count() == 1
    assert page.locator("#translate-enc .hm-row.picked").get_attribute("data-row") == "2"
    page.locator("#translate-heads input[type=checkbox]").nth(6).check()  # decoder 1 cross, head 1
    page.click("#translate-go")
    page.wait_for_function("document.getElementById('translate-logp').textContent.includes('decoder 1 cross head 1 off')")
    rows = page.locator("#translate-compare tr td:first-child").all_inner_texts()
    assert rows == ["the model's", "the model's with decoder 1 cross head 1 off"]
