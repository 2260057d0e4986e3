"""nn2gpt.tokens.embeddings against a naive implementation (a loop over the rows for the cosines,
numpy's eigh of the covariance for PCA) and against hand-made matrices whose answer is known."""

import numpy as np
import pytest

from nn2gpt.errors import UserError
from nn2gpt.tokens.embeddings import check_id, cosines, display, neighbours, one_token, pca_2d, token_text


def naive_neighbours(E, i, k):
    """Every other row's cosine with row i, one by one, sorted by similarity then id."""
    found = []
    for j in range(len(E)):
        if j != i:
            a, b = np.asarray(E[i], float), np.asarray(E[j], float)
            found.append((j, float(a @ b / (np.sqrt(a @ a) * np.sqrt(b @ b)))))
    return sorted(found, key=lambda f: (-f[1], f[0]))[:k]


def naive_pca(E):
    """The two largest eigenvectors of the covariance, and their share of its trace."""
    X = np.asarray(E, float) - np.mean(E, axis=0)
    values, vectors = np.linalg.eigh(X.T @ X / (len(X) - 1))  # ascending
    top = np.argsort(values)[::-1][:2]
    return vectors[:, top].T, values[top] / values.sum(), X


def random_embeddings(V=60, C=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(V, C)) * np.linspace(3, 0.5, C)  # spreads that differ by direction


@pytest.mark.parametrize("i,k", [(0, 1), (7, 5), (59, 59)])
def test_neighbours_are_the_naive_loop_s(i, k):
    E = random_embeddings()
    got, want = neighbours(E, i, k), naive_neighbours(E, i, k)
    assert [j for j, _ in got] == [j for j, _ in want]
    assert np.allclose([s for _, s in got], [s for _, s in want], atol=1e-12)
    assert i not in [j for j, _ in got]  # never itself


def test_neighbours_of_a_hand_made_matrix():
    E = np.array([[1.0, 0], [2, 0.2], [0, 3], [-1, 0], [0.5, 0.5]])
    got = neighbours(E, 0, 4)
    assert [j for j, _ in got] == [1, 4, 2, 3]  # nearly the same way, 45°, a right angle, opposite
    assert np.allclose([s for _, s in got], [2 / np.sqrt(4.04), np.sqrt(0.5), 0, -1])
    # only the direction counts: a row 100 times longer has the same neighbours
    longer = E.copy()
    longer[1] *= 100
    again = neighbours(longer, 0, 4)
    assert [j for j, _ in again] == [j for j, _ in got] and np.allclose([s for _, s in again], [s for _, s in got])


def test_ties_go_by_id_and_a_row_of_zeros_has_cosine_0():
    E = np.array([[1.0, 0], [0, 1], [0, -1], [0, 0], [3, 0]])
    assert [j for j, _ in neighbours(E, 0, 4)] == [4, 1, 2, 3]  # 1, 2 and 3 all have cosine 0: by id
    assert np.all(cosines(E, 3) == 0)


def test_bad_ids_and_counts_are_one_line_with_the_range():
    E = random_embeddings(V=5)
    for i in (-1, 5, 2.0, True, "1"):
        with pytest.raises(UserError, match="from 0 to 4"):
            neighbours(E, i, 1)
    for k in (0, 5, -3):
        with pytest.raises(UserError, match="from 1 to 4"):
            neighbours(E, 0, k)
    assert check_id(E, np.int64(3)) == 3


def test_pca_is_the_covariance_s_eigenvectors():
    E = random_embeddings()
    m, (vectors, shares, X) = pca_2d(E), naive_pca(E)
    for got, want in zip(m.components, vectors):
        assert abs(got @ want) == pytest.approx(1, abs=1e-9)  # the same direction, up to its sign
    assert np.allclose(m.explained, shares, atol=1e-12)
    assert np.allclose(np.abs(m.coords), np.abs(X @ vectors.T), atol=1e-9)
    assert np.allclose(m.mean, E.mean(axis=0))


def test_pca_of_a_hand_made_matrix():
    """Four points on a cross, ±3 along x and ±1 along y, moved to (5, 5, 5): PC1 is x, PC2 is y."""
    E = np.array([[3.0, 0, 0], [-3, 0, 0], [0, 1, 0], [0, -1, 0]]) + 5
    m = pca_2d(E)
    assert np.allclose(m.components, [[1, 0, 0], [0, 1, 0]])
    assert np.allclose(m.explained, [0.9, 0.1])  # 18 and 2 of the total sum of squares, 20
    assert np.allclose(m.coords, [[3, 0], [-3, 0], [0, 1], [0, -1]])
    assert np.allclose(m.mean, [5, 5, 5])


def test_the_map_s_signs_are_fixed_so_it_never_flips():
    E = random_embeddings(seed=3)
    m = pca_2d(E)
    for row in m.components:
        assert row[np.argmax(np.abs(row))] > 0  # the largest loading is positive
    flipped = pca_2d(-E)
    assert np.allclose(flipped.components, m.components)  # the same directions for the mirrored cloud
    assert np.allclose(flipped.coords, -m.coords)
    order = np.random.default_rng(0).permutation(len(E))
    assert np.allclose(pca_2d(E[order]).coords, m.coords[order])  # the rows' order changes nothing else


def test_a_float32_matrix_gives_the_float64_map():
    E = random_embeddings(V=300, C=24, seed=1)
    m32, m64 = pca_2d(E.astype(np.float32)), pca_2d(E)
    assert np.allclose(m32.coords, m64.coords, atol=1e-4) and np.allclose(m32.explained, m64.explained, atol=1e-6)


def test_degenerate_matrices_give_zeros_not_nan():
    for E in (np.ones((4, 3)), np.zeros((1, 5)), np.arange(6.0).reshape(6, 1)):
        m = pca_2d(E)
        assert np.all(np.isfinite(m.coords)) and np.all(np.isfinite(m.explained))
    assert np.allclose(pca_2d(np.ones((4, 3))).coords, 0)
    line = pca_2d(np.arange(6.0).reshape(6, 1))  # C = 1: one direction only
    assert np.allclose(line.explained, [1, 0]) and np.allclose(line.coords[:, 1], 0)
    with pytest.raises(UserError, match=r"\(V, C\)"):
        pca_2d(np.zeros(4))


def test_tokens_are_shown_through_the_run_s_own_tokenizer(data_dir):
    from nn2gpt.gpt.tokenizer import CharTokenizer, GPT2Tokenizer

    char = CharTokenizer("\n !ABab")
    assert [display(token_text(char, i)) for i in range(3)] == ["⏎", "␣", "!"]
    assert one_token(char, "a", "--id N") == char.stoi["a"]
    two = r"ab becomes 2 tokens for this model: a \(5\), b \(6\); give one of them, or --id N"
    with pytest.raises(UserError, match=two):
        one_token(char, "ab", "--id N")
    with pytest.raises(UserError, match="empty"):
        one_token(char, "", "--id N")
    with pytest.raises(UserError, match=r"é is no token of this model .*'é'.*or --id N"):
        one_token(char, "é", "--id N")
    gpt2 = GPT2Tokenizer(data_dir)
    the = one_token(gpt2, " the", "--id N")
    assert display(token_text(gpt2, the)) == "␣the"
    smile = gpt2.encode("😀")  # one character, four bytes, cut into tokens that are not whole characters
    assert len(smile) > 1 and any("\\x" in token_text(gpt2, i) for i in smile)
    assert display("\r\x00") == "\\x0d\\x00" and display("") == "∅"
