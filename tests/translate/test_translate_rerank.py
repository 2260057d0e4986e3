"""Reranking the beam with a target-language model: the beam's own scores, the language model's
sentence scores, the combined choice, and the command line."""

import math

import pytest
import torch
import torch.nn.functional as F

from nn2gpt.cli import main
from nn2gpt.translate.cli import LM_WEIGHT
from nn2gpt.translate.decode import beam_candidates, beam_decode, length_penalized, max_output_len
from nn2gpt.translate.rerank import Reranker, TargetLM, best_combined

from nn2gpt.translate.model import build_model

PAD, BOS, EOS = 0, 2, 3  # the ids every nn2gpt BPE tokenizer gives the specials


def tiny(vocab=40, seed=0):
    torch.manual_seed(seed)
    return build_model(dict(vocab_size=vocab, d_model=32, n_layer=2, n_head=4, d_ff=64, dropout=0.0, max_len=64,
                            pad_id=PAD, bos_id=BOS, eos_id=EOS)).eval()

ENGLISH = "The milk tasted sour.\nTom knew it well.\nThe soup tasted good.\nWhere is the cat?\n" * 40


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    from nn2gpt.gpt.train import TrainConfig, train

    d = tmp_path_factory.mktemp("lm")
    (d / "en.txt").write_text(ENGLISH, encoding="utf-8")
    train(TrainConfig(text=str(d / "en.txt"), n_layer=1, n_head=2, n_embd=32, block_size=16, batch_size=16,
                      max_iters=60, eval_interval=60, eval_batches=2, sample_tokens=0, out=str(d / "run"),
                      progress=False, device="cpu", threads=1))
    return d / "run"


def test_beam_candidates_carry_the_true_log_probability_and_beam_decode_picks_the_penalized_best():
    m = tiny(seed=3)
    eos_bias = torch.zeros(40)
    eos_bias[EOS], eos_bias[BOS] = 4.0, -20.0  # so that hypotheses end, at different lengths (this one repeats <s>)
    step = m.decode_step
    m.decode_step = lambda state, tokens: step(state, tokens) + eos_bias
    src = torch.tensor([[5, 6, 7, 8, EOS], [9, 10, 11, EOS, PAD]])
    ended, lengths = 0, set()
    with torch.no_grad():
        beams = beam_candidates(m, src, max_len=12, beam=4)
        for b, hyps in enumerate(beams):
            assert len(hyps) == 4
            for ids, logp, length in hyps:
                assert EOS not in ids and PAD not in ids and length in (len(ids) + 1, 12)
                seq = ids + [EOS] if length == len(ids) + 1 else ids  # ended with </s>, or hit the bound
                ended += length == len(ids) + 1
                lengths.add(length)
                tgt = torch.tensor([[BOS] + seq])
                lp = F.log_softmax(m(src[b:b + 1], tgt[:, :-1]) + eos_bias, -1)[0]  # teacher forcing, all at once
                assert math.isclose(logp, lp.gather(1, tgt[0, 1:, None]).sum().item(), abs_tol=1e-4)
            assert [h[1] for h in hyps] == sorted((h[1] for h in hyps), reverse=True)  # beam order
            by_alpha = {alpha: max(hyps, key=lambda h: length_penalized(h[1], h[2], alpha))[0] for alpha in (0.0, 2.0)}
            for alpha, best in by_alpha.items():
                assert beam_decode(m, src, 12, 4, alpha)[b] == best
    assert ended >= 4 and len(lengths) >= 3  # the cases above really were exercised
    assert length_penalized(-3.0, 7, 1.0) == -3.0 / 2.0 and length_penalized(-3.0, 7, 0.0) == -3.0


def test_the_language_model_scores_a_sentence_as_the_sum_of_its_next_character_log_probs(lm_run):
    lm = TargetLM(lm_run)
    texts = ["The soup tasted good.", "Tom knew.", "The milk tasted sour. The soup tasted good. Tom knew it."]
    got = lm.log_probs(texts, batch=2)  # padding inside a batch must not matter
    for text, score in zip(texts, got):
        ids = [lm.tok.stoi[c] for c in "\n" + text + "\n"]
        want = 0.0
        for start in range(0, len(ids) - 1, lm.block):  # the windows the docstring promises
            piece = torch.tensor([ids[start:start + lm.block + 1]])
            with torch.no_grad():
                _, loss = lm.model(piece[:, :-1], piece[:, 1:])  # mean cross-entropy, computed by the model itself
            want -= loss.item() * (piece.shape[1] - 1)
        assert math.isclose(score, want, rel_tol=1e-4)
    assert len(texts[2]) + 2 > lm.block  # the last one really needed two windows
    # it learnt its text: the sentence it saw beats the same words shuffled
    assert lm.log_probs(["The soup tasted good."])[0] > lm.log_probs(["Good soup the tasted."])[0]
    # a character it never saw is left out of the reading and costs a blind guess, log(1/V)
    plain, with_n = lm.log_probs(["The soup tasted good.", "The soup tasted good.ñ"])
    assert math.isclose(with_n, plain - math.log(lm.tok.vocab_size), rel_tol=1e-6)


def test_the_combined_score_trades_the_two_models_as_its_formula_says():
    hyps = [([1, 2, 3], -1.0, 4), ([4, 5, 6], -2.0, 4)]  # the translation model prefers the first
    lm = [-30.0, -20.0]  # the language model the second, by 10 nats
    assert best_combined(hyps, lm, 0.0, 0.6) == 0  # lam 0: plain beam search
    assert best_combined(hyps, lm, 0.05, 0.6) == 0  # -1 - 1.5 > -2 - 1.0
    assert best_combined(hyps, lm, 0.2, 0.6) == 1  # -1 - 6 < -2 - 4
    # the length penalty divides the sum: a long hypothesis is not punished for its length
    assert best_combined([([1], -3.0, 2), ([1] * 9, -3.3, 10)], [0.0, 0.0], 0.0, 1.0) == 1


def test_reranking_with_weight_zero_is_beam_search_and_a_heavy_weight_follows_the_language_model(lm_run):
    from nn2gpt.translate.bpe import train_bpe
    from nn2gpt.translate.decode import translate

    tok = train_bpe(ENGLISH.splitlines() + ["La leche sabía agria.", "Tom lo sabía bien."], 80)
    m = tiny(vocab=tok.vocab_size, seed=1)
    sentences = ["La leche sabía agria.", "Tom lo sabía."]
    lm = TargetLM(lm_run)
    with torch.no_grad():
        assert translate(m, tok, sentences, 4, 0.6, reranker=Reranker(lm, 0.0)) == translate(m, tok, sentences, 4)
        heavy = translate(m, tok, sentences, 4, 0.0, reranker=Reranker(lm, 1e4))  # alpha 0: no length penalty
        src = torch.tensor([tok.encode(s) + [tok.eos_id] for s in sentences[:1]])
        texts = [tok.decode(ids) for ids, _, _ in beam_candidates(m, src, max_output_len(src.shape[1], 64), 4)[0]]
    scores = lm.log_probs(texts)
    assert heavy[0] == texts[scores.index(max(scores))]


def _one_line_error(argv, capsys, needle):
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own refusals exit by themselves, also with one line
        code = e.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err


def test_cli_target_text_and_lm_flags(lm_run, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "en.txt"
    assert main(["translate", "target-text", "--pair", "es-en", "--out", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 114_738 and all(lines)  # every English sentence of the training split
    run = tmp_path / "tm"
    assert main(["translate", "train", "--pair", "es-en", "--out", str(run), "--epochs", "1", "--d-model", "32",
                 "--layers", "1", "--heads", "2", "--ff", "64", "--vocab-size", "300", "--max-tokens", "600",
                 "--limit", "100", "--warmup", "10", "--quiet", "--device", "cpu"]) == 0
    capsys.readouterr()
    assert main(["translate", "La leche sabía agria.", "--model", str(run), "--lm", str(lm_run),
                 "--lm-weight", "0.5"]) == 0
    assert capsys.readouterr().out.endswith("\n")  # (a 100-pair model may well translate to nothing)
    assert main(["translate", "eval", "--model", str(run), "--limit", "8", "--lm", str(lm_run)]) == 0
    assert f"reranked with the language model at weight {LM_WEIGHT}" in capsys.readouterr().out
    _one_line_error(["translate", "Hola.", "--model", str(run), "--lm", str(tmp_path / "none")], capsys, "gpt train")
    _one_line_error(["translate", "Hola.", "--model", str(run), "--lm", str(run)], capsys, "translation model")
    _one_line_error(["translate", "Hola.", "--model", str(run), "--lm", str(lm_run), "--lm-weight", "-1"],
                    capsys, "--lm-weight")
    _one_line_error(["translate", "target-text", "--pair", "fr-en", "--out", str(out)], capsys, "es-en")
    _one_line_error(["translate", "target-text", "--pair", "es-en", "--out", str(tmp_path)], capsys, "cannot write")
    _one_line_error(["translate", "Hola.", "--model", str(run), "--lm", str(lm_run), "--beam", "1"], capsys, "--beam 2")
    _one_line_error(["translate", "Hola.", "--model", str(run), "--lm-weight", "0.1"], capsys, "needs --lm")


def test_a_language_model_that_reads_ahead_is_refused(tmp_path, capsys):
    from nn2gpt.gpt.train import TrainConfig, train

    (tmp_path / "en.txt").write_text(ENGLISH, encoding="utf-8")
    train(TrainConfig(text=str(tmp_path / "en.txt"), n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=4,
                      max_iters=2, eval_interval=2, eval_batches=1, sample_tokens=0, out=str(tmp_path / "lm"),
                      progress=False, device="cpu", threads=1, mask="none"))
    with pytest.raises(Exception) as info:
        TargetLM(tmp_path / "lm")
    assert type(info.value).__name__ == "UserError" and "--mask none" in str(info.value)
