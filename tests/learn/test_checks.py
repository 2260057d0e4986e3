"""Every exercise's check can fail: the stub fails, the reference passes, each common mistake
fails with its own message, and code that raises is reported at the learner's own line."""

import pytest

from nn2gpt.learn.exercises import all_exercises, find
from nn2gpt.learn.runner import check_here

# exercise -> [(what the mistake is, [(text of the solution, replaced by)], words the message must hold)]
MISTAKES = {
    "pair_counts": [
        ("every other place", [("for i in range(len(ids) - 1):", "for i in range(0, len(ids) - 1, 2):")],
         "only every other place is counted"),
        ("the last pair left out", [("for i in range(len(ids) - 1):", "for i in range(len(ids) - 2):")],
         "the last pair (ids[-2], ids[-1]) is missing"),
        ("a circle", [("for i in range(len(ids) - 1):", "for i in range(len(ids)):"),
                      ("ids[i + 1])", "ids[(i + 1) % len(ids)])")], "a pair of the last token and the first"),
        ("counts not added to", [("counts = {} if counts is None else counts", "counts = {}")],
         "did not add into the `counts`"),
        ("weight ignored", [("counts.get(pair, 0) + weight", "counts.get(pair, 0) + 1")], "added 1 for each pair"),
        ("ids changed", [("    return counts", "    ids.clear()\n    return counts")], "changed its input ids"),
        ("string keys", [("pair = (ids[i], ids[i + 1])", "pair = f'{ids[i]},{ids[i + 1]}'")],
         "each key is a pair of ids"),
        ("no counts or weight", [("def count_pairs(ids, counts=None, weight=1):", "def count_pairs(ids):"),
                                 ("counts = {} if counts is None else counts", "counts, weight = {}, 1")],
         "must take (ids, counts=None, weight=1)"),
    ],
    "merge": [
        ("overlapping", [("            i += 2 ", "            i += 1 ")], "a merge that overlaps itself"),
        ("the last token lost", [("    while i < len(ids):", "    while i < len(ids) - 1:")], "the last token is lost"),
        ("in place", [("    return out", "    ids[:] = out\n    return out")], "your merge changed its input ids"),
        ("a tuple", [("    return out", "    return tuple(out)")], "returned a tuple, expected a list of ints"),
        ("numpy", [("    return out", "    import numpy as np\n    return np.array(out)")], "returned a numpy ndarray"),
    ],
    "train_bpe": [
        ("ties", [("best = min(counts, key=lambda pair: (-counts[pair], pair[0], pair[1]))",
                   "best = max(counts, key=counts.get)")], "ties broken another way"),
        ("no stop", [("        if not counts:\n            break", "        if False:\n            break")],
         "no pair is left: once every chunk is a single token"),
        ("unweighted", [("count_pairs(chunk, counts, w)", "count_pairs(chunk, counts)")],
         "each chunk's pairs are counted once"),
        ("ids off by one", [("new_id = 256 + i", "new_id = 257 + i")], "merge i must make id 256 + i"),
        ("never merged", [("        ids = [merge(chunk, best, new_id) for chunk in ids]\n", "")], "the same pair twice"),
        ("lists", [("merges.append(best)", "merges.append(list(best))")], "each merge is the tuple (a, b)"),
        ("chunks changed", [("    merges = []\n", "    merges = []\n    chunks.clear()\n")], "changed its input chunks"),
    ],
    "encode": [
        ("training's rule (by count), not by rank",
         [('pair = min(counts, key=lambda p: ranks.get(p, float("inf")))',
           "pair = max(counts, key=lambda p: (p in ranks, counts[p]))")], "the most frequent pair of the text it encodes"),
        ("latest first", [('pair = min(counts, key=lambda p: ranks.get(p, float("inf")))',
                           "pair = max(counts, key=lambda p: ranks.get(p, -1))")], "the pair learnt LAST first"),
        ("code points", [('ids = list(text.encode("utf-8"))', "ids = [ord(c) for c in text]")], "code points (ord)"),
        ("merges changed", [("    ranks = {", "    merges.reverse()\n    ranks = {")], "changed its input merges"),
        ("numpy", [("    return ids", "    import numpy as np\n    return np.array(ids)")], "returned a numpy ndarray"),
    ],
    "decode": [
        ("ignore", [('errors="replace"', 'errors="ignore"')], "drops the cut UTF-8 bytes"),
        ("strict", [('.decode("utf-8", errors="replace")', '.decode("utf-8")')],
         "ids cut inside a character are not valid UTF-8"),
        ("per token", [('return decode_bytes(ids, merges).decode("utf-8", errors="replace")',
                        'return "".join(decode_bytes([i], merges).decode("utf-8", errors="replace") for i in ids)')],
         "each token is decoded on its own"),
        ("bytes through text", [('    return b"".join(vocab[i] for i in ids)',
                                 '    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")'
                                 '.encode("utf-8")')], "is not the exact bytes"),
        ("right first", [("vocab[a] + vocab[b]", "vocab[b] + vocab[a]")], "yours puts b first"),
        ("a bytearray", [('    return b"".join(vocab[i] for i in ids)',
                          '    return bytearray(b"".join(vocab[i] for i in ids))')], "expected bytes"),
        ("ids changed", [('    return b"".join(', '    ids.sort()\n    return b"".join(')],
         "your decode_bytes changed its input ids"),
    ],
    "regex_split": [
        ("no lookahead", [(r"|\s+(?!\S)|\s+", r"|\s+")], "the whitespace before a word is one chunk"),
        ("no contractions", [("'(?:[sdmt]|ll|ve|re)|", "")], "the contractions are missing"),
        ("a-z only", [(r" ?\p{L}+", " ?[a-zA-Z]+")], "letters are only a-z"),
        ("no space before words", [(r" ?\p{L}+", r"\p{L}+")], "the space before a word is a chunk of its own"),
        ("ignorecase", [("regex.findall(GPT2_PATTERN, text)", "regex.findall(GPT2_PATTERN, text, regex.IGNORECASE)")],
         "GPT-2's pattern is case-sensitive"),
        ("Python's re", [("import regex", "import re as regex")], "Python's re has no \\p{L}"),
        ("bytes", [("return regex.findall(GPT2_PATTERN, text)",
                    "return [c.encode() for c in regex.findall(GPT2_PATTERN, text)]")], "expected a list of str"),
    ],
    "byte_table": [
        ("'~' moved", [('ord("~") + 1', 'ord("~")')], "byte 126 '~' must stand for itself"),
        ("from 257", [("chr(256 + moved)", "chr(257 + moved)")], "the moved bytes start one too far"),
        ("by value", [("chr(256 + moved)", "chr(256 + byte)")], "count the moved bytes"),
        ("no inverted range", [('*range(ord("¡"), ord("¬") + 1), ', "")], "bytes 161-172"),
        ("a list", [("    return table", "    return list(table.values())")], "expected a dict"),
        ("characters as keys", [("table[byte] = chr(byte)", "table[chr(byte)] = chr(byte)")],
         "its keys are the 256 byte values"),
    ],
    "sigmoid": [
        ("1 - sigma", [("return 1.0 / (1.0 + np.exp(-z))", "return np.exp(-z) / (1.0 + np.exp(-z))")],
         "it is sigma(-z) = 1 - sigma(z)"),
        ("flattened", [("return 1.0 / (1.0 + np.exp(-z))", "return (1.0 / (1.0 + np.exp(-z))).reshape(-1)")],
         "is (1,), expected ()"),
        ("sigma' = sigma", [("return sigmoid(z) * (1 - sigmoid(z))", "return sigmoid(z)")], "it is sigma(z) itself"),
        ("sigma' on z", [("return sigmoid(z) * (1 - sigmoid(z))", "return z * (1 - z)")], "you computed z (1 - z)"),
        ("1 + sigma", [("return sigmoid(z) * (1 - sigmoid(z))", "return sigmoid(z) * (1 + sigmoid(z))")],
         "sigma(z) (1 + sigma(z))"),
        ("1 - sigma for sigma'", [("return sigmoid(z) * (1 - sigmoid(z))", "return 1 - sigmoid(z)")],
         "it is 1 - sigma(z); multiply by sigma(z)"),
        ("z changed in place", [("return 1.0 / (1.0 + np.exp(-z))", "np.negative(z, out=z)\n    return 1.0 / (1.0 + np.exp(z))")],
         "your sigmoid changed its input z"),
        ("sigma' changes z", [("return sigmoid(z) * (1 - sigmoid(z))", "s = sigmoid(z)\n    z[...] = s * (1 - s)\n    return z")],
         "your sigmoid_prime changed its input z"),
        ("float32", [("return 1.0 / (1.0 + np.exp(-z))", "return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)")],
         "of float32, expected float64"),
        ("a list", [("return 1.0 / (1.0 + np.exp(-z))", "return (1.0 / (1.0 + np.exp(-z))).tolist()")],
         "is a list, expected a numpy array of float64 of shape (5,)"),
    ],
    "feedforward": [
        ("no bias", [("np.dot(w, a) + b", "np.dot(w, a)")], "every bias left out"),
        ("no sigmoid", [("sigmoid(np.dot(w, a) + b)", "np.dot(w, a) + b")], "no sigmoid anywhere"),
        ("return in the loop", [("        a = sigmoid(np.dot(w, a) + b)\n    return a",
                                 "        a = sigmoid(np.dot(w, a) + b)\n        return a")], "first layer's output only"),
        ("no sigmoid on the output", [("    for b, w in zip(self.biases, self.weights):\n        a = sigmoid(np.dot(w, a) + b)",
                                       "    for i, (b, w) in enumerate(zip(self.biases, self.weights)):\n"
                                       "        a = np.dot(w, a) + b\n"
                                       "        a = a if i == len(self.weights) - 1 else sigmoid(a)")],
         "the last layer returns z^L"),
        ("a list", [("        a = sigmoid(np.dot(w, a) + b)\n    return a", "        a = sigmoid(np.dot(w, a) + b)\n    return a.tolist()")],
         "is a list, expected a numpy array of float64 of shape (10, 1): return the array itself, not .tolist()"),
    ],
    "backprop": [
        ("sigma' left out of BP2", [(" * sigmoid_prime(z)", "")], "left out of BP2"),
        ("sigma' left out of BP1", [(" * sigmoid_prime(zs[-1])", "")], "left out of BP1"),
        ("sigma' left out of both", [(" * sigmoid_prime(z)", ""), (" * sigmoid_prime(zs[-1])", "")],
         "left out of both BP1 and BP2"),
        ("sigma' of a", [("sigmoid_prime(zs[-1])", "sigmoid_prime(activations[-1])"),
                         ("sigmoid_prime(z)", "sigmoid_prime(activations[-l])")], "applied to the activation a"),
        ("y - a", [("self.cost_derivative(activations[-1], y)", "(y - activations[-1])")], "points the wrong way"),
        ("BP4 the wrong way round", [("np.dot(delta, activations[-l - 1].transpose())",
                                      "np.dot(activations[-l - 1], delta.transpose())"),
                                     ("np.dot(delta, activations[-2].transpose())",
                                      "np.dot(activations[-2], delta.transpose())")],
         "`nabla_w[0]` is (784, 30), expected (30, 784): BP4 is np.dot(delta, a_below.T), delta first"),
        ("changes the weights", [("    activation = x\n", "    self.weights[0] *= 2\n    activation = x\n")],
         "backprop changed self.weights"),
        ("returns only nabla_w", [("return (nabla_b, nabla_w)", "return nabla_w")], "expected the tuple"),
        ("BP4 off by one", [("np.dot(delta, activations[-l - 1].transpose())", "np.dot(delta, activations[-l].transpose())")],
         "BP4 multiplies delta by the activation of the layer BELOW"),
        ("the two swapped", [("return (nabla_b, nabla_w)", "return (nabla_w, nabla_b)")],
         "returned (nabla_w, nabla_b): the book's order is (nabla_b, nabla_w)"),
        ("x changed in place", [("    activation = x\n", "    x *= 2.0\n    x /= 2.0\n    x -= 1.0\n    activation = x + 1.0\n")],
         "your backprop changed its input x"),
    ],
    "update_mini_batch": [
        ("no 1/m", [("(eta / len(mini_batch))", "eta")], "times too large: divide by m"),
        ("1/m twice", [("(eta / len(mini_batch))", "(eta / len(mini_batch) ** 2)")], "divided by m twice"),
        ("uphill", [("w - (eta", "w + (eta"), ("b - (eta", "b + (eta")], "the step goes uphill"),
        ("a fixed 10", [("(eta / len(mini_batch))", "(eta / 10)")], "divided by 10, not by len(mini_batch)"),
        ("last example only", [("nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]", "nabla_b = delta_nabla_b"),
                               ("nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]", "nabla_w = delta_nabla_w")],
         "only the last example's gradient"),
        ("not stored", [("self.weights = [", "weights = ["), ("self.biases = [", "biases = [")], "did not change"),
    ],
    "backprop_matrix": [
        ("bias not summed", [("delta.sum(axis=1, keepdims=True)", "delta")],
         "`nabla_b[0]` is (30, 10), expected (30, 1): sum delta over the m columns"),
        ("summed over the wrong axis", [("delta.sum(axis=1, keepdims=True)", "delta.sum(axis=0, keepdims=True)")],
         "`nabla_b[0]` is (1, 10), expected (30, 1): you summed over the rows (axis=0)"),
        ("the average", [("    return (nabla_b, nabla_w)", "    m = X.shape[1]\n"
                                                             "    return ([b / m for b in nabla_b], [w / m for w in nabla_w])")],
         "returned the AVERAGE over the 10 examples"),
        ("sigma' left out of BP2", [(" * sigmoid_prime(zs[-l])", "")], "left out of BP2"),
        ("untransposed weight", [("self.weights[-l + 1].T", "self.weights[-l + 1]")], "BP2 is np.dot(w.T, delta)"),
    ],
    "cross_entropy": [
        ("no (1 - y) term", [("-y * np.log(a) - (1 - y) * np.log(1 - a)", "-y * np.log(a)")], "only the y ln a term"),
        ("sign", [("-y * np.log(a) - (1 - y) * np.log(1 - a)", "y * np.log(a) + (1 - y) * np.log(1 - a)")],
         "the cost is negative"),
        ("mean", [("np.sum(", "np.mean(")], "mean over the 10 outputs"),
        ("no nan_to_num", [("np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))",
                            "np.sum(-y * np.log(a) - (1 - y) * np.log(1 - a))")], "where a equals y exactly"),
        ("keeps sigma'", [("return (a - y)", "return (a - y) * (1 / (1 + np.exp(-z))) * (1 - 1 / (1 + np.exp(-z)))")],
         "it keeps sigma'(z)"),
        ("y - a", [("return (a - y)", "return (y - a)")], "it is y - a"),
    ],
    "bigram_loss": [
        ("sum", [("return F.cross_entropy(logits.view(B * T, V), targets.view(B * T))",
                  "return F.cross_entropy(logits.view(B * T, V), targets.view(B * T), reduction='sum')")],
         "it is the SUM over the positions"),
        ("targets looked up", [("logits = table[idx] ", "logits = table[targets] "), ("targets.view(B * T))", "idx.view(B * T))")],
         "it predicts idx from targets"),
        ("softmax first", [("F.cross_entropy(logits.view(B * T, V)", "F.cross_entropy(F.softmax(logits.view(B * T, V), -1)")],
         "softmax applied twice"),
        ("not flattened", [("F.cross_entropy(logits.view(B * T, V), targets.view(B * T))", "F.cross_entropy(logits, targets)")],
         "flatten with .view(B*T, V)"),
    ],
    "average_past": [
        ("all positions", [("torch.tril(torch.ones(T, T, dtype=x.dtype))", "torch.ones(T, T, dtype=x.dtype)")],
         "every position averages ALL T positions"),
        ("triu", [("torch.tril(", "torch.triu(")], "the mask is on the wrong side"),
        ("sum", [("    wei = wei / wei.sum(dim=1, keepdim=True)             # each row sums to 1\n", "")],
         "it is the sum of the past, not the mean"),
        ("self left out", [("torch.tril(torch.ones(T, T, dtype=x.dtype))",
                            "torch.tril(torch.ones(T, T, dtype=x.dtype), -1); wei[0, 0] = 1")],
         "position t leaves itself out"),
    ],
    "head": [
        ("no scale", [(" * k.shape[-1] ** -0.5", "")], "the scores are not scaled"),
        ("scaled by n_embd", [(" * k.shape[-1] ** -0.5", " * C ** -0.5")], "scaled by 1/sqrt(n_embd)"),
        ("mask on the wrong side", [("torch.tril(torch.ones(block_size", "torch.triu(torch.ones(block_size")],
         "the mask is on the wrong side"),
        ("no mask", [("        wei = wei.masked_fill(self.tril[:T, :T] == 0, float(\"-inf\"))\n", "")],
         "nothing is masked"),
        ("softmax over dim -2", [("F.softmax(wei, dim=-1)", "F.softmax(wei, dim=-2)")], "softmax over the wrong dimension"),
        ("k not transposed", [("q @ k.transpose(-2, -1)", "q @ k.T")], "transpose(-2, -1) swaps the last two"),
        ("with bias", [("nn.Linear(n_embd, head_size, bias=False)", "nn.Linear(n_embd, head_size)")],
         "have a bias"),
    ],
    "multi_head": [
        ("no projection", [("return self.proj(torch.cat([h(x) for h in self.heads], dim=-1))",
                            "return torch.cat([h(x) for h in self.heads], dim=-1)")], "the projection is missing"),
        ("cat over time, no projection", [("return self.proj(torch.cat([h(x) for h in self.heads], dim=-1))",
                                           "return torch.cat([h(x) for h in self.heads], dim=1)")],
         "concatenated along the time dimension"),
        ("full-width heads", [("Head(n_embd, n_embd // n_head, block_size)", "Head(n_embd, n_embd, block_size)")],
         "`self.query.weight` is (8, 8), expected (4, 8)"),
    ],
    "feed_forward": [
        ("ReLU", [('nn.GELU(approximate="tanh")', "nn.ReLU()")], "ReLU where GPT-2 has GELU"),
        ("exact GELU", [('nn.GELU(approximate="tanh")', "nn.GELU()")], "the exact GELU (erf)"),
        ("no nonlinearity", [('nn.GELU(approximate="tanh")', "nn.Identity()")], "no nonlinearity"),
        ("not 4x wide", [("4 * n_embd", "2 * n_embd")], "expected two nn.Linear layers"),
    ],
    "block": [
        ("post-LN", [("        x = x + self.sa(self.ln1(x))\n        return x + self.ffwd(self.ln2(x))",
                      "        x = self.ln1(x + self.sa(x))\n        return self.ln2(x + self.ffwd(x))")],
         "LayerNorm after the sum (post-LN)"),
        ("no residuals", [("        x = x + self.sa(self.ln1(x))\n        return x + self.ffwd(self.ln2(x))",
                           "        x = self.sa(self.ln1(x))\n        return self.ffwd(self.ln2(x))")], "no residuals"),
        ("ffwd on the input", [("        x = x + self.sa(self.ln1(x))\n        return x + self.ffwd(self.ln2(x))",
                                "        y = x + self.sa(self.ln1(x))\n        return y + self.ffwd(self.ln2(x))")],
         "the feed-forward sees the block's input"),
        ("ln1 twice", [("self.ffwd(self.ln2(x))", "self.ffwd(self.ln1(x))")], "ln1 is used twice"),
        ("x += in place", [("        x = x + self.sa(self.ln1(x))\n        return x + self.ffwd(self.ln2(x))",
                            "        x += self.sa(self.ln1(x))\n        x += self.ffwd(self.ln2(x))\n        return x")],
         "your Block changed its input x"),
    ],
    "positional_encoding": [
        ("halves", [("    pe[:, 0::2] = torch.sin(angle)\n    pe[:, 1::2] = torch.cos(angle[:, : d // 2])",
                     "    pe = torch.cat([torch.sin(angle), torch.cos(angle[:, : d // 2])], dim=1)")],
         "all the sines first"),
        ("swapped", [("pe[:, 0::2] = torch.sin(angle)", "pe[:, 0::2] = torch.cos(angle)"),
                     ("pe[:, 1::2] = torch.cos(angle[:, : d // 2])", "pe[:, 1::2] = torch.sin(angle[:, : d // 2])")],
         "sin and cos are swapped"),
        ("exponent i/d", [("angle = pos / 10000 ** (two_i / d)", "angle = pos / 10000 ** (two_i / 2 / d)")],
         "the exponent is i/d"),
    ],
    "sampling": [
        ("temperature multiplies", [("logits = logits / temperature", "logits = logits * temperature")],
         "multiplied by the temperature"),
        ("top-k after softmax", [("        logits = logits.masked_fill(logits < kth, float(\"-inf\"))\n"
                                  "    return F.softmax(logits, dim=-1)",
                                  "        return F.softmax(logits, dim=-1).masked_fill(logits < kth, 0.0)\n"
                                  "    return F.softmax(logits, dim=-1)")], "top-k after the softmax"),
        ("smallest k", [("torch.topk(logits, top_k, dim=-1).values[:, -1:]",
                         "torch.topk(logits, top_k, dim=-1, largest=False).values[:, -1:]"),
                        ("logits < kth", "logits > kth")], "SMALLEST logits are kept"),
        ("softmax over the batch", [("return F.softmax(logits, dim=-1)", "return F.softmax(logits, dim=0)")],
         "softmax over the batch dimension"),
    ],
    "padding_mask": [
        ("True on padding", [("return src != pad_id", "return src == pad_id")], "True must mark the REAL tokens"),
        ("ints", [("return src != pad_id", "return (src != pad_id).long()")], "return booleans"),
        ("zero fill", [('float("-inf"))', "0.0)")], "Fill with float('-inf')"),
        ("keep inverted", [("masked_fill(~keep[", "masked_fill(keep[")], "the REAL keys are masked"),
        ("queries masked", [("~keep[:, None, None, :]", "~keep[:, None, :, None]")], "a key is a column"),
    ],
    "cross_attention": [
        ("causal", [('        s = s.masked_fill(~keep[:, None, None, :], float("-inf"))',
                     '        s = s.masked_fill(~keep[:, None, None, :], float("-inf"))\n'
                     '        s = s.masked_fill(torch.ones(T, S, dtype=torch.bool).tril() == 0, float("-inf"))')],
         "a causal mask"),
        ("no padding mask", [('        s = s.masked_fill(~keep[:, None, None, :], float("-inf"))\n', "")],
         "the padding keys are not masked"),
        ("no scale", [(" / math.sqrt(hs)", "")], "not divided by sqrt(hs)"),
        ("queries from memory", [("q = self.query(x).view(B, T, nh, hs)", "q = self.query(memory).view(B, S, nh, hs)"),
                                 ("k = self.key(memory).view(B, S, nh, hs)", "k = self.key(x).view(B, T, nh, hs)"),
                                 ("v = self.value(memory).view(B, S, nh, hs)", "v = self.value(x).view(B, T, nh, hs)"),
                                 ("reshape(B, T, C)", "reshape(B, S, C)")], "the keys come from memory (B, S, C)"),
    ],
    "label_smoothing": [
        ("padding counted", [("    real = targets != pad_id\n    return loss[real].mean()", "    return loss.mean()")],
         "the padding positions are counted"),
        ("no smoothing", [("loss = (1 - eps) * nll + eps * uniform", "loss = nll")], "no smoothing"),
        ("eps over V - 1", [("uniform = -logp.mean(dim=-1) ",
                             "uniform = -(logp.sum(-1) - logp.gather(-1, targets[..., None]).squeeze(-1)) / "
                             "(logp.shape[-1] - 1) ")], "spread over the V - 1 wrong tokens"),
        ("sum", [("return loss[real].mean()", "return loss[real].sum()")], "it is the sum over the positions"),
    ],
    "greedy_decode": [
        ("with bos", [("    return out[1:]", "    return out")], "starts with bos_id"),
        ("with eos", [("        if token == eos_id:\n            break\n        out.append(token)",
                       "        out.append(token)\n        if token == eos_id:\n            break")], "ends with eos_id"),
        ("no stop", [("        if token == eos_id:\n            break\n", "")], "it goes on after eos_id"),
        ("one too many", [("for _ in range(max_len):", "for _ in range(max_len + 1):")], "more than max_len"),
        ("only the last token", [("next_logits(out)", "next_logits([out[0]])")], "pass the whole prefix"),
    ],
    "squared_score": [
        ("not scaled", [(" / math.sqrt(q.shape[-1])", "")], "not scaled: keep the 1/sqrt(hs)"),
        ("the dot product squared", [("(q * q) @ (k * k).transpose(-2, -1)", "(q @ k.transpose(-2, -1)) ** 2")],
         "it squares the dot product"),
        ("not squared", [("(q * q) @ (k * k).transpose(-2, -1)", "q @ k.transpose(-2, -1)")],
         "it is the plain scaled dot product"),
        ("k not transposed", [("(k * k).transpose(-2, -1)", "(k * k)")], "q (B, nh, Tq, hs) @ k.transpose(-2, -1)"),
    ],
    "inverse_score": [
        ("raw 1/t", [("return t / (t * t + 0.01)", "return 1 / t")], "a raw 1/t"),
        ("negated unscaled", [("    return t / (t * t + 0.01)", "    return -(q @ k.transpose(-2, -1))")],
         "negated but not scaled"),
        ("eps 1", [("(t * t + 0.01)", "(t * t + 1)")], "the eps is 0.01"),
        ("not inverted", [("return t / (t * t + 0.01)", "return t")], "not inverted"),
    ],
    "anticausal_mask": [
        ("causal", [("torch.triu(", "torch.tril(")], "that is the causal mask"),
        ("strict", [("torch.triu(torch.ones(T, T, dtype=torch.bool))", "torch.triu(torch.ones(T, T, dtype=torch.bool), 1)")],
         "does not see itself"),
        ("swapped", [("torch.triu(torch.ones(T, T, dtype=torch.bool))", "~torch.triu(torch.ones(T, T, dtype=torch.bool))")],
         "True and False are swapped"),
        ("float", [("torch.ones(T, T, dtype=torch.bool)", "torch.ones(T, T)")], "return booleans"),
    ],
    "linear_backward": [
        ("dx with W.T", [("dx = dy @ w ", "dx = dy @ w.T ")], "it is dy @ W.T"),
        ("dW transposed", [("dw = dy.T @ x", "dw = x.T @ dy")], "it is x.T @ dy, the transpose"),
        ("db over the wrong axis", [("db = dy.sum(axis=0)", "db = dy.sum(axis=1)")], "`db` is (6,), expected (8,): db sums dy over the rows n"),
        ("db the mean", [("db = dy.sum(axis=0)", "db = dy.mean(axis=0)")], "it is the mean over the rows"),
    ],
    "layer_norm": [
        ("eps outside the square root", [("rstd = 1.0 / np.sqrt(var + eps)", "rstd = 1.0 / (np.sqrt(var) + eps)")],
         "eps is outside the square root"),
        ("unbiased variance", [("((x - mu) ** 2).mean(axis=-1, keepdims=True)",
                                "((x - mu) ** 2).sum(axis=-1, keepdims=True) / (x.shape[-1] - 1)")],
         "the variance divides by C - 1"),
        ("no gamma", [("return xhat * gamma + beta", "return xhat + beta")], "gamma is left out"),
        ("no mean(g) term", [("g - g.mean(axis=-1, keepdims=True) - xhat", "g - xhat")], "the mean(g) term is missing"),
        ("no xhat term", [(" - xhat * (g * xhat).mean(axis=-1, keepdims=True)", "")],
         "the xhat * mean(g * xhat) term is missing"),
        ("g without gamma", [("g = dy * gamma ", "g = dy ")], "gamma is missing: g = dy * gamma"),
        ("x centred in place", [("xhat = (x - mu) * rstd", "x -= mu; xhat = x * rstd")],
         "your layer_norm_forward changed its input x"),
        ("dgamma not summed", [("dgamma = (dy * xhat).sum(axis=0)", "dgamma = dy * xhat")],
         "`dgamma` is (4, 8), expected (8,)"),
    ],
    "gelu_backward": [
        ("no du/dx", [(" * du_dx)", ")")], "du/dx is missing"),
        ("no product rule", [("0.5 * (1 + t) + ", "")], "the product rule's first term"),
        ("1 - t", [("(1 - t ** 2)", "(1 - t)")], "tanh'(u) is 1 - t^2"),
        ("no dy", [("return dy * (", "return (")], "multiply by the incoming gradient dy"),
        ("dy in place", [("    return dy * (0.5 * (1 + t) + 0.5 * x * (1 - t ** 2) * du_dx)",
                          "    dy *= 0.5 * (1 + t) + 0.5 * x * (1 - t ** 2) * du_dx\n    return dy")],
         "your gelu_backward changed its input dy"),
    ],
    "attention_backward": [
        ("no scale", [("ds @ k * scale", "ds @ k"), ("@ q * scale", "@ q")], "the 1/sqrt(hs) is missing"),
        ("softmax without its second term", [("att * (datt - (datt * att).sum(axis=-1, keepdims=True))", "att * datt")],
         "the softmax's backward lost its second term"),
        ("softmax over the wrong axis", [("(datt * att).sum(axis=-1, keepdims=True)", "(datt * att).sum(axis=-2, keepdims=True)")],
         "sums over the wrong axis"),
        ("dk without the swap", [("dk = ds.swapaxes(-1, -2) @ q", "dk = ds @ q")], "it is ds @ q"),
        ("dv without the swap", [("dv = att.swapaxes(-1, -2) @ dy", "dv = att @ dy")], "it is att @ dy"),
        (".T on 4 axes", [("v.swapaxes(-1, -2)", "v.T")], "not x.T (which reverses all four)"),
    ],
    "cross_entropy_backward": [
        ("not divided by N", [("return d / n", "return d")], "it is not divided by N"),
        ("no -1", [("    d[np.arange(n), targets] -= 1.0\n", "")], "the 1 at each row's target is not subtracted"),
        ("sign", [("return d / n", "return -d / n")], "it is (onehot - p) / N"),
        ("divided by V", [("return d / n", "return d / probs.shape[1]")], "it is divided by V"),
    ],
}


def write(tmp_path, ex, text):
    path = tmp_path / ex.file
    path.write_text(text, encoding="utf-8")
    return path


def test_every_exercise_has_mistakes_and_three_hints():
    assert set(MISTAKES) == {ex.name for ex in all_exercises()}
    assert all(len(ex.hints) >= 3 for ex in all_exercises())


@pytest.mark.parametrize("ex", all_exercises(), ids=lambda ex: ex.name)
def test_the_stub_fails_and_the_reference_passes(ex, tmp_path):
    stub = check_here(ex, write(tmp_path, ex, ex.stub.read_text()))
    assert stub.status == "failed" and "not written yet" in stub.message, stub
    assert check_here(ex, write(tmp_path, ex, ex.solution.read_text())).status == "passed"


@pytest.mark.parametrize("name,label,edits,needle",
                         [(n, label, edits, needle) for n, rows in MISTAKES.items() for label, edits, needle in rows],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_each_mistake_fails_with_its_own_message(name, label, edits, needle, tmp_path):
    ex = find(name)
    text = ex.solution.read_text()
    for old, new in edits:
        assert old in text, f"the mistake {label!r} no longer applies to the solution"
        text = text.replace(old, new)
    result = check_here(ex, write(tmp_path, ex, text))
    assert result.status in ("failed", "error") and needle in result.message, (label, result)
    assert "nn2gpt/learn" not in result.message  # never the checker's internals


def test_the_messages_are_all_different(tmp_path):
    """'Its own message': no two mistakes of one exercise are reported the same way."""
    for name, rows in MISTAKES.items():
        needles = [needle for _, _, needle in rows]
        assert len(set(needles)) == len(needles), name


def test_a_raising_function_is_shown_at_the_learners_line(tmp_path):
    ex = find("backprop")
    text = ex.solution.read_text().replace("    zs = []", "    zs = undefined_name")
    result = check_here(ex, write(tmp_path, ex, text))
    line = 1 + next(i for i, row in enumerate(text.splitlines()) if "zs = undefined_name" in row)
    assert result.status == "error"
    assert result.message.startswith(f"03_backprop.py line {line}, in backprop: NameError"), result.message


def test_a_syntax_error_names_the_line(tmp_path):
    ex = find("sigmoid")
    result = check_here(ex, write(tmp_path, ex, "import numpy as np\n\ndef sigmoid(z)\n    return z\n"))
    assert result.status == "error" and result.message.startswith("01_sigmoid.py line 3: SyntaxError"), result


def test_a_solution_pasted_as_the_books_class_is_used(tmp_path):
    """A learner's whole network.py drops in: the method is taken from its class Network."""
    ex = find("feedforward")
    body = ex.solution.read_text().replace("def feedforward", "class Network:\n    def feedforward")
    body = body.replace("\n    for b", "\n        for b").replace("\n        a = sigmoid", "\n            a = sigmoid")
    body = body.replace("\n    return a", "\n        return a").replace('\n    """a (784', '\n        """a (784')
    assert check_here(ex, write(tmp_path, ex, body)).status == "passed"


def test_the_references_agree_with_chapter_one():
    """The solutions (the checks' reference) give the same gradients as nn2gpt digits' Network."""
    import numpy as np

    from nn2gpt.digits.network import Network as Digits
    from nn2gpt.learn.ch1.checks import example
    from nn2gpt.learn.ch1.network import assemble

    ours = assemble()([5, 4, 3], seed=3)
    theirs = Digits([5, 4, 3], seed=0)
    theirs.weights, theirs.biases = [w.copy() for w in ours.weights], [b.copy() for b in ours.biases]
    x, y = example([5, 4, 3], 6, 1)
    nb, nw = ours.backprop_matrix(x, y)
    tb, tw = theirs.backprop(x, y)               # chapter 1's backprop takes m columns
    assert all(np.allclose(a, b) for a, b in zip([*nb, *nw], [*tb, *tw]))


def test_the_inverse_score_accepts_either_reading_and_says_which(tmp_path):
    ex = find("inverse_score")
    negated = ex.solution.read_text().replace("    return t / (t * t + 0.01)", "    return -t")
    result = check_here(ex, write(tmp_path, ex, negated))
    assert result.status == "passed" and result.message == "your reading: negated"
    assert check_here(ex, ex.solution).message == "your reading: reciprocal"
