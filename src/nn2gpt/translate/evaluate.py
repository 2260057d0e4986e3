"""Loading a trained run, translating with it, and scoring it with sacreBLEU.

BLEU is computed by sacreBLEU on *detokenized*, cased text: our BPE decodes to plain
sentences, and sacreBLEU applies its own standard tokenizer (13a) to hypotheses and references
alike. The signature it prints (e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`)
says exactly which BLEU this is, so numbers from different papers can be compared honestly.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

from nn2gpt.errors import UserError


def load_run(run_dir, parts=None):
    """(model in eval mode, tokenizer, config) of the latest checkpoint in `run_dir`; `parts`
    (nn2gpt.translate.parts.Parts) may build another model of the same weights."""
    import torch

    from nn2gpt.checkpoint import has_checkpoint, load_checkpoint, refuse_kind, require_kind, require_vocab, run_kind
    from nn2gpt.translate.parts import Parts
    from nn2gpt.translate.spm import tokenizer_from_json

    run = Path(run_dir)
    if run.exists() and not run.is_dir():
        raise UserError(f"--model {run} is not a directory; point it to the run directory of "
                        f"`nn2gpt translate train`")
    if not run.is_dir():
        raise UserError(f"model directory {run} does not exist; train one with "
                        f"`nn2gpt translate train --pair es-en --out {run}`")
    if not has_checkpoint(run) and run_kind(run) is not None:
        # a digits network, a lab report...: refused here, as a run translate wants, so that the
        # fix names `nn2gpt translate`; load_checkpoint would offer any run with a checkpoint
        refuse_kind(run, run_kind(run), "translate")
    ck = load_checkpoint(run)
    require_kind(run, ck.config, "translate")
    try:
        if ck.config["model"]["model"] != "transformer":
            raise KeyError("model")
        model = (parts or Parts()).build(ck.config["model"])
        model.load_state_dict({k: torch.from_numpy(v) for k, v in ck.weights.items()})
    except (KeyError, TypeError, RuntimeError) as e:
        raise UserError(f"{run} does not hold a translation model that matches its config ({type(e).__name__}: "
                        f"{str(e)[:120]}); point --model to a run of `nn2gpt translate train`") from None
    model.eval()
    tok = tokenizer_from_json(ck.tokenizer)
    require_vocab(run, ck.config, tok)
    return model, tok, ck.config


def translate_one(model, tok, sentence: str, beam: int = 4, alpha: float = 0.6, reranker=None) -> str:
    from nn2gpt.translate.decode import translate
    from nn2gpt.translate.lines import prepare_sentence

    return translate(model, tok, [prepare_sentence(model, tok, sentence)], beam, alpha, reranker=reranker)[0]


def next_token_log_probs(model, tok, source: str, target: str):
    """What the model predicts at each step of `target` given `source`, reading the true prefix
    (teacher forcing): the target's token ids with its </s>, shape (T,), and the log-probability of
    every vocabulary entry at each of those T steps, shape (T, V). Where two candidate translations
    share a prefix, row i says how the model chose between them."""
    import torch

    src = torch.tensor([tok.encode(source) + [tok.eos_id]])  # (1, S), as in training
    ids = tok.encode(target, target=True)
    tgt_in, tgt_out = torch.tensor([[tok.bos_id] + ids]), torch.tensor(ids + [tok.eos_id])  # (1, T), (T,)
    model.eval()
    with torch.inference_mode():
        logp = model(src, tgt_in).float().log_softmax(-1)  # (1, T, V)
    return tgt_out, logp[0]


def log_probability(model, tok, source: str, target: str) -> float:
    """log P(target | source) under the model, in nats: the sum over the target's tokens and its
    </s> of the log-probability the model gives each one, reading the true prefix (teacher forcing).
    Comparing two candidate translations this way says how much the model prefers one."""
    ids, logp = next_token_log_probs(model, tok, source, target)  # (T,), (T, V)
    return float(logp.gather(-1, ids[:, None]).sum())


def bleu(hypotheses: list[str], references: list[str]):
    """sacreBLEU corpus BLEU (detokenized, cased, 13a) -> (BLEUScore, signature string)."""
    from sacrebleu.metrics import BLEU

    metric = BLEU()
    score = metric.corpus_score(hypotheses, [references])
    return score, str(metric.get_signature())


@dataclass
class EvalConfig:
    """What `nn2gpt translate eval` scores: a built-in split, or the files src/ref."""

    model: str  # a run directory of `nn2gpt translate train`
    split: str = "test"  # val | test
    limit: int | None = None  # only the first N sentence pairs
    data_dir: str | None = None
    beam: int = 4  # 1 = greedy
    alpha: float = 0.6  # the length penalty's exponent
    src: str | None = None  # source sentences, one a line (plain or .gz)...
    ref: str | None = None  # ...and their reference translations


def loss_on(model, examples, pad_id: int, max_tokens: int, autocast=None) -> float:
    """Mean per-token negative log likelihood (no label smoothing) over `examples`."""
    from contextlib import nullcontext

    import torch
    import torch.nn.functional as F

    from nn2gpt.translate.batches import collate, token_batches

    device = next(model.parameters()).device
    model.eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for batch in token_batches(examples, max_tokens):
            src, tgt_in, tgt_out = (torch.from_numpy(a).to(device) for a in collate(examples, batch, pad_id))
            with (autocast or nullcontext)():
                logits = model(src, tgt_in)  # (B, T, V)
            total += F.cross_entropy(logits.flatten(0, 1).float(), tgt_out.flatten(), ignore_index=pad_id,
                                     reduction="sum").item()
            count += int((tgt_out != pad_id).sum())
    return total / max(count, 1)


def evaluate(cfg: EvalConfig, reranker=None, parts=None) -> dict:
    """BLEU of beam (or greedy) translations of a split, or of the files --src/--ref, plus
    teacher-forced loss and perplexity. With a `reranker` (translate/rerank.py) the beam is
    reranked with a target language model. The sentences are prepared as the pipe prepares them
    (translate/lines.py), so `nn2gpt translate --model RUN < SRC | sacrebleu REF` agrees."""
    import torch

    from nn2gpt.translate.batches import encode_pairs
    from nn2gpt.translate.lines import report, translate_lines

    model, tok, config = load_run(cfg.model, parts)
    pairs, name = _test_pairs(cfg, config["train"]["pair"])
    pairs = pairs[:cfg.limit] if cfg.limit else pairs
    examples = [e for e in encode_pairs(tok, pairs) if len(e[0]) <= model.max_len and len(e[1]) <= model.max_len]
    loss = loss_on(model, examples, tok.pad_id, config["train"]["max_tokens"])
    started = time.time()
    hyps, notes = translate_lines(model, tok, [s for s, _ in pairs], cfg.beam, cfg.alpha, reranker,
                                  greedy=parts.greedy_decode if parts else None)
    seconds = time.time() - started
    report(notes, name)
    score, signature = bleu(hyps, [t for _, t in pairs])
    search = "greedy" if cfg.beam <= 1 else f"beam {cfg.beam}, alpha {cfg.alpha}"
    if reranker is not None:
        search += f", reranked with the language model at weight {reranker.lam}"
    print(f"{name}: {len(pairs):,} sentences, {search}, translated in {seconds:.1f} s "
          f"({torch.get_num_threads()} threads)")
    print(f"BLEU = {score.score:.2f}  ({score})")
    print(f"signature: {signature}")
    print(f"loss {loss:.3f} nats/token, perplexity {math.exp(loss):.2f} (teacher forcing, no label smoothing)")
    for (src, ref), hyp in list(zip(pairs, hyps))[:3]:
        print(f"  src: {src}\n  ref: {ref}\n  hyp: {hyp}")
    return {"bleu": score.score, "signature": signature, "loss": loss, "ppl": math.exp(loss),
            "seconds": seconds, "hypotheses": hyps}


def _test_pairs(cfg, pair: str) -> tuple[list, str]:
    """The (source, reference) pairs to score and their name: --src/--ref files, else the split."""
    from nn2gpt.data.translation import load_pair
    from nn2gpt.translate.lines import read_lines

    src, ref = cfg.src, cfg.ref
    if (src is None) != (ref is None):
        raise UserError("--src and --ref go together: the source sentences and their reference translations")
    if src is None:
        from nn2gpt.data.translation import PAIRS

        if pair not in PAIRS:  # an imported model of another pair (translate/marian.py)
            raise UserError(f"nn2gpt has no built-in test set for {pair}; score files with --src FILE --ref FILE")
        return load_pair(pair, cfg.data_dir)[cfg.split], f"{pair} {cfg.split}"
    sources, references = read_lines(src, "--src"), read_lines(ref, "--ref")
    if len(sources) != len(references):
        raise UserError(f"--src {src} has {len(sources):,} lines but --ref {ref} has {len(references):,}; "
                        f"give files with one reference line per source line")
    if not sources:
        raise UserError(f"--src {src} is empty; give a file with one sentence a line")
    return [(s.strip(), r.strip()) for s, r in zip(sources, references)], str(src)
