"""The Embeddings page in chromium, at 1280x900 and on a 390x844 phone: the map of a run's wte is
drawn, hovering a point shows its token, clicking it lists its nearest tokens (the API's), a token
found by its text joins GPT-2's map, and nothing is wider than the screen."""

import pytest

from nn2gpt.gpt.runs import load_model

pytestmark = pytest.mark.slow  # trains, or drives processes or a browser, for seconds: `-m 'not slow'` leaves it out

BIG = "wide/gpt2-12x12"


def open_map(page, studio, run="gpt"):
    page.goto(studio + "#embeddings")
    page.wait_for_selector("#emb-run option", state="attached")
    page.select_option("#emb-run", run)
    page.wait_for_function("document.getElementById('emb-shapes').textContent.startsWith('wte (')")
    page.wait_for_selector("#emb-map circle")


def overflow(page) -> int:
    """How many px the page is wider than its window (0: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_hover_shows_a_token_and_a_click_lists_its_neighbours(page, studio, client, runs_dir):
    open_map(page, studio)
    _, tok, _ = load_model(runs_dir / "gpt")
    assert page.locator("#emb-map circle").count() == tok.vocab_size  # a char model: every token a point
    assert page.locator("#emb-map text.dot").count() == tok.vocab_size  # and every one labelled
    assert page.locator("#emb-map text.axis").all_text_contents()[0].startswith("PC1 (")
    assert "PC1 explains" in page.inner_text("#emb-shapes") and page.inner_text("#emb-subset") == "All 65 tokens."
    e = tok.stoi["e"]
    point = page.locator(f"#emb-map circle[data-id='{e}']")
    point.hover()
    assert page.inner_text("#emb-hover").startswith(f"e · id {e} · (")
    point.click()
    page.wait_for_selector("#emb-neighbours .row")
    expected = client.post("/api/embeddings/neighbours", json={"run": "gpt", "id": e}).json()
    rows = page.locator("#emb-neighbours .row code").all_inner_texts()
    assert rows == [n["token"] for n in expected["neighbours"]]
    assert page.locator("#emb-map circle.near").count() == 10 and page.locator("#emb-map circle.picked").count() == 1
    assert page.inner_text("#emb-title") == f"Nearest to e (id {e}) by cosine"
    first = expected["neighbours"][0]
    page.locator("#emb-neighbours .row").first.click()  # a neighbour opens in its turn
    page.wait_for_function(f"document.getElementById('emb-title').textContent.includes('(id {first['id']})')")
    assert overflow(page) <= 0


def test_gpt2_s_map_is_a_subset_and_a_found_token_joins_it(page, studio):
    open_map(page, studio, BIG)
    assert page.locator("#emb-map circle").count() == 2000
    assert "first 2,000 of the 50,257 tokens" in page.inner_text("#emb-subset")
    page.fill("#emb-find", " pizza")
    page.click("#emb-find-go")
    page.wait_for_selector("#emb-map circle.picked")
    assert page.inner_text("#emb-title").startswith("Nearest to ␣pizza (id ")
    assert page.locator("#emb-map circle").count() > 2000  # the token and its neighbours beyond the subset
    page.fill("#emb-find", "pizza oven")
    page.click("#emb-find-go")
    page.wait_for_selector("#emb-error:not([hidden])")
    assert "becomes" in page.inner_text("#emb-error") and "tokens for this model" in page.inner_text("#emb-error")


def test_the_map_on_a_phone(phone, studio, runs_dir):
    open_map(phone, studio)
    assert overflow(phone) <= 0
    box = phone.locator("#emb-map").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    _, tok, _ = load_model(runs_dir / "gpt")
    point = phone.locator(f"#emb-map circle[data-id='{tok.stoi['a']}']")
    point.tap()  # touch: no hover, the tap says which token and opens it
    phone.wait_for_selector("#emb-neighbours .row")
    assert phone.inner_text("#emb-hover").startswith(f"a · id {tok.stoi['a']} · (")
    assert overflow(phone) <= 0
    sizes = phone.evaluate("[...document.querySelectorAll('#emb-map text')]"
                           ".map((t) => t.getBoundingClientRect().height)")
    assert sizes and min(sizes) >= 9  # labels keep their size on a phone
