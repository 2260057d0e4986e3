"""The GPT page's deeper views of one position: the logit lens, one head over the whole text, a second
position to compare with, and what each bar was with every head on.

The logit lens (nostalgebraist, 2020) reads the residual stream as if the model stopped there: after
the embedding, after block i's attention (x + attn(ln1(x))) and after its MLP (x + mlp(ln2(x))), the
stream goes through the model's own final LayerNorm and unembedding, and the softmax of those logits
says which next tokens it already points at. The last reading is the model's output. Models without a
residual stream (attention, multihead) are read through their head after each layer; the bigram has
one reading, its table. Every pass here runs with the page's heads turned off, as the bars do.

Each view reads the kept pass over the text the bars and the maps read (`nn2gpt.studio.passes`) where it
holds what the view needs: the attention weights, the logits, and for a GPT each block's input, from which
the lens needs only each block's attention over the tokens up to the position. A head's map over another
window than the model's own context, or the lens of a model without blocks, runs its own pass.
"""

from __future__ import annotations

import torch

from nn2gpt.errors import UserError
from nn2gpt.studio import checks, gpt, passes

TOP = 5  # next tokens shown per reading of the lens
MAP = 256  # at most this many tokens in one head's map over the text
MAX_IDS = 64  # ids one "was" request may ask about


def _window(model, tok, text, position, longest: int | None = None) -> tuple[list[int], int, int]:
    """(the text's ids, the checked position, the start of the context the model reads there)."""
    ids = tok.encode(gpt.check_text(text, "text"))
    position = checks.number({"position": position}, "position", int, 0, len(ids) - 1)
    return ids, position, max(0, position + 1 - min(model.cfg.block_size, longest or model.cfg.block_size))


def _off(model, heads) -> dict:
    from nn2gpt.nn.ablate import attention_layers

    layers = attention_layers(model)
    return checks.heads(heads, len(layers), layers[0][1].n_head if layers else 0)


def readings(model, idx: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """idx (1, W) -> [(what was read, the logits (V,) at the last position)], from the embedding to the output."""
    if not hasattr(model, "embed"):  # the bigram: a table of next-token logits, nothing in between
        return [("the table (the whole model)", model.logits(idx)[0, -1])]
    x = model.embed(idx)  # (1, W, C)
    if hasattr(model, "blocks"):  # GPT: the residual stream, read through ln_f and the (tied or own) head
        read = lambda h: model.head(model.ln_f(h[:, -1:]))[0, -1]  # (1, 1, C) -> (V,)
        out = [("embedding", read(x))]
        for i, block in enumerate(model.blocks):
            x = x + block.attn(block.ln1(x))  # (1, W, C)
            out.append((f"block {i + 1} attention", read(x)))
            x = x + block.mlp(block.ln2(x))  # (1, W, C)
            out.append((f"block {i + 1} MLP", read(x)))
        return out
    read = lambda h: model.lm_head(h[:, -1:])[0, -1]  # no residual stream: each layer's output through the head
    out = [("embedding", read(x))]
    x = model.attn(x)  # (1, W, C)
    out.append(("attention", read(x)))
    if hasattr(model, "mlp"):
        x = model.mlp(x)
        out.append(("MLP", read(x)))
    return out


def _kept(model, ids: list[int], start: int, position: int, off: dict):
    """(the kept pass answering `position`, read from `start`, with `off` off; the position's index in it)."""
    return passes.at(model, ids, start, position, off)


def kept_readings(model, p, i: int) -> list[tuple[str, torch.Tensor]]:
    """`readings` at index i of a GPT's kept pass `p`: the block inputs it holds are the stream after each
    MLP; the stream after each attention is block.attn over the tokens up to i. Call with p's heads off."""
    read = lambda h: model.head(model.ln_f(h[None, None]))[0, 0]  # (C,) -> (V,)
    out = [("embedding", read(p.inputs[0][i]))]
    for l, block in enumerate(model.blocks):
        x = p.inputs[l][None, :i + 1]  # (1, i + 1, C)
        out.append((f"block {l + 1} attention", read(x[0, -1] + block.attn(block.ln1(x))[0, -1])))
        out.append((f"block {l + 1} MLP", read(p.inputs[l + 1][i]) if l + 1 < len(p.inputs) else p.logits_at(model, i)))
    return out


def lens_logits(model, ids: list[int], start: int, position: int, off: dict) -> list[tuple[str, torch.Tensor]]:
    """The lens's readings (label, logits (V,)) at `position`, from the kept pass where it has the blocks' inputs."""
    from nn2gpt.nn.ablate import heads_off

    kept = _kept(model, ids, start, position, off) if passes.blockwise(model) else None
    model.eval()
    with heads_off(model, off), torch.inference_mode():
        if kept and kept[0].inputs is not None:
            return kept_readings(model, *kept)
        return readings(model, torch.tensor([ids[start:position + 1]]))


def head_weights(model, ids: list[int], start: int, position: int, layer: int, head: int, off: dict) -> torch.Tensor:
    """One head's weights (W, W) over ids[start:position + 1], from the kept pass when it reads that window."""
    from nn2gpt.gpt.heatmaps import look_inside
    from nn2gpt.nn.ablate import heads_off

    if start == max(0, position + 1 - model.cfg.block_size):  # the model's own context: the kept pass has it
        kept = _kept(model, ids, start, position, off)
        if kept and kept[0].weights:
            p, i = kept
            return p.weights[layer][head, :i + 1, :i + 1]
    model.eval()
    with heads_off(model, off):
        weights, _ = look_inside(model, torch.tensor([ids[start:position + 1]]))
    return weights[layer][head]


def at_position(model, ids: list[int], start: int, position: int, off: dict) -> tuple[list, torch.Tensor]:
    """(each layer's weights (nh, i + 1) of the last query, the logits (V,)) at `position`."""
    from nn2gpt.gpt.heatmaps import look_inside
    from nn2gpt.nn.ablate import heads_off

    kept = _kept(model, ids, start, position, off)
    if kept:
        p, i = kept
        return [w[:, i, :i + 1] for w in p.weights], p.logits_at(model, i)
    model.eval()
    with heads_off(model, off):
        weights, logits = look_inside(model, torch.tensor([ids[start:position + 1]]))
    return [w[:, -1] for w in weights], logits[0, -1].float()


def _rounded(p) -> float:
    return float(f"{float(p):.4g}")


def logit_lens(model, tok, text, position, heads=None) -> dict:
    """For token `position` of `text`: each reading's TOP next tokens (softmax of its logits, temperature 1),
    and the probability and rank it gives the token that came next in the text."""
    ids, position, start = _window(model, tok, text, position)
    found = lens_logits(model, ids, start, position, _off(model, heads))
    following = ids[position + 1] if position + 1 < len(ids) else None
    rows = []
    for label, logits in found:
        probs = torch.softmax(logits.double(), -1)  # (V,)
        top = torch.topk(probs, min(TOP, probs.numel()))
        row = {"label": label, "top": [{"token": gpt.pieces_of(tok, [int(i)])[0], "id": int(i), "p": _rounded(p),
                                        "logit": round(float(logits[i]), 3)} for p, i in zip(top.values, top.indices)]}
        if following is not None:
            p = probs[following]
            row["following"] = {"p": _rounded(p), "rank": int((probs > p).sum()) + 1}
        rows.append(row)
    return {"position": position, "rows": rows,
            "following": None if following is None else {"token": gpt.pieces_of(tok, [following])[0], "id": following}}


def _one_head(model, layer, head) -> tuple[int, int]:
    from nn2gpt.nn.ablate import attention_layers

    layers = attention_layers(model)
    if not layers:
        raise UserError(f"the {model.cfg.model} model has no attention to show; "
                        "train --model attention, multihead or gpt")
    n_head = layers[0][1].n_head
    return (checks.number({"layer": layer}, "layer", int, 0, len(layers) - 1),
            checks.number({"head": head}, "head", int, 0, n_head - 1))


def head_map(model, tok, text, position, layer, head, heads=None) -> dict:
    """One head's (W, W) attention over the text up to `position` (at most MAP tokens of the context the
    model reads there): row i = the weights query i puts on keys 0..i, in thousandths."""
    layer, head = _one_head(model, layer, head)
    ids, position, start = _window(model, tok, text, position, MAP)
    w = head_weights(model, ids, start, position, layer, head, _off(model, heads))  # (W, W)
    return {"position": position, "start": start, "layer": layer, "head": head,
            "tokens": gpt.pieces_of(tok, ids[start:position + 1]),
            "rows": [(w[i, :i + 1] * 1000).round().int().tolist() for i in range(w.size(0))]}


def position_view(model, tok, text, position, layer, head, settings: dict, heads=None) -> dict:
    """A second position to set beside the clicked one: its next-token bars (under the page's settings)
    and the chosen head's attention row there, over the context the model reads at that position."""
    ids, position, start = _window(model, tok, text, position)
    weights, logits = at_position(model, ids, start, position, _off(model, heads))
    following = ids[position + 1] if position + 1 < len(ids) else None
    answer = {"position": position, "start": start, "tokens": gpt.pieces_of(tok, ids[start:position + 1]),
              **gpt.next_tokens(tok, logits, settings, following)}
    if weights:
        layer, head = _one_head(model, layer, head)
        answer |= {"layer": layer, "head": head, "row": [round(float(x), 4) for x in weights[layer][head]]}
    return answer


def was(model, tok, text, position, settings: dict, ids) -> dict:
    """The probabilities (and logits) the model with every head on gives the tokens `ids` at `position`,
    under the page's settings: what each bar of a pass with heads off was."""
    if not isinstance(ids, list) or not 0 < len(ids) <= MAX_IDS or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i < model.cfg.vocab_size for i in ids):
        raise UserError(f"ids must be a list of 1 to {MAX_IDS} token ids below {model.cfg.vocab_size}")
    text_ids, position, start = _window(model, tok, text, position)
    logits = at_position(model, text_ids, start, position, {})[1]  # (V,): the plain pass, every head on
    probs = gpt.distribution(logits, settings)  # (V,)
    return {"position": position, "p": [_rounded(probs[i]) for i in ids],
            "logit": [round(float(logits[i]), 3) for i in ids]}


def lens_routes(studio) -> list:
    """/api/gpt/lens, /api/gpt/head, /api/gpt/position, /api/gpt/was: each under the run's lock, its answer
    stamped with the run and its model's identity as every model answer is (`Studio.stamp`)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.routing import Route

    from nn2gpt.studio.api import answer, body_of

    def route(path, fn, args):
        async def handle(request):
            body = await body_of(request)
            (model, tok, _), lock = await run_in_threadpool(studio.looked_into, body.get("run"), "gpt")
            return await answer(fn, model, tok, *args(body), lock=lock, stamp=studio.stamp(body.get("run"), model))
        return Route(path, handle, methods=["POST"])

    shown = gpt.display_settings
    return [route("/api/gpt/lens", logit_lens, lambda b: (b.get("text"), b.get("position"), b.get("heads_off"))),
            route("/api/gpt/head", head_map, lambda b: (b.get("text"), b.get("position"), b.get("layer"), b.get("head"),
                                                         b.get("heads_off"))),
            route("/api/gpt/position", position_view, lambda b: (b.get("text"), b.get("position"), b.get("layer"),
                                                                 b.get("head"), shown(b), b.get("heads_off"))),
            route("/api/gpt/was", was, lambda b: (b.get("text"), b.get("position"), shown(b), b.get("ids")))]
