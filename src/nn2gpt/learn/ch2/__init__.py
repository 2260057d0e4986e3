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
    ), C + "check_average"),
    Exercise(13, "head", 2, "write class Head: one head of masked self-attention", ("Head",), (
        "__init__: three nn.Linear(n_embd, head_size, bias=False) named key, query, value, and "
        "self.register_buffer('tril', torch.tril(torch.ones(block_size, block_size))).",
        "forward: wei = q @ k.transpose(-2, -1) * head_size ** -0.5, shape (B, T, T); then "
        "wei.masked_fill(self.tril[:T, :T] == 0, float('-inf')).",
        "Then F.softmax(wei, dim=-1) - along the last dimension, so each row sums to 1 - and return wei @ v.",
    ), C + "check_head", (SHAPES,)),
    Exercise(14, "multi_head", 2, "write class MultiHeadAttention: heads side by side, then a projection",
             ("MultiHeadAttention",), (
        "Each head has head size n_embd // n_head, so n_head of them concatenated are n_embd wide again.",
        "self.heads = nn.ModuleList([Head(n_embd, n_embd // n_head, block_size) for _ in range(n_head)]); "
        "self.proj = nn.Linear(n_embd, n_embd).",
        "forward: return self.proj(torch.cat([h(x) for h in self.heads], dim=-1)) - along the channels, dim=-1.",
    ), C + "check_multi_head", (SHAPES,)),
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
    ), C + "check_block", (SHAPES,)),
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
