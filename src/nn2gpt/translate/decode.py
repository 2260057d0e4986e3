"""Turning a trained model into translations: greedy search and beam search, batched.

Both run the encoder once per sentence, then the decoder one token at a time with a cache
(`model.start_decoding` / `model.decode_step`), so each step costs one token per hypothesis
instead of re-reading the whole prefix.

Output length is bounded relative to the source: at most `1.5 * source_tokens + 10` target
tokens (and never more than the model's `max_len`). A translation is rarely much longer
than its source, and the bound stops an untrained model from babbling forever.

Beam search keeps the `beam` best partial translations of each sentence (by summed log
probability). A hypothesis that emits </s> is frozen: it stays in the beam, extended only
by free padding, so it competes with the living ones on equal terms. At the end each
sentence's hypotheses are ranked by the GNMT length penalty
    score / ((5 + length) / 6) ** alpha
because a raw sum of log probabilities always prefers short outputs (every token costs).
alpha = 0 is the plain sum; with beam = 1 the search is exactly greedy.
"""

from __future__ import annotations


def next_logits(model, state, tokens):
    """tokens (B,) -> logits (B, V) of the next token. A model whose decoder starts from <pad>
    (Marian's) never writes one: its <pad> logit is -inf, as Marian's own decoder has it."""
    logits = model.decode_step(state, tokens)  # (B, V)
    if model.bos_id == model.pad_id:
        logits[:, model.pad_id] = float("-inf")
    return logits


def max_output_len(src_len: int, model_max_len: int) -> int:
    return min(int(1.5 * src_len) + 10, model_max_len - 1)


def _sorted_chunks(n_items: int, lengths, max_sentences: int):
    """Indices grouped into chunks of similar source length (less padding in the encoder)."""
    order = sorted(range(n_items), key=lambda i: lengths[i])
    return [order[i:i + max_sentences] for i in range(0, n_items, max_sentences)]


def _limits(max_len, B: int):
    """(the longest bound, (B,) bounds): `max_len` is one bound for all or one per sentence."""
    import torch

    limits = torch.as_tensor(max_len, dtype=torch.long).expand(B)
    return int(limits.max()), limits


def greedy_decode(model, src, max_len):
    """src (B, S) long -> list of B token-id lists (without <s>/</s>): argmax at every step.

    `max_len` bounds the output: one int, or a (B,) tensor with each sentence's own bound, so a
    sentence translates the same alone as in a batch of longer ones."""
    import torch

    B = src.shape[0]
    max_len, limits = _limits(max_len, B)
    state = model.start_decoding(src, max_len)
    tokens = torch.full((B,), model.bos_id, dtype=torch.long)
    out = torch.full((B, max_len), model.pad_id, dtype=torch.long)
    done = torch.zeros(B, dtype=torch.bool)
    for t in range(max_len):
        logits = next_logits(model, state, tokens)  # (B, V)
        tokens = logits.argmax(-1)  # (B,)
        tokens = torch.where(done, torch.full_like(tokens, model.pad_id), tokens)
        out[:, t] = tokens
        done |= (tokens == model.eos_id) | (limits <= t + 1)
        if done.all():
            break
    return [_strip(row.tolist(), model) for row in out]


def beam_decode(model, src, max_len, beam: int = 4, alpha: float = 0.6):
    """src (B, S) long -> list of B token-id lists: the best of `beam` hypotheses per sentence."""
    return [max(hyps, key=lambda h: length_penalized(h[1], h[2], alpha))[0]
            for hyps in beam_candidates(model, src, max_len, beam)]


def length_penalized(log_prob: float, length: int, alpha: float) -> float:
    """The GNMT ranking score: log_prob / ((5 + length) / 6) ** alpha (alpha 0: log_prob)."""
    return log_prob / ((5.0 + length) / 6.0) ** alpha if alpha else log_prob


def beam_candidates(model, src, max_len, beam: int = 4):
    """src (B, S) long -> for each sentence, its `beam` final hypotheses as (token ids,
    log P(ids + </s> | source), length counting </s>), in beam order (by log probability).
    `max_len`: one bound for all, or a (B,) tensor of each sentence's own (see greedy_decode).

    A sentence whose `beam` hypotheses have all ended leaves the batch, so the remaining steps
    only pay for sentences still being translated.
    """
    import torch

    B, K = src.shape[0], beam
    V = model.vocab_size
    max_len, limits = _limits(max_len, B)
    state = model.start_decoding(src.repeat_interleave(K, dim=0), max_len)  # every sentence K times: (B*K, S)
    scores = torch.full((B, K), float("-inf"))
    scores[:, 0] = 0.0  # all K copies start identical; keep just one alive or the beam fills with clones
    tokens = torch.full((B * K,), model.bos_id, dtype=torch.long)
    history = torch.empty((B, K, 0), dtype=torch.long)  # (b, K, t) for the b sentences still active
    finished = torch.zeros((B, K), dtype=torch.bool)
    lengths = torch.zeros((B, K))  # tokens produced up to and including </s>
    active = torch.arange(B)  # (b,) which input sentence each active row block belongs to
    frozen = torch.full((V,), float("-inf"))
    frozen[model.pad_id] = 0.0  # a finished hypothesis may only continue with <pad>, at no cost
    results: list[list[tuple[list[int], float, int]]] = [[] for _ in range(B)]

    for t in range(max_len):
        b = active.numel()
        logp = next_logits(model, state, tokens).log_softmax(-1).view(b, K, V)  # (b, K, V)
        logp = torch.where(finished[..., None], frozen, logp)
        total = (scores[..., None] + logp).view(b, K * V)  # (b, K*V)
        scores, flat = total.topk(K, dim=-1)  # (b, K)
        parent, new = flat // V, flat % V  # which hypothesis each new one extends, and with what
        history = torch.cat([history.gather(1, parent[..., None].expand(-1, -1, history.shape[2])),
                             new[..., None]], dim=2)  # (b, K, t+1)
        was_finished = finished.gather(1, parent)
        lengths = lengths.gather(1, parent) + (~was_finished).float()
        finished = was_finished | (new == model.eos_id)
        done = finished.all(-1)  # (b,) every hypothesis of the sentence has ended
        done |= limits[active] <= t + 1  # out of its length budget: take what it has
        for j in done.nonzero().flatten().tolist():
            results[int(active[j])] = [(_strip(history[j, k].tolist(), model), float(scores[j, k]),
                                        int(lengths[j, k])) for k in range(K) if scores[j, k] > float("-inf")]
        keep = (~done).nonzero().flatten()  # (b',) sentences still running
        if keep.numel() == 0:
            break
        rows = ((parent + torch.arange(b)[:, None] * K)[keep]).view(-1)  # (b'*K,) rows of the flat state
        model.reorder_state(state, rows)
        scores, history, finished, lengths = scores[keep], history[keep], finished[keep], lengths[keep]
        active, tokens = active[keep], new[keep].view(-1)
    return results


def _strip(ids: list[int], model) -> list[int]:
    out = []
    for i in ids:
        if i == model.eos_id:
            break
        if i != model.pad_id:
            out.append(i)
    return out


def _source_batches(model, tok, sentences: list[str], max_sentences: int):
    """(indices, src (b, S) padded ids, (b,) output bounds) for chunks of sentences of similar length."""
    import torch

    from nn2gpt.translate.batches import pad

    # sources longer than the model's positions are cut (the CLI refuses them before they get here)
    encoded = [ids[:model.max_len - 1] + [tok.eos_id] for ids in tok.encode_batch(sentences)]
    for chunk in _sorted_chunks(len(encoded), [len(e) for e in encoded], max_sentences):
        src = torch.from_numpy(pad([encoded[i] for i in chunk], tok.pad_id))
        # each sentence's own bound, as if it were alone: its translation must not depend on its neighbours
        yield chunk, src, torch.tensor([max_output_len(len(encoded[i]), model.max_len) for i in chunk])


def sentence_beams(model, tok, sentences: list[str], beam: int = 4, max_sentences: int = 64):
    """Each sentence's `beam` final hypotheses (see beam_candidates), in the order of `sentences`."""
    import torch

    beams: list = [None] * len(sentences)
    model.eval()
    with torch.inference_mode():
        for chunk, src, max_len in _source_batches(model, tok, sentences, max_sentences):
            for i, hyps in zip(chunk, beam_candidates(model, src, max_len, beam)):
                beams[i] = hyps
    return beams


def translate(model, tok, sentences: list[str], beam: int = 1, alpha: float = 0.6,
              max_sentences: int = 64, reranker=None, greedy=None) -> list[str]:
    """Translate a list of sentences, batching sentences of similar length together. With a
    `reranker` (translate/rerank.py), it chooses each sentence's translation from its beam;
    `greedy` is the greedy search for beam 1 (greedy_decode unless given)."""
    import torch

    if reranker is not None:
        beams = sentence_beams(model, tok, sentences, beam, max_sentences)
        return [tok.decode(ids) for ids in reranker(beams, tok, alpha)]
    results: list[str] = [""] * len(sentences)
    model.eval()
    with torch.inference_mode():
        for chunk, src, max_len in _source_batches(model, tok, sentences, max_sentences):
            if beam <= 1:
                outs = (greedy or greedy_decode)(model, src, max_len)
            else:
                outs = beam_decode(model, src, max_len, beam, alpha)
            for i, ids in zip(chunk, outs):
                results[i] = tok.decode(ids)
    return results
