"""The Embeddings page's API: the map is the library's pca_2d of the run's own wte, the neighbours are
the library's cosine neighbours, GPT-2's vocabulary is sent as a subset, and bad requests are one-line 400s."""

import json

import numpy as np
import pytest

from nn2gpt.gpt.runs import load_model
from nn2gpt.tokens.embeddings import display, neighbours, pca_2d, token_text

BIG = "wide/gpt2-12x12"


def library(runs_dir, name):
    """(wte, its pca_2d, the tokenizer) of a run, read as the command line reads it."""
    model, tok, _ = load_model(runs_dir / name)
    E = model.tok_emb.weight.detach().numpy()  # (V, C)
    return E, pca_2d(E), tok


def error(response) -> str:
    assert response.status_code == 400, response.text
    message = response.json()["error"]
    assert "\n" not in message and "Traceback" not in message
    return message


def test_the_map_is_the_library_s_pca_of_the_run_s_wte(client, runs_dir):
    E, m, tok = library(runs_dir, "gpt")
    answer = client.get("/api/embeddings/map", params={"run": "gpt"}).json()
    V, C = E.shape
    assert (answer["V"], answer["C"], answer["shown"]) == (V, C, V)  # a char model: every token
    np.testing.assert_allclose(answer["x"], m.coords[:, 0], rtol=1e-3, atol=1e-9)
    np.testing.assert_allclose(answer["y"], m.coords[:, 1], rtol=1e-3, atol=1e-9)
    np.testing.assert_allclose(answer["explained"], m.explained, atol=1e-4)
    assert answer["tokens"] == [display(token_text(tok, i)) for i in range(V)]
    assert answer["shapes"] == (f"wte ({V}, {C}) → 2 components; PC1 explains {100 * m.explained[0]:.1f}%, "
                                f"PC2 {100 * m.explained[1]:.1f}%")


def test_the_neighbours_are_the_library_s_by_id_and_by_text(client, runs_dir):
    E, m, tok = library(runs_dir, "gpt")
    e = tok.stoi["e"]
    by_id = client.post("/api/embeddings/neighbours", json={"run": "gpt", "id": e, "k": 7}).json()
    by_text = client.post("/api/embeddings/neighbours", json={"run": "gpt", "text": "e", "k": 7}).json()
    assert by_id == by_text and by_id["token"]["id"] == e and by_id["token"]["token"] == "e"
    expected = neighbours(E, e, 7)
    assert [n["id"] for n in by_id["neighbours"]] == [j for j, _ in expected]
    np.testing.assert_allclose([n["cos"] for n in by_id["neighbours"]], [s for _, s in expected], atol=1e-4)
    for n in by_id["neighbours"]:
        np.testing.assert_allclose([n["x"], n["y"]], m.coords[n["id"]], rtol=1e-3, atol=1e-9)
    ten = client.post("/api/embeddings/neighbours", json={"run": "gpt", "id": e}).json()
    assert len(ten["neighbours"]) == 10  # the default


def test_gpt2_s_vocabulary_is_sent_as_a_subset_and_a_token_beyond_it_brings_its_place(client, runs_dir):
    E, m, tok = library(runs_dir, BIG)
    response = client.get("/api/embeddings/map", params={"run": BIG})
    answer = response.json()
    assert (answer["V"], answer["shown"]) == (50257, 2000) and len(answer["x"]) == len(answer["tokens"]) == 2000
    assert len(response.content) < 100_000  # what the page draws, not 50,257 points
    np.testing.assert_allclose(answer["x"], m.coords[:2000, 0], rtol=1e-3, atol=1e-9)
    assert answer["tokens"][262] == "␣the"
    far = tok.encode(" pizza")
    assert len(far) == 1 and far[0] >= 2000
    near = client.post("/api/embeddings/neighbours", json={"run": BIG, "text": " pizza", "k": 5}).json()
    assert near["token"]["id"] == far[0] and near["token"]["token"] == "␣pizza"
    np.testing.assert_allclose([near["token"]["x"], near["token"]["y"]], m.coords[far[0]], rtol=1e-3, atol=1e-9)
    assert [n["id"] for n in near["neighbours"]] == [j for j, _ in neighbours(E, far[0], 5)]


@pytest.mark.parametrize("body,needle", [
    ({"run": "gpt", "id": 65}, "id must be a whole number from 0 to 64"),
    ({"run": "gpt", "id": "3"}, "id must be a whole number"),
    ({"run": "gpt", "id": 3, "k": 0}, "k must be a whole number from 1 to 50"),
    ({"run": "gpt", "text": ""}, "the token is empty"),
    ({"run": "gpt", "text": "ROMEO"}, "ROMEO becomes 5 tokens for this model: R (30), O (27)"),
    ({"run": "gpt", "text": "é"}, "é is no token of this model"),
    ({"run": "gpt", "text": 5}, "the token must be a text"),
    ({"run": "nested/translate", "id": 1}, "not a chapter-2 GPT"),
    ({"run": "no-such-run", "id": 1}, "no-such-run"),
])
def test_bad_neighbour_requests_are_one_line_400s(client, body, needle):
    assert needle in error(client.post("/api/embeddings/neighbours", json=body))


def test_bad_map_requests_are_one_line_400s(client):
    assert "not a chapter-2 GPT" in error(client.get("/api/embeddings/map", params={"run": "digits"}))
    error(client.get("/api/embeddings/map"))  # no run named
    assert json.loads(client.get("/api/embeddings/map", params={"run": "gpt"}).content)["V"] == 65
