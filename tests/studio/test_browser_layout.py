"""Layout measured in chromium: the training output keeps its last line in view, the lab report's tables
and the tabs fit a 390 px phone (they scroll inside their own box, and say so), and a box with nothing to
show yet stays hidden."""

import pytest

from tests.studio.test_browser_views import overflow

pytestmark = pytest.mark.slow  # trains, or drives processes or a browser, for seconds: `-m 'not slow'` leaves it out

# The page's EventSource replaced by one the test speaks through: lines arrive when the test says so
FAKE_EVENTS = """window.sources = [];
window.EventSource = class { constructor(url) { this.url = url; window.sources.push(this); } close() {} };"""
JOB = {"id": 999, "chapter": "gpt", "name": "fake", "status": "running", "seconds": 1, "command": "gpt train",
       "stopping": False, "saved": None, "events": 0, "step": None}


def say(page, *lines):
    page.evaluate("(lines) => { const s = window.sources.at(-1); for (const line of lines) "
                  "s.onmessage({data: JSON.stringify({type: 'log', line})}); }", list(lines))


def last_line_in_view(page) -> bool:
    """Whether the output's last line lies inside the part of the box that shows (inside its border)."""
    return page.evaluate("""(() => {
        const box = document.getElementById('train-log'), text = box.firstChild.data;
        const end = text.trimEnd().length, range = document.createRange();
        range.setStart(box.firstChild, text.lastIndexOf('\\n', end - 1) + 1);
        range.setEnd(box.firstChild, end);
        const line = range.getBoundingClientRect(), top = box.getBoundingClientRect().top + box.clientTop;
        return line.height > 0 && line.top >= top - 0.5 && line.bottom <= top + box.clientHeight + 0.5;
    })()""")


def test_the_output_follows_its_last_line_unless_the_reader_scrolled_up(page, studio):
    page.route("**/api/train", lambda route: route.fulfill(json={"job": JOB}))
    page.add_init_script(FAKE_EVENTS)
    page.goto(studio + "#train")
    page.wait_for_function("window.sources.length > 0")
    say(page, *[f"step {i}, {i} s of 60 s ({i}%), 10.0 step/s, loss 2.{i:04d} | 52,100 tok/s" for i in range(1, 12)])
    say(page, "time at step 1144: val loss 2.5179 (best 2.5179), 3.6326 bits per byte, in 60.3 s; run saved in "
              "runs/a-run-with-a-long-name", "sample it: nn2gpt gpt sample --model runs/a-run-with-a-long-name "
              "--prompt ROMEO:")
    box = page.locator("#train-log")
    assert box.evaluate("(b) => b.scrollHeight > b.clientHeight")  # more lines than the box shows
    assert last_line_in_view(page)  # "run saved" is in view, not below the box's edge
    box.evaluate("(b) => { b.scrollTop = 0; }")  # the reader goes back to an earlier line
    say(page, "step 12, 61 s of 60 s (100%), 10.0 step/s")
    assert box.evaluate("(b) => b.scrollTop") == 0 and not last_line_in_view(page)  # ... and stays there
    box.evaluate("(b) => { b.scrollTop = b.scrollHeight; }")  # back at the end, it follows again
    say(page, "step 13, 62 s of 60 s (100%), 10.0 step/s")
    assert last_line_in_view(page)


def test_the_lab_report_s_tables_scroll_in_their_own_box_on_a_phone(phone, studio):
    phone.goto(studio + "#lab")
    phone.wait_for_selector("#lab-report table")
    assert overflow(phone) <= 0  # the page is as wide as the screen
    boxes = phone.evaluate("[...document.querySelectorAll('#lab-report table')].map((t) => { const w = t.parentElement; "
                           "return [w.scrollWidth > w.clientWidth, getComputedStyle(w).overflowX, "
                           "w.getBoundingClientRect().right <= window.innerWidth]; })")
    assert boxes and all(style == "auto" and inside for _, style, inside in boxes)
    assert any(wide for wide, _, _ in boxes)  # a wide table is there, and it scrolls inside its box


def test_what_the_neuron_looks_for_shows_only_once_a_neuron_is_picked(page, studio):
    page.goto(studio + "#digits")
    page.wait_for_selector("#digits-run option", state="attached")
    assert page.locator("#digits-neuron").bounding_box() is None  # no empty frame on the blank page
    box = page.locator("#digits-canvas").bounding_box()
    page.mouse.move(box["x"] + 60, box["y"] + 40)
    page.mouse.down()
    for t in range(12):  # a stroke down the middle: a 1
        page.mouse.move(box["x"] + 60 + t, box["y"] + 40 + 14 * t)
    page.mouse.up()
    page.wait_for_selector("#digits-hidden div")
    assert page.locator("#digits-neuron").bounding_box() is None  # nor before a neuron is picked
    assert not page.locator("#digits-neuron").is_visible()
    page.locator("#digits-hidden div").nth(2).click()
    page.wait_for_selector("#digits-neuron", state="visible")
    assert page.locator("#digits-neuron").bounding_box()["height"] > 100


def test_every_tab_on_a_phone_is_in_view_or_the_nav_says_it_scrolls(phone, studio):
    phone.goto(studio + "#digits")
    phone.wait_for_selector("#digits-run option", state="attached")
    nav = phone.locator("#tabs")
    assert nav.evaluate("(n) => n.scrollWidth > n.clientWidth")  # six tabs are wider than 390 px
    faded = "(n) => getComputedStyle(n).maskImage !== 'none' || getComputedStyle(n).webkitMaskImage !== 'none'"
    assert nav.evaluate("(n) => n.classList.contains('more')") and nav.evaluate(faded)  # a fade: more to the right
    for link in phone.locator("#tabs a").all():
        link.evaluate("(a) => a.scrollIntoView({block: 'nearest', inline: 'nearest'})")  # a swipe along the nav
        phone.wait_for_timeout(50)
        # its whole label comes into view, clear of a fade (2.5rem) on a side with more tabs beyond it
        fits = link.evaluate("""(a) => {
            const r = a.getBoundingClientRect(), nav = a.parentElement, n = nav.getBoundingClientRect();
            const fade = 2.5 * parseFloat(getComputedStyle(document.documentElement).fontSize);
            const left = n.left + (nav.classList.contains('less') ? fade : 0);
            const right = n.right - (nav.classList.contains('more') ? fade : 0);
            return r.left >= left - 0.5 && r.right <= right + 0.5 && r.right <= innerWidth && a.scrollWidth <= a.clientWidth;
        }""")
        assert fits, link.inner_text()
    # at the end no fade is left on the right (the last tab reads whole), one on the left says where the rest went
    assert not nav.evaluate("(n) => n.classList.contains('more')") and nav.evaluate("(n) => n.classList.contains('less')")
    phone.goto(studio + "#lab")  # the page opened on the last tab: that tab is the one in view
    phone.wait_for_selector("#tabs a.active")
    assert phone.locator("#tabs a.active").evaluate(
        "(a) => { const r = a.getBoundingClientRect(); return r.left >= 0 && r.right <= innerWidth; }")
