"""Chapter 4's exercises: the seed's questions about attention, as code the learner writes.

Each is a piece the lab (nn2gpt.lab) already varies - the squared score, the inverse score in
either reading, the anticausal mask - checked against the lab's own (nn2gpt.nn.scores, masks),
and `nn2gpt learn run lab` trains the learner's versions against the scaled dot product.
"""

from nn2gpt.learn.exercise import Exercise

C = "nn2gpt.learn.ch4.checks:"
SHAPES = (("Expected size", "mat1 and mat2", "must match the size"),
          "a shape mismatch in a product: q (B, nh, Tq, hs) @ k.transpose(-2, -1) (B, nh, hs, Tk) -> (B, nh, Tq, Tk)")

EXERCISES = [
    Exercise(31, "squared_score", 4, "write squared_score(q, k): square every number, then the scaled dot product",
             ("squared_score",), (
        "q * q squares every number of q (elementwise); do the same to k.",
        "The dot products of all queries with all keys: a @ b.transpose(-2, -1), shape (B, nh, Tq, Tk).",
        "return (q * q) @ (k * k).transpose(-2, -1) / math.sqrt(q.shape[-1])",
    ), C + "check_squared", (SHAPES,)),
    Exercise(32, "inverse_score", 4, "write inverse_score(q, k): the negated or the reciprocal reading",
             ("inverse_score",), (
        "Start from the scaled dot product t = q @ k.transpose(-2, -1) / sqrt(hs), (B, nh, Tq, Tk).",
        "Negated: return -t. Reciprocal: 1 / t explodes where t is near 0; t / (t * t + 0.01) does not.",
        "return t / (t * t + 0.01)   (or: return -t)",
    ), C + "check_inverse", (SHAPES,)),
    Exercise(33, "anticausal_mask", 4, "write anticausal_mask(T): position i sees itself and the future",
             ("anticausal_mask",), (
        "Row i is query i, column j key j; you want True where j >= i.",
        "torch.tril keeps the lower-left triangle (j <= i); torch.triu keeps the upper right.",
        "return torch.triu(torch.ones(T, T, dtype=torch.bool))",
    ), C + "check_anticausal"),
]
