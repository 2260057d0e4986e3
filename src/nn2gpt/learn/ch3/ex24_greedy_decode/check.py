"""24_greedy_decode: its check (`nn2gpt learn check greedy_decode`) and its trace example
(`nn2gpt learn trace greedy_decode`).
"""

from __future__ import annotations

import torch

from nn2gpt.learn.ch3.common import BOS, EOS, batch
from nn2gpt.learn.checking import CheckFailed, need
from nn2gpt.learn.example_data import words


class Scripted:
    """A 'model' whose next-token logits follow a script; it records the prefixes it was given."""

    def __init__(self, script: list[int], V: int = 8, seed: int = 0):
        self.script, self.V, self.calls = script, V, []
        self.g = torch.Generator().manual_seed(seed)

    def __call__(self, prefix):
        self.calls.append(list(prefix))
        step = len(prefix) - 1
        logits = torch.randn(self.V, generator=self.g)
        logits[self.script[min(step, len(self.script) - 1)]] = 10.0
        return logits


def check(module) -> None:
    fn = need(module, "greedy_decode", "greedy_decode(next_logits, bos_id, eos_id, max_len)")
    bos, eos = 1, 2
    cases = [([5, 3, 7, eos], 10, [5, 3, 7]), ([eos], 5, []), ([4, 4, 6, 3, 5, 7], 4, [4, 4, 6, 3]),
             ([6, 7, eos, 3], 2, [6, 7])]                                # (the model's choices, max_len, expected)
    for script, max_len, want in cases:
        model = Scripted(script)
        got = fn(model, bos, eos, max_len)
        got = got.tolist() if isinstance(got, torch.Tensor) else got
        if not isinstance(got, list) or not all(isinstance(t, int) for t in got):
            raise CheckFailed(f"greedy_decode returned {type(got).__name__}; return a list of ints")
        where = f" (the model's choices {script}, eos_id {eos}, max_len {max_len})"
        if got == want:
            if model.calls and model.calls[0] != [bos]:
                raise CheckFailed(f"the first call to next_logits got {model.calls[0]}; start from [bos_id] = [{bos}]")
            continue
        if got == [bos, *want]:
            raise CheckFailed(f"the output starts with bos_id: return the tokens written, out[1:]{where}")
        if got == [*want, eos]:
            raise CheckFailed(f"the output ends with eos_id; stop before appending it{where}")
        if len(got) > max_len:
            raise CheckFailed(f"{len(got)} tokens written, more than max_len = {max_len}{where}")
        if eos in script[:max_len] and len(got) > len(want) and got[:len(want)] == want:
            raise CheckFailed(f"it goes on after eos_id: stop at the end-of-sentence token{where}")
        if model.calls and any(len(c) == 1 for c in model.calls[1:]):
            raise CheckFailed(f"next_logits was called with [bos_id] again: pass the whole prefix written so "
                              f"far{where}")
        raise CheckFailed(f"greedy_decode gave {got}, expected {want}{where}")


class Speller:
    """A 'model' whose next logits point at the English sentence's next word, then <eos>."""

    def __init__(self, script: list[int], V: int):
        self.script, self.V = script, V

    def __call__(self, prefix):
        logits = torch.randn(self.V, generator=torch.Generator().manual_seed(len(prefix)))
        step = len(prefix) - 1
        logits[self.script[step] if step < len(self.script) else EOS] = 10.0
        return logits


def example():
    _, _, vocab, (_, english) = batch()
    ids = {w: i for i, w in enumerate(vocab)}
    model = Speller([ids[w] for w in words(english)], len(vocab))
    return (f"greedy_decode(next_logits, 1, 2, 20): a model that spells {english!r}",
            lambda m: need(m, "greedy_decode", "greedy_decode(next_logits, bos_id, eos_id, max_len)")(
                model, BOS, EOS, 20))
