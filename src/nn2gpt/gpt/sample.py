"""Writing text with a trained model, one token at a time, as it is produced.

The model's `stream` yields token ids (sampling with temperature, top-k, top-p, and a KV cache
so each new token costs one position of compute, not the whole context). Here the ids become
text: a character token is a character; a GPT-2 token is a few bytes that may end in the
middle of a multi-byte UTF-8 character, so bytes are held back until they decode.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from nn2gpt.devices import has_float64
from nn2gpt.gpt.tokenizer import prompt_ids, text_pieces


def stream_text(model, tok, prompt: str, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                top_p: float | None = None, seed: int | None = None, use_cache: bool = True) -> Iterator[str]:
    """Yield the continuation of `prompt` piece by piece as the model samples it.

    temperature 0 is greedy; bad values raise UserError (checked by the model).
    """
    yield from text_pieces(tok, stream_ids(model, tok, prompt, max_new_tokens, temperature, top_k, top_p, seed,
                                           use_cache))


def stream_ids(model, tok, prompt: str, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
               top_p: float | None = None, seed: int | None = None, use_cache: bool = True) -> Iterator[int]:
    """Yield the sampled token ids one by one (stream_text turns them into text)."""
    device = next(model.parameters()).device
    idx = torch.tensor([prompt_ids(tok, prompt)], dtype=torch.long, device=device)  # (1, T)
    # where the sample is drawn (sample_next): on the device, or on the CPU for one without float64 (MPS)
    generator = torch.Generator(device=device if has_float64(device) else "cpu")
    generator.manual_seed(seed if seed is not None else torch.seed())
    model.eval()
    with torch.no_grad():
        yield from model.stream(idx, max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
                                generator=generator, use_cache=use_cache)


def sample_text(model, tok, prompt: str, max_new_tokens: int, **kw) -> str:
    """The prompt plus its sampled continuation, as one string."""
    return prompt + "".join(stream_text(model, tok, prompt, max_new_tokens, **kw))
