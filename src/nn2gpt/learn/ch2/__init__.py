"""Chapter 2's exercises, in PyTorch: from the bigram's loss to a Transformer block and sampling.

The names and structure are the lecture's ("Let's build GPT": Head, MultiHeadAttention,
FeedForward, Block), and each is checked against chapter 2's own pieces (nn2gpt.gpt.model's
written-out `attention`, nn2gpt.nn.positional) with the learner's weights copied in. The stubs
of later exercises import the earlier pieces from here: the references, i.e. the exercises'
solutions, loaded on first use (torch is imported only then).
"""

from nn2gpt.learn.exercise import Exercise

C = "nn2gpt.learn.ch2.checks:"
_SOLVED = {"Head": "head", "MultiHeadAttention": "multi_head", "FeedForward": "feed_forward", "Block": "block"}


def __getattr__(name):
    """Head, MultiHeadAttention, FeedForward, Block: the reference versions (the solutions)."""
    if name not in _SOLVED:
        raise AttributeError(f"module 'nn2gpt.learn.ch2' has no attribute {name!r}")
    from nn2gpt.learn.exercise import load_file, pick

    ex = next(e for e in EXERCISES if e.name == _SOLVED[name])
    value = pick(load_file(ex.solution, f"nn2gpt_learn_solution_{ex.name}"), name)
    globals()[name] = value
    return value


# Each known mistake's own hints: (words of the check's message, hints). `learn hint` shows them
# first after a check that named the mistake (nn2gpt.learn.hints), then the exercise's ladder.
AVERAGE_MISTAKES = (
    (("the mask is on the wrong side",), (
        "torch.triu keeps the upper triangle: row t then holds the columns AFTER t, the future. The past and "
        "the present are the lower triangle, torch.tril(torch.ones(T, T)).",)),
    (("it is the sum of the past, not the mean",), (
        "tril(ones) @ x adds the past up; to average it, each row of the weights must sum to 1: "
        "wei = wei / wei.sum(1, keepdim=True) before the product.",)),
)
HEAD_MISTAKES = (
    (("the scores are not scaled",), (
        "q @ k^T adds head_size products, so its spread grows like sqrt(head_size); unscaled, the softmax "
        "turns nearly one-hot and its gradients vanish. Multiply the scores by head_size ** -0.5.",)),
    (("scaled by 1/sqrt(n_embd)",), (
        "The scores are dot products of head_size-long vectors (q and k after the head's Linear), not of "
        "n_embd-long ones: scale by head_size ** -0.5, the head's own size.",)),
    (("the mask is on the wrong side",), (
        "Position t may look at the positions up to t: the lower triangle. masked_fill puts -inf where the "
        "condition holds, so the condition is self.tril[:T, :T] == 0, the upper triangle.",)),
    (("nothing is masked",), (
        "masked_fill returns a new tensor and leaves wei as it was: write wei = wei.masked_fill(...), "
        "before the softmax.",)),
    (("softmax over the wrong dimension",), (
        "wei is (B, T, T): one row per query, one column per key. Each query's weights sum to 1 across the "
        "keys, the last dimension: F.softmax(wei, dim=-1).",)),
)
MULTI_HEAD_MISTAKES = (
    (("the projection is missing",), (
        "The heads' outputs are concatenated, then mixed by one more layer: self.proj = nn.Linear(n_embd, "
        "n_embd) in __init__, and forward returns self.proj(torch.cat(...)).",)),
)
BLOCK_MISTAKES = (
    (("no residuals",), (
        "The block adds to the stream, it does not replace it: x = x + self.sa(self.ln1(x)), then "
        "x = x + self.ffwd(self.ln2(x)). The residual path is what lets deep stacks train.",)),
    (("post-LN",), (
        "GPT-2 normalises what goes INTO each sub-layer and leaves the stream itself unnormalised: "
        "x + self.sa(self.ln1(x)), not self.ln1(x + self.sa(x)).",)),
)

SHAPES = (("mat1 and mat2", "size of tensor", "shape", "dimension"),
          "a shape mismatch: print the shapes; transpose(-2, -1) swaps the last two dimensions of a batch of matrices")

EXERCISES = [
    Exercise(11, "bigram_loss", 2, "write bigram_loss(table, idx, targets): the mean cross-entropy", ("bigram_loss",), (
        "Look the logits up: table[idx] is (B, T, V), one row of the table per position.",
        "F.cross_entropy wants the classes in dimension 1: flatten logits to (B*T, V) and targets to (B*T,).",
        "logits = table[idx]; B, T, V = logits.shape; return F.cross_entropy(logits.view(B*T, V), targets.view(B*T))",
    ), C + "check_bigram", ((("Expected target size", "Expected input batch_size"),
                             "F.cross_entropy wants logits (N, V) and targets (N,): flatten with .view(B*T, V)"),)),
    Exercise(12, "average_past", 2, "write average_past(x): each position's mean of itself and its past",
             ("average_past",), (
        "Position t averages x[:, 0], ..., x[:, t]: t + 1 vectors, never the ones after t.",
        "torch.tril(torch.ones(T, T)) is 1 where the column (the past position) is <= the row (the present).",
        "wei = torch.tril(torch.ones(T, T)); wei = wei / wei.sum(1, keepdim=True); return wei @ x",
    ), C + "check_average", mistake_hints=AVERAGE_MISTAKES),
    Exercise(13, "head", 2, "write class Head: one head of masked self-attention", ("Head",), (
        "__init__: three nn.Linear(n_embd, head_size, bias=False) named key, query, value, and "
        "self.register_buffer('tril', torch.tril(torch.ones(block_size, block_size))).",
        "forward: wei = q @ k.transpose(-2, -1) * head_size ** -0.5, shape (B, T, T); then "
        "wei.masked_fill(self.tril[:T, :T] == 0, float('-inf')).",
        "Then F.softmax(wei, dim=-1) - along the last dimension, so each row sums to 1 - and return wei @ v.",
    ), C + "check_head", (SHAPES,), mistake_hints=HEAD_MISTAKES),
    Exercise(14, "multi_head", 2, "write class MultiHeadAttention: heads side by side, then a projection",
             ("MultiHeadAttention",), (
        "Each head has head size n_embd // n_head, so n_head of them concatenated are n_embd wide again.",
        "self.heads = nn.ModuleList([Head(n_embd, n_embd // n_head, block_size) for _ in range(n_head)]); "
        "self.proj = nn.Linear(n_embd, n_embd).",
        "forward: return self.proj(torch.cat([h(x) for h in self.heads], dim=-1)) - along the channels, dim=-1.",
    ), C + "check_multi_head", (SHAPES,), mistake_hints=MULTI_HEAD_MISTAKES),
    Exercise(15, "feed_forward", 2, "write class FeedForward: Linear(C, 4C) -> GELU -> Linear(4C, C)",
             ("FeedForward",), (
        "Two nn.Linear layers: n_embd -> 4 * n_embd, then back to n_embd.",
        "Between them the nonlinearity: nn.GELU(approximate='tanh'), as GPT-2 has it.",
        "self.net = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(approximate='tanh'), "
        "nn.Linear(4 * n_embd, n_embd)); forward returns self.net(x).",
    ), C + "check_feed_forward", (SHAPES,)),
    Exercise(16, "block", 2, "write class Block: pre-LayerNorm attention and feed-forward, with residuals",
             ("Block",), (
        "Four sub-modules: self.sa, self.ffwd, self.ln1, self.ln2 = nn.LayerNorm(n_embd).",
        "Each line ADDS to x (the residual): x = x + something(x).",
        "x = x + self.sa(self.ln1(x)); x = x + self.ffwd(self.ln2(x)); return x.",
    ), C + "check_block", (SHAPES,), mistake_hints=BLOCK_MISTAKES),
    Exercise(17, "positional_encoding", 2, "write positional_encoding(T, d): the sinusoidal table",
             ("positional_encoding",), (
        "Build the angles as a (T, ceil(d/2)) table: positions down the rows, one frequency per column pair.",
        "angle = pos / 10000 ** (2i / d) with pos = torch.arange(T)[:, None] and 2i = torch.arange(0, d, 2).",
        "pe = torch.zeros(T, d); pe[:, 0::2] = torch.sin(angle); pe[:, 1::2] = torch.cos(angle[:, :d // 2]).",
    ), C + "check_positional"),
    Exercise(18, "sampling", 2, "write next_token_probs(logits, temperature, top_k)", ("next_token_probs",), (
        "Temperature first: divide the logits by it (a small temperature makes big logits bigger still).",
        "top-k: kth = torch.topk(logits, k, dim=-1).values[:, -1:], then logits.masked_fill(logits < kth, "
        "float('-inf')) - before the softmax, so the k kept ones share all the probability.",
        "return F.softmax(logits, dim=-1) - along the vocabulary, the last dimension.",
    ), C + "check_sampling"),
]
