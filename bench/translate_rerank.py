"""Reranking the beam with a target-language model: choose the weight on val, report it on test.

    NN2GPT_DATA=../shared/data python bench/translate_rerank.py --model RUN --lm GPT_RUN \
        [--weights 0 0.025 0.05 0.1 0.2 0.4] [--beam 4] [--alpha 0.6] [--threads 2] [--limit N]

Each split is beam-searched once and every hypothesis scored by the language model once; then
each weight only re-picks from those scores (translate/rerank.py's `best_combined`), so the whole
grid costs one decoding per split. The weight is chosen by val BLEU alone (ties: the smaller);
test BLEU is printed for that weight and for 0 (plain beam search), and the pizza sentence is
translated with the chosen weight only.
"""

from __future__ import annotations

import argparse
import time

PIZZA = "La pizza salió del horno y sabía bien."


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--lm", required=True)
    ap.add_argument("--weights", type=float, nargs="+", default=[0, 0.025, 0.05, 0.1, 0.2, 0.4])
    ap.add_argument("--beam", type=int, default=4)
    ap.add_argument("--alpha", type=float, default=0.6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None, help="only the first N pairs of each split (a smoke run)")
    args = ap.parse_args()

    import torch

    from nn2gpt.data.translation import load_pair
    from nn2gpt.translate.decode import sentence_beams, translate
    from nn2gpt.translate.evaluate import bleu, load_run
    from nn2gpt.translate.rerank import Reranker, TargetLM, best_combined, combined_scores

    torch.set_num_threads(args.threads)
    model, tok, config = load_run(args.model)
    lm = TargetLM(args.lm)
    splits = load_pair(config["train"]["pair"])

    def beams_and_lm(pairs):
        """Every sentence's beam (ids, log P_tm, length), and each hypothesis' text and LM score."""
        beams = sentence_beams(model, tok, [s for s, _ in pairs], args.beam)
        return (beams, *lm.score_beams(beams, tok))

    def bleu_at(pairs, beams, texts, lms, lam):
        hyps = [ts[best_combined(b, s, lam, args.alpha)] for b, ts, s in zip(beams, texts, lms)]
        return bleu(hyps, [t for _, t in pairs])

    results = {}
    for split in ("val", "test"):
        started = time.time()
        pairs = splits[split][:args.limit]
        beams, texts, lms = beams_and_lm(pairs)
        print(f"{split}: {len(pairs):,} sentences, beam {args.beam} + LM scores in {time.time() - started:.1f} s")
        results[split] = {lam: bleu_at(pairs, beams, texts, lms, lam) for lam in args.weights}
        for lam, (score, signature) in results[split].items():
            print(f"  {split} lam {lam:<6}: BLEU {score.score:.2f}")
    chosen = max(args.weights, key=lambda lam: (round(results["val"][lam][0].score, 2), -lam))
    print(f"chosen by val BLEU: lam = {chosen}")
    plain = f", {results['test'][0.0][0].score:.2f} at lam 0 (plain beam {args.beam})" if 0.0 in results["test"] else ""
    print(f"test BLEU: {results['test'][chosen][0].score:.2f} at lam {chosen}{plain}")
    print(f"signature: {results['test'][chosen][1]}")
    reranker = Reranker(lm, chosen)
    pizza = translate(model, tok, [PIZZA], args.beam, args.alpha, reranker=reranker)[0]
    print(f"pizza at lam {chosen}: {pizza}")
    beams = sentence_beams(model, tok, [PIZZA], args.beam)
    texts, lms = lm.score_beams(beams, tok)
    combined = combined_scores(beams[0], lms[0], chosen, args.alpha)
    for (ids, tm, length), text, lm_score, score in zip(beams[0], texts[0], lms[0], combined):
        print(f"  log P_tm {tm:7.3f}  log P_lm {lm_score:8.2f}  length {length:2d}  combined {score:7.3f}  {text}")


if __name__ == "__main__":
    main()
