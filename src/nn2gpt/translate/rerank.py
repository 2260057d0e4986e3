"""Reranking the beam with a language model of the target language (chapter 2's GPT).

Why. The translation model scores y given x: P(y | x). It learnt English only from the
training pairs' target sides, and only as far as each source sentence asked for it. A separate
language model P(y) of the target language judges the output as English, whatever the source:
"The pizza ... knew well." is unusual English, "The pizza ... tasted good." is not. Machine
translation has long combined the two: Bayes' rule gives P(y | x) ∝ P(x | y) P(y) (the noisy
channel of statistical MT), and neural systems add the language model's log-probability with a
weight, during the search (shallow fusion, Gulcehre et al. 2015) or over the finished beam
(n-best reranking). We do the second, the simplest: beam search runs unchanged, then each
sentence's `beam` finished hypotheses are ranked by

    ( log P_tm(y | x)  +  lam * log P_lm(y) ) / ((5 + |y|) / 6) ** alpha

with |y| the hypothesis' length in translation-model tokens (its </s> included) and the usual
GNMT length penalty. lam = 0 is plain beam search. lam is a knob to set on the validation
split, not a constant of nature: too large, and fluent English that says something else wins.

The language model is any character-level run of `nn2gpt gpt train`, trained on one target
sentence per line, e.g. the English side of the training split (`nn2gpt translate target-text`),
so it saw no sentence the translation model did not. log P_lm(y) is the log-probability of the
characters of y and of the newline that ends it, after a newline: a sentence start to a sentence
end, as the training text lays them out. A character its vocabulary lacks (a "ñ" copied from
the source, say) is left out of the reading and charged log(1 / vocabulary size), the price of
a blind guess, so a hypothesis gains nothing by containing it. The model must be causal (a
`--mask none` model would read the very characters it is asked to predict).
"""

from __future__ import annotations

from pathlib import Path

from nn2gpt.errors import UserError


class TargetLM:
    """A chapter-2 character model that scores whole sentences: log P(text + "\\n" | "\\n")."""

    def __init__(self, run_dir):
        from nn2gpt.checkpoint import has_checkpoint, load_checkpoint
        from nn2gpt.gpt.runs import load_model

        if not Path(run_dir).is_dir() or not has_checkpoint(run_dir):
            raise UserError(f"--lm {run_dir} holds no trained language model; train one with "
                            f"`nn2gpt gpt train --text ENGLISH.txt --out {run_dir}` (see `nn2gpt translate target-text`)")
        if load_checkpoint(run_dir).config.get("model", {}).get("model") == "transformer":
            raise UserError(f"--lm {run_dir} is a translation model; give a language model of the target "
                            f"language, a run of `nn2gpt gpt train` (see `nn2gpt translate target-text`)")
        self.model, self.tok, _ = load_model(run_dir)
        if not hasattr(self.tok, "stoi") or "\n" not in self.tok.stoi:
            raise UserError(f"--lm {run_dir} must be a character-level model trained on one sentence per line "
                            f"(`nn2gpt gpt train --tokenizer char --text FILE`)")
        if getattr(self.model.cfg, "mask", "causal") not in ("causal", "window"):
            raise UserError(f"--lm {run_dir} was trained with --mask {self.model.cfg.mask}: it reads ahead, so it "
                            f"cannot score a sentence; train it with the default causal mask")
        self.block = self.model.cfg.block_size

    def log_probs(self, texts: list[str], batch: int = 64) -> list[float]:
        """log P(text + "\\n" | "\\n") for each text, in nats. A text longer than the model's context
        is scored in consecutive windows of `block_size` characters, each read on its own; each
        character the vocabulary lacks costs log(1 / vocabulary size)."""
        import math

        import torch

        nl = self.tok.stoi["\n"]
        windows, owner = [], []  # (input ids, target ids) pieces, and which text each belongs to
        totals = [0.0] * len(texts)
        for i, text in enumerate(texts):
            ids = [nl] + [self.tok.stoi[c] for c in text if c in self.tok.stoi] + [nl]
            totals[i] = -math.log(self.tok.vocab_size) * (len(text) + 2 - len(ids))  # the unknown ones
            for start in range(0, len(ids) - 1, self.block):
                piece = ids[start:start + self.block + 1]
                windows.append(piece)
                owner.append(i)
        with torch.inference_mode():
            for at in range(0, len(windows), batch):
                chunk = windows[at:at + batch]
                T = max(len(w) for w in chunk) - 1
                x = torch.zeros((len(chunk), T), dtype=torch.long)  # (N, T) inputs, padded at the end
                y = torch.full((len(chunk), T), -1, dtype=torch.long)  # (N, T) targets, -1 = padding
                for r, w in enumerate(chunk):
                    x[r, :len(w) - 1] = torch.tensor(w[:-1])
                    y[r, :len(w) - 1] = torch.tensor(w[1:])
                logp = self.model(x)[0].float().log_softmax(-1)  # (N, T, V); causal: padding at the end changes nothing before it
                picked = logp.gather(-1, y.clamp(min=0)[..., None])[..., 0] * (y >= 0)  # (N, T)
                for r, value in enumerate(picked.sum(-1).tolist()):
                    totals[owner[at + r]] += value
        return totals

    def score_beams(self, beams, tok) -> tuple[list[list[str]], list[list[float]]]:
        """beams: per sentence [(ids, log P_tm, length), ...] -> per sentence the hypotheses'
        texts and their log-probabilities under this model (all sentences scored in one go)."""
        texts = [[tok.decode(ids) for ids, _, _ in hyps] for hyps in beams]
        flat = iter(self.log_probs([t for ts in texts for t in ts]))
        return texts, [[next(flat) for _ in ts] for ts in texts]


class Reranker:
    """Picks each sentence's translation from its beam by the combined score of the module docstring;
    pass one to `decode.translate(..., reranker=...)`."""

    def __init__(self, lm: TargetLM, lam: float):
        self.lm, self.lam = lm, lam

    def __call__(self, beams, tok, alpha: float) -> list[list[int]]:
        """beams: per sentence [(ids, log P_tm, length), ...] -> per sentence the chosen ids, with
        the length penalty `alpha` of the search."""
        _, lm = self.lm.score_beams(beams, tok)
        return [hyps[best_combined(hyps, scores, self.lam, alpha)][0] for hyps, scores in zip(beams, lm)]


def combined_scores(hypotheses, lm_log_probs: list[float], lam: float, alpha: float) -> list[float]:
    """(log P_tm + lam * log P_lm) under the length penalty, for each of one sentence's hypotheses
    [(ids, log P_tm, length), ...]."""
    from nn2gpt.translate.decode import length_penalized

    return [length_penalized(tm + lam * lm, length, alpha) for (_, tm, length), lm in zip(hypotheses, lm_log_probs)]


def best_combined(hypotheses, lm_log_probs: list[float], lam: float, alpha: float) -> int:
    """Index of the hypothesis with the best combined score."""
    combined = combined_scores(hypotheses, lm_log_probs, lam, alpha)
    return max(range(len(combined)), key=combined.__getitem__)
