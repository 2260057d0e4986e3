"""The translation Transformer: masks, causality, caching, decoding, and that it can learn at all."""

import pytest
import torch
import torch.nn.functional as F

from nn2gpt.translate.batches import collate, encode_pairs
from nn2gpt.translate.bpe import train_bpe
from nn2gpt.translate.decode import beam_decode, greedy_decode, translate
from nn2gpt.translate.model import build_model

PAD, BOS, EOS = 0, 2, 3


def tiny(vocab=40, d=32, layers=2, heads=4, dropout=0.0, seed=0):
    torch.manual_seed(seed)
    m = build_model(dict(vocab_size=vocab, d_model=d, n_layer=layers, n_head=heads, d_ff=64, dropout=dropout,
                         max_len=64, pad_id=PAD, bos_id=BOS, eos_id=EOS))
    return m.eval()


def test_padding_keys_get_exactly_zero_attention_and_change_nothing():
    m = tiny()
    src = torch.tensor([[5, 6, 7, 8, EOS], [9, 10, EOS, PAD, PAD]])  # second sentence padded by 2
    tgt = torch.tensor([[BOS, 11, 12], [BOS, 13, 14]])
    with torch.no_grad():
        memory, keep, enc_w = m.encode(src, return_weights=True)
        logits, cross_w = m.decode(tgt, memory, keep, return_weights=True)
        for w in enc_w + cross_w:  # (B, nh, Tq, S)
            assert torch.all(w[1, :, :, 3:] == 0.0)  # no head, no query, reads padding
            assert torch.allclose(w.sum(-1), torch.ones_like(w.sum(-1)))  # rows still sum to 1
        # the padded sentence alone, without padding, gives the same logits
        alone = m(src[1:, :3], tgt[1:])
    assert torch.allclose(logits[1], alone[0], atol=1e-5)


def test_decoder_is_causal():
    """Perturbing target token j changes the logits at positions >= j only."""
    m = tiny()
    src = torch.tensor([[5, 6, 7, EOS]])
    tgt = torch.tensor([[BOS, 11, 12, 13, 14, 15]])
    with torch.no_grad():
        base = m(src, tgt)
        for j in range(1, tgt.shape[1]):
            bumped = tgt.clone()
            bumped[0, j] = 30
            out = m(src, bumped)
            assert torch.equal(out[0, :j], base[0, :j]), f"position < {j} saw the future"
            assert not torch.allclose(out[0, j], base[0, j])  # and position j does see its own input


def test_incremental_decoding_with_kv_cache_matches_full_decoder():
    m = tiny()
    src = torch.tensor([[5, 6, 7, EOS], [8, 9, EOS, PAD]])
    tgt = torch.tensor([[BOS, 11, 12, 13], [BOS, 14, 15, 16]])
    with torch.no_grad():
        full = m(src, tgt)  # (B, T, V)
        state = m.start_decoding(src)
        steps = torch.stack([m.decode_step(state, tgt[:, t]) for t in range(tgt.shape[1])], dim=1)
    assert torch.allclose(steps, full, atol=1e-5)


def test_beam_size_one_is_greedy_and_beam_finds_at_least_as_likely_output():
    m = tiny(seed=3)
    src = torch.tensor([[5, 6, 7, 8, EOS], [9, 10, 11, EOS, PAD], [12, EOS, PAD, PAD, PAD]])
    with torch.no_grad():
        greedy = greedy_decode(m, src, max_len=12)
        assert beam_decode(m, src, max_len=12, beam=1, alpha=0.0) == greedy
        beam = beam_decode(m, src, max_len=12, beam=5, alpha=0.0)

        def logprob(b, ids):  # total log probability of producing ids then </s> (or hitting the bound)
            seq = ids + [EOS] if len(ids) < 12 else ids
            tgt = torch.tensor([[BOS] + seq])
            lp = F.log_softmax(m(src[b:b + 1], tgt[:, :-1]), -1)[0]
            return lp.gather(1, tgt[0, 1:, None]).sum().item()

    for b in range(3):
        assert logprob(b, beam[b]) >= logprob(b, greedy[b]) - 1e-4


def test_model_overfits_a_handful_of_pairs_to_exact_reproduction():
    pairs = [("La pizza salió del horno.", "The pizza came out of the oven."), ("Tengo hambre.", "I am hungry."),
             ("Hola, Tom.", "Hello, Tom."), ("El gato duerme.", "The cat sleeps.")]
    tok = train_bpe([s for p in pairs for s in p], 120)
    torch.manual_seed(0)
    m = build_model(dict(vocab_size=tok.vocab_size, d_model=32, n_layer=1, n_head=2, d_ff=64, dropout=0.0,
                         max_len=64, pad_id=tok.pad_id, bos_id=tok.bos_id, eos_id=tok.eos_id))
    src, tgt_in, tgt_out = (torch.from_numpy(a) for a in collate(encode_pairs(tok, pairs), range(4), tok.pad_id))
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    for _ in range(120):
        m.train()
        loss = F.cross_entropy(m(src, tgt_in).flatten(0, 1), tgt_out.flatten(), ignore_index=tok.pad_id)
        opt.zero_grad()
        loss.backward()
        opt.step()
    targets = [t for _, t in pairs]
    assert translate(m, tok, [s for s, _ in pairs], beam=1) == targets
    assert translate(m, tok, [s for s, _ in pairs], beam=3) == targets
    _log_probability_matches_step_by_step_decoding(m, tok, pairs[0][0], pairs[0][1])
    _log_probability_matches_step_by_step_decoding(m, tok, pairs[0][0], "The cat is hungry.")


def _log_probability_matches_step_by_step_decoding(m, tok, source, target):
    """evaluate.next_token_log_probs (one teacher-forced pass) == the distributions the cached
    decoder gives when fed the true prefix one token at a time, and log_probability == their sum."""
    from nn2gpt.translate.evaluate import log_probability, next_token_log_probs

    ids = tok.encode(target) + [tok.eos_id]
    got_ids, got = next_token_log_probs(m, tok, source, target)  # (T,), (T, V)
    assert got_ids.tolist() == ids and got.shape == (len(ids), tok.vocab_size)
    state = m.start_decoding(torch.tensor([tok.encode(source) + [tok.eos_id]]))
    total, token = 0.0, torch.tensor([tok.bos_id])
    with torch.no_grad():
        for step, i in enumerate(ids):
            row = m.decode_step(state, token).log_softmax(-1)[0]  # (V,)
            assert torch.allclose(got[step], row, atol=1e-4)
            total += float(row[i])
            token = torch.tensor([i])
    assert abs(log_probability(m, tok, source, target) - total) < 1e-4
    assert total < 0.0


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_parameter_count_and_tied_embedding(dropout):
    m = tiny(vocab=50, d=32, layers=1, heads=2, dropout=dropout)
    names = dict(m.named_parameters())
    assert "embed.weight" in names and not any("lm_head" in n or "out_proj" in n for n in names)
    d, ff, V = 32, 64, 50
    attn = 4 * d * d + 4 * d  # qkv (or q + kv) and proj, with biases
    expected = V * d + (attn + 2 * d * ff + ff + d + 4 * d) + (2 * attn + 2 * d * ff + ff + d + 6 * d) + 4 * d
    assert sum(p.numel() for p in m.parameters()) == expected
