"""Runs that change under the page, in chromium: a run deleted, or trained again, while a view shows it
clears (or redraws) what came from the old model and says so in one line; a misclassified test digit goes
through the network when clicked; translate's tries name their heads; the entropy bars sit on their rows.
Each test that damages a run works on a copy of the shared one."""

import shutil
import time

import pytest

from nn2gpt.digits.model import load_model, save_model
from tests.studio.conftest import draw_seven

pytestmark = pytest.mark.slow  # trains, or drives processes or a browser, for seconds: `-m 'not slow'` leaves it out

POLL = 12_000  # ms: the page reads its runs again every 4 s


def delete(run, runs_dir):
    """The run deleted at once: moved out of the runs folder, then removed (a list read while rmtree is
    halfway would rightly see a folder that "holds no trained model now")."""
    import tempfile
    from pathlib import Path

    away = Path(tempfile.mkdtemp(dir=runs_dir.parent))
    run.rename(away / run.name)
    shutil.rmtree(away)


def read(page):
    page.wait_for_function("document.querySelector('#digits-verdict b') !== null && "
                           "document.getElementById('digits-verdict').dataset.state === 'done'")
    return page.locator("#digits-output .bar span").all_inner_texts()


def open_digits(page, studio, run):
    page.goto(studio + "#digits")
    page.wait_for_selector(f"#digits-run option[value='{run}']", state="attached")
    page.select_option("#digits-run", run)


def test_a_digits_run_deleted_while_open_clears_every_view_and_stops_asking(page, studio, runs_dir):
    copy = runs_dir / "digits-doomed"
    shutil.copytree(runs_dir / "digits", copy)
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/api/digits/predict" in r.url else None)
    try:
        open_digits(page, studio, "digits-doomed")
        draw_seven(page)
        assert len(read(page)) == 10 and page.locator("#digits-hidden div").count() == 30
        delete(copy, runs_dir)
        draw_seven(page, 12)  # a stroke after the run went
        page.wait_for_selector("#view-digits .runnote:not([hidden])")
        assert page.inner_text("#view-digits .runnote") == "the run 'digits-doomed' was deleted — pick another run"
        assert page.input_value("#digits-run") == "" and "digits-doomed" not in \
            page.locator("#digits-run option").all_inner_texts()
        # nothing of the deleted network is left: no input, hidden layer, outputs or verdict
        assert page.locator("#digits-hidden div").count() == 0 and page.locator("#digits-output .bar").count() == 0
        assert page.locator("#digits-verdict b").count() == 0 and page.locator("#digits-gallery figure").count() == 0
        blank = page.evaluate("(() => { const c = document.getElementById('digits-input'); return c.getContext('2d')"
                              ".getImageData(0, 0, c.width, c.height).data.every((v) => v === 0); })()")
        assert blank
        before = len(asked)
        draw_seven(page, 24)
        time.sleep(0.5)
        assert len(asked) == before  # no request for a run that is gone
        page.select_option("#digits-run", "digits")  # picking another run reads the drawing with it
        assert len(read(page)) == 10 and page.locator("#view-digits .runnote").is_hidden()
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def test_a_digits_run_trained_again_is_drawn_again_with_its_new_weights(page, studio, runs_dir):
    copy = runs_dir / "digits-again"
    shutil.copytree(runs_dir / "digits", copy)
    try:
        open_digits(page, studio, "digits-again")
        draw_seven(page)
        first = read(page)
        verdict = page.inner_text("#digits-verdict")
        net, config = load_model(copy)
        net.weights[-1] = -net.weights[-1]  # another network written into the same folder
        save_model(net, copy, {k: v for k, v in config.items() if k != "sizes"})
        page.wait_for_selector("#view-digits .runnote:not([hidden])", timeout=POLL)  # found without a stroke
        assert page.inner_text("#view-digits .runnote") == \
            "the run 'digits-again' was trained again since this page was drawn — drawn again with the new weights"
        page.wait_for_function(f"document.getElementById('digits-verdict').innerText !== {verdict!r}")
        assert read(page) != first  # the bars are the new network's
        assert page.inner_text("#digits-output .bar.top b") == page.inner_text("#digits-verdict b")  # and agree with it
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def test_a_gpt_run_trained_again_drops_the_position_it_showed(page, studio, runs_dir):
    copy = runs_dir / "gpt-again"
    shutil.copytree(runs_dir / "gpt", copy)
    try:
        page.goto(studio + "#gpt")
        page.wait_for_selector("#gpt-run option[value='gpt-again']", state="attached")
        page.select_option("#gpt-run", "gpt-again")
        page.fill("#gpt-max", "20")
        page.click("#gpt-generate")
        page.wait_for_function("document.getElementById('gpt-speed').textContent.includes('tokens/s')")
        page.locator("#gpt-text span").nth(8).click()
        page.wait_for_selector("#gpt-attention .hm-row")
        weights = copy / (copy / "latest").read_text().strip() / "weights.safetensors"
        weights.write_bytes(weights.read_bytes())  # the checkpoint rewritten: trained again
        page.wait_for_selector("#view-gpt .runnote:not([hidden])", timeout=POLL)
        assert page.inner_text("#view-gpt .runnote") == ("the run 'gpt-again' was trained again since this text was "
                                                         "generated — click a character to read it with the new weights")
        assert page.locator("#gpt-inspect").is_hidden()  # no numbers of the old weights under the run's name
        assert page.evaluate("[...document.querySelectorAll('#gpt-text span')].every((s) => !s.style.background)")
        page.locator("#gpt-text span").nth(8).click()  # read again: the new weights answer
        page.wait_for_selector("#gpt-inspect:not([hidden]) #gpt-attention .hm-row")
        assert page.locator("#gpt-error").is_hidden()
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def test_a_misclassified_test_digit_clicked_goes_through_the_network(page, studio):
    page.goto(studio + "#digits")
    page.wait_for_selector("#digits-gallery figure button")
    caption = page.locator("#digits-gallery figcaption").nth(1).inner_text()  # "3 → 8"
    label, predicted = caption.split(" → ")
    page.locator("#digits-gallery figure button").nth(1).focus()
    page.keyboard.press("Enter")  # the keyboard opens it as a click does
    page.wait_for_function("document.getElementById('digits-verdict').textContent.startsWith('Test digit')")
    assert f", a {label}: the network says {predicted} (" in page.inner_text("#digits-verdict")
    assert page.locator("#digits-hidden div").count() == 30
    bars = page.locator("#digits-output .bar")
    assert bars.count() == 10 and page.locator("#digits-output .bar.top b").inner_text() == predicted
    ink = page.evaluate("(() => { const c = document.getElementById('digits-input'); return c.getContext('2d')"
                        ".getImageData(0, 0, c.width, c.height).data.some((v, i) => i % 4 === 0 && v > 128); })()")
    assert ink  # its 784 inputs drawn
    box = page.locator("#digits-input").bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= 900  # the network in view, not the gallery under it


def test_translate_s_tries_name_their_heads_and_the_keyboard_reaches_translate(page, studio):
    page.goto(studio + "#translate")
    page.wait_for_function("document.getElementById('translate-sentence').value.length > 0")
    assert "val loss" in page.inner_text("#translate-summary")  # how trained the model is, beside its name
    page.click("#translate-go")
    page.wait_for_selector("#translate-heads input")
    page.locator("#translate-enc-tokens span").nth(1).click()
    token = page.locator("#translate-enc-tokens span").nth(1).inner_text()
    assert page.inner_text("#translate-enc .hm-readout").startswith(f"{token} → ")  # filled by the click
    page.focus("#translate-go")
    for _ in range(200):  # Tab alone, to the heads
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('#translate-heads') !== null"):
            break
    for key in ("ArrowDown", "ArrowRight", "Space"):  # encoder 2 self, head 2: ticked
        page.keyboard.press(key)
    page.keyboard.press("Tab")  # the grid is one stop: the next one translates
    assert page.evaluate("document.activeElement.id") == "translate-heads-go"
    for _ in range(3):  # the same try three times: one row
        page.keyboard.press("Enter")
        page.wait_for_function("document.getElementById('translate-logp').textContent.includes('encoder 2 self head 2 off')"
                               " && !document.getElementById('translate-go').disabled")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.dataset.key") == "1,1"  # back on the head it ticked
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    page.keyboard.press("Enter")  # Enter on a head translates at once
    page.wait_for_function("document.querySelectorAll('#translate-compare tr').length === 3")
    assert page.locator("#translate-compare tr td:first-child").all_inner_texts() == [
        "the model's", "the model's with encoder 2 self head 2 off",
        "the model's with encoder 2 self head 2; decoder 1 self head 1 off"]
    assert page.evaluate("document.activeElement.dataset.key") == "2,0"  # focus stays on the grid


def test_a_lab_run_again_shows_its_new_report_and_deleted_clears_it(page, studio, runs_dir):
    copy = runs_dir / "lab-doomed"
    shutil.copytree(runs_dir / "lab", copy)
    # the first run's report, asked as the page opens, answers after the one picked next: it is dropped, and
    # what the picked run's answer drew stays
    page.add_init_script("""const plain = window.fetch;
        window.fetch = async (url, ...rest) => {
            const answer = await plain(url, ...rest);
            if (String(url).endsWith("api/lab/report?run=lab")) await new Promise((r) => setTimeout(r, 1500));
            return answer;
        };""")
    try:
        page.goto(studio + "#lab")
        page.wait_for_selector("#lab-run option[value='lab-doomed']", state="attached")
        page.select_option("#lab-run", "lab-doomed")
        page.wait_for_selector("#lab-report table")
        page.wait_for_timeout(2000)
        assert page.locator("#lab-report table").count() > 0, "a late answer for another run cleared the report"
        report = copy / "REPORT.md"
        report.write_text("# The lab, run again\n\nA new report.\n", encoding="utf-8")  # as `lab run` rewrites it
        page.wait_for_function("document.getElementById('lab-report').textContent.includes('A new report.')",
                               timeout=POLL)
        assert page.inner_text("#view-lab .runnote") == ("the run 'lab-doomed' was trained again since its report "
                                                         "was shown — its new report is shown")
        assert page.locator("#lab-report table").count() == 0   # nothing of the old report is left
        delete(copy, runs_dir)
        page.wait_for_function("document.querySelector('#view-lab .runnote').textContent.includes('was deleted')",
                               timeout=POLL)
        assert page.inner_text("#view-lab .runnote") == "the run 'lab-doomed' was deleted — pick another run"
        assert page.input_value("#lab-run") == "" and page.inner_text("#lab-report").strip() == ""
        assert page.locator("#lab-error").is_hidden()
        page.select_option("#lab-run", "lab")   # another run: its report, and the note goes
        page.wait_for_selector("#lab-report table")
        assert page.locator("#view-lab .runnote").is_hidden()
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def test_the_entropy_bars_sit_on_their_query_rows(page, studio):
    page.goto(studio + "#lab")
    page.wait_for_selector("#toy-entropy .row")
    drift = page.evaluate("""(() => {
        const mid = (e) => { const r = e.getBoundingClientRect(); return r.top + r.height / 2; };
        const rows = [...document.querySelectorAll('#toy-map .hm-row')], bars = [...document.querySelectorAll('#toy-entropy .row')];
        return rows.length === 8 && bars.length === 8 ? Math.max(...rows.map((r, i) => Math.abs(mid(r) - mid(bars[i])))) : 1e9;
    })()""")
    assert drift <= 2


def test_the_digits_training_log_keeps_its_last_line_in_view(phone, studio):
    """The book's network trained from the page (its start and its lines faked: no real run), on a phone,
    where long lines wrap: the log box shows its newest line."""
    phone.add_init_script("""window.sources = [];
        window.EventSource = class { constructor(url) { this.url = url; window.sources.push(this); } close() {} };""")
    phone.route("**/api/train/start", lambda route: route.fulfill(json={"id": 1, "name": "digits-2", "status": "running"}))
    phone.goto(studio + "#digits")
    phone.wait_for_selector("#digits-run option", state="attached")
    phone.click("#digits-train")
    phone.wait_for_function("window.sources.length === 1")
    for i in range(12):
        phone.evaluate("(i) => window.sources[0].onmessage({data: JSON.stringify({type: 'log', line: "
                       "`epoch ${i}: validation accuracy 9${i}.00% (a long line that wraps on a phone's screen)`})})", i)
    seen = phone.evaluate("""(() => {
        const box = document.getElementById('digits-log'), text = box.firstChild.data, end = text.trimEnd().length;
        const range = document.createRange();
        range.setStart(box.firstChild, text.lastIndexOf('\\n', end - 1) + 1);
        range.setEnd(box.firstChild, end);
        const line = range.getBoundingClientRect(), top = box.getBoundingClientRect().top + box.clientTop;
        return [box.scrollHeight > box.clientHeight, line.top >= top - 0.5 && line.bottom <= top + box.clientHeight + 0.5,
                text.trimEnd().endsWith("epoch 11: validation accuracy 911.00% (a long line that wraps on a phone's screen)")];
    })()""")
    assert seen == [True, True, True]  # it overflows, and its newest line is the one in view


def test_a_translate_run_trained_again_translates_again_and_deleted_clears(page, studio, runs_dir):
    copy = runs_dir / "nested" / "doomed"
    shutil.copytree(runs_dir / "nested" / "translate", copy)
    try:
        page.goto(studio + "#translate")
        page.wait_for_selector("#translate-run option[value='nested/doomed']", state="attached")
        page.select_option("#translate-run", "nested/doomed")
        page.wait_for_function("document.getElementById('translate-sentence').value.length > 0")
        page.click("#translate-go")
        page.wait_for_selector("#translate-heads input")
        page.locator("#translate-heads input").nth(0).check()
        page.click("#translate-heads-go")
        page.wait_for_function("document.querySelectorAll('#translate-compare tr').length === 2")
        weights = copy / (copy / "latest").read_text().strip() / "weights.safetensors"
        weights.write_bytes(weights.read_bytes())  # trained again
        page.wait_for_selector("#view-translate .runnote:not([hidden])", timeout=POLL)
        assert page.inner_text("#view-translate .runnote") == ("the run 'nested/doomed' was trained again since this "
                                                               "was translated — translated again with the new weights")
        page.wait_for_function("document.querySelectorAll('#translate-compare tr').length === 1")  # the old tries went
        assert page.locator("#translate-compare td").first.inner_text() == "the model's"
        assert page.locator("#translate-heads input:checked").count() == 0
        delete(copy, runs_dir)
        page.wait_for_function("document.querySelector('#view-translate .runnote').textContent.includes('deleted')",
                               timeout=POLL)
        assert page.inner_text("#view-translate .runnote") == "the run 'nested/doomed' was deleted — pick another run"
        assert page.locator("#translate-result").is_hidden() and page.input_value("#translate-run") == ""
        assert page.inner_text("#translate-summary") == ""
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def test_an_embeddings_map_is_drawn_again_when_its_run_is_trained_again_and_cleared_when_deleted(page, studio,
                                                                                                  runs_dir):
    copy = runs_dir / "emb-again"
    shutil.copytree(runs_dir / "gpt", copy)
    try:
        page.goto(studio + "#embeddings")
        page.wait_for_selector("#emb-run option[value='emb-again']", state="attached")
        page.select_option("#emb-run", "emb-again")
        page.wait_for_function("document.getElementById('emb-shapes').textContent.startsWith('wte (')")
        page.locator("#emb-map circle[data-id='3']").click()
        page.wait_for_selector("#emb-neighbours .row")
        weights = copy / (copy / "latest").read_text().strip() / "weights.safetensors"
        weights.write_bytes(weights.read_bytes())  # the checkpoint rewritten: trained again
        page.wait_for_selector("#view-embeddings .runnote:not([hidden])", timeout=POLL)
        assert page.inner_text("#view-embeddings .runnote") == ("the run 'emb-again' was trained again since this "
                                                                "map was drawn — drawn again with the new weights")
        page.wait_for_function("document.getElementById('emb-shapes').textContent.startsWith('wte (')")
        assert page.locator("#emb-map circle").count() > 0  # the new weights' map
        assert page.locator("#emb-neighbours .row").count() == 0  # the old weights' neighbours are gone
        delete(copy, runs_dir)
        page.wait_for_function("document.querySelector('#view-embeddings .runnote').textContent.includes('deleted')",
                               timeout=POLL)
        assert page.inner_text("#view-embeddings .runnote") == "the run 'emb-again' was deleted — pick another run"
        assert page.input_value("#emb-run") == "" and page.locator("#emb-map circle").count() == 0
        assert page.inner_text("#emb-shapes") == "" and page.locator("#emb-neighbours .row").count() == 0
    finally:
        shutil.rmtree(copy, ignore_errors=True)
