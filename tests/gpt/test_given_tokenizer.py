"""`train(cfg, tokenizer=...)`: a run trains on the ids of the tokenizer object it is given (what
`nn2gpt learn run tokens` passes, the learner's BPE), saves it like its own, and a resumed run
keeps the one it was trained with."""

import pytest

from nn2gpt.errors import UserError

TINY = dict(n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=4, eval_batches=2, max_iters=4,
            eval_interval=2, warmup=2, sample_tokens=0, progress=False, threads=1, device="cpu")


class Recording:
    """The chapter's BPE, counting the texts it is asked to encode."""

    def __init__(self, tok):
        self.tok, self.encoded = tok, 0
        self.vocab_size, self.decode, self.decode_bytes, self.to_json = (
            tok.vocab_size, tok.decode, tok.decode_bytes, tok.to_json)

    def encode(self, text):
        self.encoded += 1
        return self.tok.encode(text)


@pytest.fixture
def text(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("To be, or not to be, that is the question.\nWhether tis nobler in the mind to suffer.\n" * 80,
                    encoding="utf-8")
    return path


def test_a_given_tokenizer_is_the_one_the_run_trains_and_saves(text, tmp_path):
    from nn2gpt.checkpoint import load_checkpoint
    from nn2gpt.gpt.batches import training_text
    from nn2gpt.gpt.train import TrainConfig, train
    from nn2gpt.tokens.train import train as train_bpe

    tok = Recording(train_bpe(training_text(text.read_text(encoding="utf-8")), 300)[0])
    given = train(TrainConfig(text=str(text), tokenizer="bpe", vocab_size=300, out=str(tmp_path / "given"), **TINY),
                  tokenizer=tok)
    assert tok.encoded == 2 and given.tokenizer is tok            # the training and the validation split
    own = train(TrainConfig(text=str(text), tokenizer="bpe", vocab_size=300, out=str(tmp_path / "own"), **TINY))
    assert [v for _, _, v in given.val_history] == [v for _, _, v in own.val_history]   # the same ids
    assert load_checkpoint(tmp_path / "given").tokenizer == own.tokenizer.to_json()
    with pytest.raises(UserError, match="is resumed with the tokenizer it was trained with"):
        train(TrainConfig(text=str(text), tokenizer="bpe", vocab_size=300, out=str(tmp_path / "given"), resume=True,
                          **TINY | {"max_iters": 6}), tokenizer=tok)
