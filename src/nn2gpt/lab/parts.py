"""Score functions and masks a lab run trains with in place of the lab's own, by name.

    Parts(scores={"squared": fn}, masks={"anticausal": fn}, results_extra={...})

`nn2gpt learn run lab` hands the learner's chapter-4 functions to run_lab() this way: every
attention layer of a variant's model computes its score with `scores[name]` (q, k (B, nh, T, hs)
-> (B, nh, T, T)) and its mask with `masks[kind]` (T -> (T, T) bool, True = may look) where the
run's model uses that name, and results.json gains `results_extra`. Nothing of the lab, of
chapter 4's layers or of chapter 2's training is patched: the model is built through chapter 2's
own seam (nn2gpt.gpt.train.train's build_model).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Parts:
    scores: dict = field(default_factory=dict)
    masks: dict = field(default_factory=dict)
    results_extra: dict = field(default_factory=dict)

    def build_model(self):
        """chapter 2's setup.build with these parts in every attention layer; None when there are none."""
        if not (self.scores or self.masks):
            return None
        from nn2gpt.gpt import setup
        from nn2gpt.nn.scores import Score

        def build(cfg, tok, device, dist):
            model_cfg, model = setup.build(cfg, tok, device, dist)
            for m in model.modules():
                if isinstance(m, Score) and m.name in self.scores:
                    m.fn = self.scores[m.name]
                real = getattr(m, "structural_mask", None)
                if real is not None and self.masks:
                    m.structural_mask = self._mask(real)
            return model_cfg, model
        return build

    def _mask(self, real):
        def structural_mask(kind, Tq, Tk=None, window=None, device=None):
            if kind in self.masks and Tk in (None, Tq):       # a KV cache's offsets: the lab's own
                return self.masks[kind](Tq).to(device=device, dtype=bool)
            return real(kind, Tq, Tk, window, device=device)
        return structural_mask
