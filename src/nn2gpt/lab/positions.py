"""Pictures of the sinusoidal positional encoding, and the one number that explains them.

The table comes from `nn2gpt.nn.positional.sinusoidal_encoding` (the one the GPT adds to its
token embeddings), never from a copy of the formula.
"""

from __future__ import annotations

from pathlib import Path

from nn2gpt.lab import plots


def similarity(pe):
    """(T, T) dot products between the encodings of every pair of positions."""
    return pe @ pe.T  # (T, d) @ (d, T) -> (T, T)


def toeplitz_error(matrix) -> float:
    """How far `matrix` is from depending only on j - i: the largest deviation of an entry
    from the mean of its diagonal. 0 for an exactly 'relative' (Toeplitz) matrix."""
    import torch

    m = torch.as_tensor(matrix, dtype=torch.float64)
    T = m.size(0)
    worst = 0.0
    for offset in range(-(T - 1), T):
        diag = torch.diagonal(m, offset)  # the entries with j - i == offset
        worst = max(worst, float((diag - diag.mean()).abs().max()))
    return worst


def pe_pictures(out_dir: Path, T: int, d: int) -> dict:
    """Write pe_matrix.png and pe_similarity.png; return their names and the Toeplitz error.

    The similarity is computed in float64, so the error measures the mathematics
    (sin a sin b + cos a cos b = cos(a - b)), not float32 rounding.
    """
    import torch

    from nn2gpt.nn.positional import sinusoidal_encoding

    pe = sinusoidal_encoding(T, d, dtype=torch.float64)  # (T, d)
    sim = similarity(pe)  # (T, T)
    plots.matrix_heatmap(out_dir / "pe_matrix.png", pe.numpy(),
                         f"Sinusoidal positional encoding ({T} positions x {d} numbers)",
                         "dimension (columns 2i: sin, 2i+1: cos)", "position")
    plots.matrix_heatmap(out_dir / "pe_similarity.png", sim.numpy(),
                         "Dot product between the encodings of two positions", "position j", "position i",
                         cmap="viridis", centered=False)
    return {"T": T, "d": d, "toeplitz_error": toeplitz_error(sim), "diagonal": float(sim[0, 0]),
            "pictures": ["pe_matrix.png", "pe_similarity.png"]}


def learned_picture(out_dir: Path, table) -> dict:
    """What a trained learned-position table (block_size, C) looks like: cosine similarity of
    every pair of its rows, and the mean similarity of neighbours against distant positions."""
    import numpy as np

    p = np.asarray(table, dtype=np.float64)  # (T, C)
    unit = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)  # (T, C) rows of length 1
    cos = unit @ unit.T  # (T, T)
    T = len(p)
    dist = np.abs(np.arange(T)[:, None] - np.arange(T)[None, :])  # (T, T) |i - j|
    plots.matrix_heatmap(out_dir / "learned_similarity.png", cos,
                         "Learned positions after training: cosine similarity", "position j", "position i",
                         cmap="viridis", centered=False)
    return {"picture": "learned_similarity.png", "near": float(cos[dist == 1].mean()),
            "far": float(cos[dist >= T // 2].mean()), "T": T}
