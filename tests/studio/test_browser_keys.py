"""The GPT page's text by the keyboard alone, in chromium: it is one tab stop; ArrowLeft and ArrowRight move
one token, ArrowUp and ArrowDown to the token on the line above or below nearest by x (the same column of a
monospaced text, or the end of a shorter line), across written newlines and lines the page wraps; Enter opens
the token the keyboard is on."""

import pytest

from tests.studio.conftest import open_page

pytestmark = pytest.mark.slow  # trains, or drives processes or a browser, for seconds: `-m 'not slow'` leaves it out

LINES = ["ROMEO:", "But soft, what light", "through yonder window breaks?", "It is the east, and Juliet is the sun."]


def generated(page, studio, prompt: str) -> None:
    page.goto(studio + "#gpt")
    page.wait_for_selector("#gpt-run option", state="attached")
    page.select_option("#gpt-run", "gpt")
    page.fill("#gpt-prompt", prompt)
    page.fill("#gpt-max", "1")
    page.focus("#gpt-generate")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('gpt-speed').textContent.includes('tokens/s')")
    page.focus("#gpt-generate")
    page.keyboard.press("Tab")  # into the text: one tab stop, on its first token
    assert page.evaluate("document.activeElement.parentElement.id") == "gpt-text"


def focused(page) -> int:
    return int(page.evaluate("document.activeElement.dataset.i"))


def test_up_and_down_move_a_line_in_the_same_column(page, studio):
    generated(page, studio, "\n".join(LINES))
    start = [sum(len(l) + 1 for l in LINES[:k]) for k in range(len(LINES))]  # each line's first token (one a character)
    assert "".join(page.locator("#gpt-text span").all_inner_texts()).startswith(LINES[0])
    assert focused(page) == 0
    page.keyboard.press("ArrowDown")
    assert focused(page) == start[1]  # "B", under "R"
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    assert focused(page) == start[1] + 4  # "s" of "soft"
    want = [("ArrowDown", start[2] + 4), ("ArrowDown", start[3] + 4), ("ArrowDown", start[3] + 4),  # the last line
            ("ArrowUp", start[2] + 4), ("ArrowUp", start[1] + 4), ("ArrowUp", 4), ("ArrowUp", 4)]  # the first line
    for key, i in want:
        page.keyboard.press(key)
        assert focused(page) == i, key
    for key in ["ArrowDown", "ArrowDown"] + ["ArrowRight"] * 21:
        page.keyboard.press(key)
    assert focused(page) == start[2] + 25  # column 25 of the third line, past the end of the second
    page.keyboard.press("ArrowUp")
    assert focused(page) == start[2] - 1  # the second line's newline, its last token
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.getElementById('gpt-next-title').textContent.includes('position {start[2] + 20}')")
    assert focused(page) == start[2] + 20  # under the newline's ⏎, in column 20


@pytest.mark.parametrize("width", [390])
def test_up_and_down_follow_the_lines_the_page_wraps(browser, tmp_path, studio, width):
    for page in open_page(browser, tmp_path, width, 844, touch=True):
        generated(page, studio, "But soft, what light through yonder window breaks? It is the east. " * 3)
        box = lambda: page.evaluate("""() => { const r = document.activeElement.getBoundingClientRect();
            return [r.left + r.width / 2, r.top, r.width, parseFloat(getComputedStyle(document.activeElement).lineHeight)]; }""")
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        x0, top0, w, line = box()
        for _ in range(3):
            page.keyboard.press("ArrowDown")
            x, top, _, _ = box()
            assert 0.5 * line < top - top0 < 1.5 * line  # one line down
            assert abs(x - x0) <= w / 2 + 0.5  # the same column (the text is monospaced)
            top0 = top
        i = focused(page)
        page.keyboard.press("ArrowUp")
        x, top, _, _ = box()
        assert focused(page) < i and 0.5 * line < top0 - top < 1.5 * line and abs(x - x0) <= w / 2 + 0.5
