"""One screenshot of each studio page, made on real runs, for the README (see studio_bench.py).

Each page is used as a learner would use it: a 7 drawn with the mouse, a generated text with one
position opened, the pizza sentence translated with "sabía" picked, a live run stopped after a few
evaluations, the dot-product toy at head size 256.
"""

from __future__ import annotations

from pathlib import Path


def _draw_seven(page) -> None:
    box = page.locator("#digits-canvas").bounding_box()
    x, y = box["x"], box["y"]
    page.mouse.move(x + 60, y + 60)
    page.mouse.down()
    for t in range(11):
        page.mouse.move(x + 60 + 16 * t, y + 60)
    for t in range(11):
        page.mouse.move(x + 220 - 10 * t, y + 60 + 18 * t)
    page.mouse.up()
    page.wait_for_function("document.getElementById('digits-verdict').dataset.state === 'done'")


def take_screenshots(browser, base: str, out: Path, train_seconds: int = 40) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1,
                                  bypass_csp=True)  # for wait_for_function's evaluated strings
    page = context.new_page()
    shots = []

    def shot(name: str, full: bool = False) -> None:
        path = out / f"{name}.png"
        page.screenshot(path=str(path), full_page=full)
        shots.append(path)

    page.goto(base + "#digits")
    page.wait_for_selector("#digits-run option", state="attached")
    _draw_seven(page)
    page.wait_for_selector("#digits-gallery figure")
    shot("digits")

    page.goto(base + "#gpt")
    page.wait_for_selector("#gpt-run option", state="attached")
    page.fill("#gpt-max", "240")
    page.click("#gpt-generate")
    page.wait_for_function("document.getElementById('gpt-speed').textContent.includes('tokens/s')")
    page.locator("#gpt-text span").nth(60).click()
    page.wait_for_selector("#gpt-attention .hm-row")
    page.locator("#gpt-inspect").scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 150)")
    shot("gpt")

    page.goto(base + "#translate")
    page.wait_for_function("document.querySelector('#translate-run option') || "
                           "!document.getElementById('translate-empty').hidden")
    if page.locator("#translate-empty").is_hidden():
        page.wait_for_function("document.getElementById('translate-sentence').value.length > 0")
        page.click("#translate-go")
        page.wait_for_selector("#translate-cross .hm-row")
        page.fill("#translate-mine", "The pizza came out of the oven and knew well.")
        page.click("#translate-score")
        page.wait_for_selector("#translate-compare tr:nth-child(2)")
        page.evaluate("window.scrollTo(0, 180)")
        shot("translate")

    page.goto(base + "#train")
    page.wait_for_function("/^gpt-live-\\d+$/.test(document.getElementById('train-name').value)")
    page.fill("#train-seconds", str(train_seconds))
    page.click("#train-start")
    page.wait_for_function("document.querySelectorAll('#train-curve circle').length >= 4", timeout=120_000)
    page.wait_for_function("document.getElementById('train-sample').textContent.length > 0", timeout=60_000)
    shot("train")
    page.click("#train-stop")
    page.wait_for_function("/: (stopped|finished)/.test(document.getElementById('train-status').textContent)", timeout=60_000)

    page.goto(base + "#lab")
    page.select_option("#toy-score", "dot")
    page.locator("#toy-size").fill("8")
    page.wait_for_function("document.getElementById('toy-summary').textContent.includes('mean entropy')")
    page.wait_for_timeout(300)
    shot("lab")
    context.close()
    return shots
