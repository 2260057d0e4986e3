"""The pieces a chapter-3 run is made of, by name: chapter 3's own unless given.

    Parts()                                         what `nn2gpt translate train | eval` use
    Parts(build_model=..., loss=..., greedy_decode=..., config_extra={...})

`nn2gpt learn run translate` hands the learner's pieces to train() and evaluate() this way (a
model whose decoder layers run the learner's cross-attention, their label-smoothed loss, their
greedy search), and its run's config names them (`config_extra`); nothing of chapter 3 is
patched. None means chapter 3's own: nn2gpt.translate.model.build_model,
nn2gpt.translate.train.label_smoothed_loss, nn2gpt.translate.decode.greedy_decode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Parts:
    build_model: Callable | None = None      # model config dict -> the Transformer
    loss: Callable | None = None             # (logits (B, T, V), targets (B, T), eps, pad_id) -> a scalar
    greedy_decode: Callable | None = None    # (model, src (B, S), max_len) -> token ids per sentence
    config_extra: dict = field(default_factory=dict)   # keys added to the config every checkpoint saves

    def build(self, model_config: dict):
        from nn2gpt.translate.model import build_model

        return (self.build_model or build_model)(model_config)
