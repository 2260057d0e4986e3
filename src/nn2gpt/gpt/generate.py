"""Writing text with a trained model: sampling, and the KV cache that makes it fast.

Every model on the road (model.py) generates the same way, so this lives apart from them:
`Sampling` gives a model its `stream` (one token at a time, for the terminal) and `generate`
(a batch); `Decoder` feeds it the sequence so far, reusing the keys and values it computed
before (a KV cache) while the text fits in the context; `sample_next` turns the last logits into
the next token (temperature, top-k, top-p).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nn2gpt.devices import has_float64
from nn2gpt.gpt.sampling import check_sampling


class Sampling:
    """stream() and generate() for a model with .next_logits(idx, caches), .new_caches() and .cfg."""

    @torch.no_grad()
    def _sample_steps(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None,
                      generator=None, use_cache=True):
        """Yield the next tokens (B, 1), one step at a time, in eval mode."""
        check_sampling(temperature, top_k, top_p)
        was_training = self.training
        self.eval()
        try:
            decoder = Decoder(self, use_cache)
            seq = idx  # (B, T) everything so far
            for _ in range(max_new_tokens):
                nxt = sample_next(decoder.next_logits(seq), temperature, top_k, top_p, generator)  # (B, 1)
                seq = torch.cat((seq, nxt), dim=1)  # (B, T + 1)
                yield nxt
        finally:
            self.train(was_training)

    def stream(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
               top_p: float | None = None, generator: torch.Generator | None = None, use_cache: bool = True):
        """Yield max_new_tokens ints, each as soon as it is sampled. idx: (1, T) or (T,) ids."""
        idx = torch.as_tensor(idx, dtype=torch.long, device=self._device())
        idx = idx[None] if idx.dim() == 1 else idx  # (1, T)
        if idx.size(0) != 1:
            raise ValueError(f"stream() samples one sequence; got a batch of {idx.size(0)} (use generate())")
        for nxt in self._sample_steps(idx, max_new_tokens, temperature, top_k, top_p, generator, use_cache):
            yield int(nxt)

    def generate(self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, generator: torch.Generator | None = None,
                 use_cache: bool = True) -> torch.Tensor:
        """(B, T) prompt -> (B, T + max_new_tokens): the prompt followed by the samples."""
        steps = self._sample_steps(idx, max_new_tokens, temperature, top_k, top_p, generator, use_cache)
        return torch.cat([idx, *steps], dim=1)  # (B, T + new)

    def _device(self) -> torch.device:
        return next(self.parameters()).device


class Decoder:
    """Turns "the sequence so far" into the next token's logits, reusing a KV cache if it can.

    The context is always the last block_size tokens. With the cache, a sequence that grew by
    one token costs one position's worth of work. When the sequence outgrows block_size the
    window slides: the oldest token falls out, and every cached key/value was computed from a
    context that contained it (through the earlier layers, and through learned/sinusoidal
    positions that all shift by one), so the cache is rebuilt from the cropped context. The
    logits are therefore exactly those of the cache-free computation, at every step; the cache
    pays off while the sequence fits in the block.
    """

    def __init__(self, model: Sampling, use_cache: bool = True):
        self.model, self.fed = model, 0
        self.caches = model.new_caches() if use_cache else None  # None: recompute every step

    @torch.no_grad()
    def next_logits(self, seq: torch.Tensor) -> torch.Tensor:
        """seq (B, T): the whole sequence so far -> (B, V) logits for the token after it."""
        bs = self.model.cfg.block_size
        grew_by_one = seq.size(1) == self.fed + 1
        if self.caches is not None and self.fed and grew_by_one and self.caches[0].length < bs:
            logits = self.model.next_logits(seq[:, -1:], self.caches)  # (B, V) the newest position only
        else:
            for c in self.caches or ():
                c.reset()  # first call, or the window slid: (re)fill from the cropped context
            logits = self.model.next_logits(seq[:, -bs:], self.caches)  # (B, V) after the last of T' positions
        self.fed = seq.size(1)
        return logits  # (B, V)


def sample_next(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                top_p: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw the next token (B, 1) from the last position's logits (B, V), from the distribution
    `filtered_probs` gives (temperature 0 = always the most likely token). On a device without
    float64 (the Apple GPU, MPS) the distribution is built and drawn from on the CPU, so
    `generator` must then be a CPU generator (nn2gpt.gpt.sample.stream_ids makes one)."""
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)  # (B, 1)
    here = logits.device
    probs = filtered_probs(logits if has_float64(here) else logits.cpu(), temperature, top_k, top_p)  # (B, V)
    return torch.multinomial(probs, 1, generator=generator).to(here)  # (B, 1) (normalises by itself)


def filtered_probs(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                   top_p: float | None = None) -> torch.Tensor:
    """The distribution the next token is drawn from, (B, V) from logits (B, V), in float64.

    temperature (> 0) divides the logits: softmax(logits / T), sharper below 1, flatter above;
    top_k keeps the k most likely tokens; top_p (nucleus) keeps the smallest set of most likely
    tokens whose probability adds up to at least p. After top_p the rows sum to at most 1
    (torch.multinomial normalises); divide by the row's sum to read probabilities.
    """
    # in float64 and from the largest logit down: a temperature as small as 1e-300 then sharpens the
    # distribution towards the argmax instead of overflowing to inf - inf = NaN
    logits = (logits.double() - logits.double().amax(dim=-1, keepdim=True)) / temperature  # (B, V), <= 0
    if top_k is not None and top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # (B, 1) the k-th largest logit
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = F.softmax(logits, dim=-1)  # (B, V)
    if top_p is not None and top_p < 1:
        sorted_p, order = probs.sort(dim=-1, descending=True)  # (B, V) each
        before = sorted_p.cumsum(dim=-1) - sorted_p  # (B, V) mass of the more likely tokens
        drop = before >= top_p
        drop[:, 0] = False  # the most likely token always stays, however small top_p
        sorted_p = sorted_p.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)  # (B, V) back in vocab order
    return probs
