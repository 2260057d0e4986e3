"""The studio in a real browser: Debian's chromium driven by Playwright, against `nn2gpt studio` started
as a user starts it. `make test` installs chromium; a missing browser fails here, it is never skipped.
A failed test (every test, with NN2GPT_SCREENSHOTS=1) saves a screenshot of its page under the
test's temporary folder."""

import pytest

from nn2gpt.gpt.runs import load_model
from tests.studio.conftest import draw_seven

pytestmark = pytest.mark.slow  # trains, or drives processes or a browser, for seconds: `-m 'not slow'` leaves it out


def test_draw_a_seven_with_the_mouse(page, studio):
    page.goto(studio + "#digits")
    page.wait_for_selector("#digits-run option", state="attached")
    draw_seven(page)
    page.wait_for_function("document.querySelector('#digits-verdict b') !== null && "
                           "document.getElementById('digits-verdict').dataset.state === 'done'")  # the whole 7
    assert page.locator("#digits-verdict b").inner_text() == "7"
    assert page.locator("#digits-hidden div").count() == 30  # the book's 30 hidden neurons
    assert page.locator("#digits-output .bar").count() == 10
    page.wait_for_selector("#digits-gallery figure")


def test_generate_streams_and_a_click_opens_the_attention(page, studio):
    page.goto(studio + "#gpt")
    page.wait_for_selector("#gpt-run option", state="attached")
    page.evaluate("""() => { window.appended = 0;
        new MutationObserver((ms) => { for (const m of ms) window.appended += m.addedNodes.length; })
          .observe(document.getElementById('gpt-text'), {childList: true}); }""")
    page.fill("#gpt-max", "200")
    page.click("#gpt-generate")
    page.wait_for_function("document.getElementById('gpt-speed').textContent.includes('tokens/s')")
    assert page.evaluate("window.appended") > 200  # 200 pieces arrived one by one, then the token spans
    assert page.locator("#gpt-text span").count() == len("ROMEO:") + 200
    page.locator("#gpt-text span").nth(40).click()
    page.wait_for_selector("#gpt-attention .hm-row")
    assert page.locator("#gpt-attention .hm-row").count() == 2 * 2  # layers x heads of the test's model
    assert page.locator("#gpt-next .row").count() in (10, 11)  # the top 10, and the token that came next if not in it
    assert page.locator("#gpt-next .row.marked").count() == 1
    assert page.locator("#gpt-attention .hm-row").first.locator(".hm-cell").count() == 32  # the block it reads


def test_translate_shows_cross_attention_with_subword_labels(page, studio, client):
    page.goto(studio + "#translate")
    page.wait_for_selector("#translate-run option", state="attached")
    page.wait_for_function("document.getElementById('translate-sentence').value.length > 0")
    sentence = page.input_value("#translate-sentence")
    assert "pizza" in sentence  # preloaded for an es-en model
    page.click("#translate-go")
    page.wait_for_selector("#translate-cross .hm-row")
    expected = client.post("/api/translate", json={"run": "nested/translate", "sentence": sentence, "beam": 4}).json()
    columns = page.locator("#translate-cross .hm-cols span").all_inner_texts()
    rows = page.locator("#translate-cross .hm-label").all_inner_texts()
    assert columns == expected["source"] and rows == expected["target"]
    assert page.locator("#translate-enc-tokens span").count() == len(expected["source"])


def test_train_live_gains_points_and_stop_saves(page, studio, runs_dir):
    page.goto(studio + "#train")
    page.wait_for_function("/^gpt-live-\\d+$/.test(document.getElementById('train-name').value)")  # a free name
    page.fill("#train-name", "browser-live")
    page.fill("#train-layers", "1")
    page.fill("#train-width", "16")  # the smallest model: steps and points come fast
    page.fill("#train-seconds", "1800")  # far more than the test waits: only Stop ends this run
    page.click("#train-start")
    page.wait_for_function("document.querySelectorAll('#train-curve circle').length >= 1", timeout=90_000)
    points = page.locator("#train-curve circle").count()
    page.wait_for_function(f"document.querySelectorAll('#train-curve circle').length > {points}", timeout=60_000)
    page.click("#train-stop")
    page.wait_for_function("document.getElementById('train-status').textContent.startsWith('browser-live: stopped')",
                           timeout=60_000)
    model, _, config = load_model(runs_dir / "browser-live")  # the checkpoint Stop saved loads
    assert config["model"]["n_layer"] == 1


def test_the_lab_toy_and_report(page, studio):
    page.goto(studio + "#lab")
    page.wait_for_selector("#toy-map .hm-row")
    assert page.locator("#toy-map .hm-row").count() == 8
    page.select_option("#toy-score", "dot")
    page.locator("#toy-size").fill("8")  # head size 256
    page.wait_for_function("document.getElementById('toy-size-value').textContent === '256'")
    page.wait_for_function("document.getElementById('toy-summary').textContent.startsWith('mean entropy 0.')")
    page.wait_for_selector("#lab-report table")


def test_the_pages_run_under_their_own_policy(browser, studio):
    """Without bypass: every view works under the Content-Security-Policy and logs no error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    for view, ready in (("digits", "#digits-gallery figure"), ("gpt", "#gpt-shapes tr"), ("embeddings", "#emb-map circle"),
                        ("translate", "#translate-run option"), ("train", "#train-curve line"),
                        ("lab", "#lab-report table")):
        page.goto(f"{studio}#{view}")
        page.wait_for_selector(ready, state="attached")
    context.close()
    assert not errors, errors
