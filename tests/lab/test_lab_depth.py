"""The lab at depth: the paper's sinusoidal scaling, the head-size suite, length extrapolation,
the copy shortcut seen in the attention, and two budgets side by side."""

import json
import math

import pytest
import torch
from lab_shared import tiny_lab

from nn2gpt.cli import main
from nn2gpt.gpt.variants import ModelConfig, build_model
from nn2gpt.lab import budgets, explain, heads, probe
from nn2gpt.lab.plan import make_plan

pytestmark = pytest.mark.slow  # trains, or drives processes or a browser, for seconds: `-m 'not slow'` leaves it out

TINY = ["--tiny", "--seeds", "1", "--jobs", "1"]


def _model(pos="learned", seed=0, **kw):
    torch.manual_seed(seed)
    cfg = ModelConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16, pos=pos, **kw)
    return build_model(cfg).eval()


def test_sinusoidal_scaled_multiplies_the_embeddings_by_sqrt_d_before_adding_the_table():
    from nn2gpt.nn.positional import sinusoidal_encoding

    plain, scaled = _model("sinusoidal"), _model("sinusoidal_scaled")
    scaled.load_state_dict(plain.state_dict())
    idx = torch.randint(0, 11, (2, 8))
    e = plain.tok_emb(idx)  # (2, 8, 16)
    pe = sinusoidal_encoding(8, 16)
    torch.testing.assert_close(scaled.embed(idx), e * 4.0 + pe)  # √16 = 4
    torch.testing.assert_close(plain.embed(idx), e + pe)


def test_the_head_size_suite_keeps_the_width_and_trades_heads_for_size():
    plan = make_plan("heads", 1)
    sizes = {v.name: (v.change["n_embd"], v.change["n_embd"] // v.change["n_head"]) for v in plan.variants[1:]}
    assert sizes == {f"{s}_h{d}": (128, d) for s in ("scaled", "dot", "squared") for d in (8, 32, 128)}
    assert {v.change["score"] for v in plan.variants[1:]} == {"scaled_dot", "dot", "squared"}


@pytest.mark.parametrize("pos", ["rope", "alibi", "none", "sinusoidal", "sinusoidal_scaled"])
def test_a_longer_context_is_the_same_function_on_the_first_positions(pos):
    model = _model(pos)
    longer = probe.with_context(model, 32)
    idx = torch.randint(0, 11, (2, 32))
    with torch.no_grad():
        torch.testing.assert_close(longer(idx)[0][:, :8], model(idx[:, :8])[0])  # causal: later keys change nothing
    assert longer.cfg.block_size == 32 and model.cfg.block_size == 8


def test_learned_positions_cannot_go_beyond_their_table():
    assert probe.with_context(_model("learned"), 16) is None


def test_weight_on_next_is_the_superdiagonal_mean_per_head():
    w = torch.softmax(torch.randn(3, 2, 6, 6), dim=-1)  # (B, nh, T, T)
    expected = [[sum(float(w[b, h, t, t + 1]) for b in range(3) for t in range(5)) / 15 for h in range(2)]]
    assert probe.weight_on_next([w])[0] == pytest.approx(expected[0])
    copy = torch.zeros(1, 1, 4, 4)
    copy[0, 0, torch.arange(3), torch.arange(1, 4)] = 1.0  # every query looks at the next key
    assert probe.weight_on_next([copy]) == [[1.0]]


def test_copy_words_follow_the_weight_against_chance():
    tf = {"no_mask": 0.3, "anticausal": 2.2}
    text = explain.copying({"no_mask": (0.93, 1, 2), "anticausal": (0.05, 0, 0)}, tf, 2.1, T=64)
    assert "layer 1, head 2" in text and "*copies*" in text and "the collapse copying gives" in text
    assert "no more than chance" in text.split("`anticausal`")[1]


def test_extrapolation_words_follow_the_losses():
    text = explain.extrapolation({"learned": {"64": 2.0, "128": None}, "rope": {"64": 2.0, "128": 2.01},
                                  "sinusoidal": {"64": 2.0, "128": 3.2}}, 64)
    assert "`learned` cannot be scored beyond 64" in text and "`rope` holds its loss" in text
    assert "`sinusoidal` falls apart" in text


def _results(steps, vals):
    variants = [{"name": n, "what": n, "suites": ["scores"] if "_h" not in n else ["heads"],
                 "config": {"n_embd": 128, "n_head": 128 // int(n.split("_h")[1])} if "_h" in n else {}}
                for n in vals]
    runs = [{"variant": n, "seed": s, "final_val": v} for n, vs in vals.items() for s, v in enumerate(vs)]
    return {"settings": {"steps": steps, "seeds": [0, 1], "command": f"nn2gpt lab run --steps {steps}"},
            "variants": variants, "runs": runs}


def test_two_budgets_say_what_survives_reverses_and_fades():
    short = _results(490, {"baseline": [2.00, 2.01], "dot": [1.90, 1.91], "squared": [2.20, 2.21],
                           "scaled_h8": [1.9, 1.9], "dot_h8": [1.9, 1.9]})
    long = _results(2000, {"baseline": [1.70, 1.71], "dot": [1.80, 1.81], "squared": [1.90, 1.91],
                           "scaled_h8": [1.6, 1.6], "dot_h8": [1.8, 1.8]})
    rows = {r.split("|")[1].strip(" `"): r for r in budgets.table(short, long)[2:]}
    assert "**reverses**" in rows["dot"] and "survives" in rows["squared"] and "**appears**" in rows["dot_h8"]
    assert "`scaled_h8`" in rows["dot_h8"] and rows["baseline"].count("—") >= 2
    assert budgets.counts(short, long) == {"reverses": 1, "survives": 1, "appears": 1}
    lines = budgets.by_question(short, long)
    assert any(line.startswith("- **Scores.**") and "`dot`: lower than `baseline` → higher than" in line
               for line in lines)
    long["runs"] = [r for r in long["runs"] if r["variant"] != "squared"]  # not run at the long budget
    assert "not run" in {r.split("|")[1].strip(" `"): r for r in budgets.table(short, long)[2:]}["squared"]


def test_heads_grid_reads_head_size_from_the_config():
    g = heads.grid(_results(490, {"baseline": [2.0, 2.0], "scaled_h8": [1.9, 1.8], "dot_h32": [2.1, 2.2]}))
    assert g == {"scaled": {8: [1.9, 1.8]}, "dot": {32: [2.1, 2.2]}}


@pytest.fixture(scope="module")
def two_labs(tmp_path_factory):
    """The short lab: every variant at 12 steps (lab_shared's, which test_lab_cli reads too); the long one:
    the masks suite at 20 steps."""
    short, long = tiny_lab(tmp_path_factory), tmp_path_factory.mktemp("long")
    # the longer budget for one question only: the report marks the variants it did not run "not run"
    assert main(["lab", "run", *TINY, "--suite", "masks", "--skip", "window", "--steps", "20", "--out", str(long)]) == 0
    return short, long


def next_weight_by_hand(results: dict, name: str) -> list[list[float]]:
    """The weight on key t+1, recomputed apart from the lab's probe: the variant retrained (same seed and
    steps, so the same weights), each validation window the lab measures fed alone through the heatmaps'
    look_inside, and the weights of query t on key t+1 averaged in plain Python loops, per layer and head."""
    from nn2gpt.gpt.heatmaps import look_inside
    from nn2gpt.gpt.train import train
    from nn2gpt.lab import measure

    record = next(r for r in results["runs"] if r["variant"] == name)
    plan = make_plan(seeds=1, only=[name], tiny=True)
    variant = next(v for v in plan.variants if v.name == name)
    trained = train(measure.train_config(plan, variant, record["seed"], record["steps"], None))
    model = trained.model.eval()
    sums, count = None, 0
    for x, _ in measure.val_windows(trained.tokenizer, plan, None)[:4]:  # the windows the lab measures on
        for row in x:  # (T,) one window
            with torch.no_grad():
                layers, _ = look_inside(model, torch.from_numpy(row[None]))  # [(nh, T, T)] per layer
            if sums is None:
                sums = [[0.0] * w.shape[0] for w in layers]
            for l, w in enumerate(layers):
                for h in range(w.shape[0]):
                    sums[l][h] += sum(float(w[h, t, t + 1]) for t in range(len(row) - 1))
            count += len(row) - 1
    return [[v / count for v in layer] for layer in sums]


def test_a_lab_measures_extrapolation_and_copying(two_labs):
    results = json.loads((two_labs[0] / "results.json").read_text())
    by = {r["variant"]: r for r in results["runs"]}
    assert by["baseline"]["contexts"] == {"16": pytest.approx(by["baseline"]["final_val"]), "32": None, "64": None}
    assert all(math.isfinite(v) for v in by["rope"]["contexts"].values())
    assert by["baseline"]["next_weight"] == [[0.0, 0.0]]  # causal: key t+1 is masked
    reference = next_weight_by_hand(results, "no_mask")
    assert len(by["no_mask"]["next_weight"]) == len(reference) == 1 and len(reference[0]) == 2  # 1 layer, 2 heads
    for layer_got, layer_ref in zip(by["no_mask"]["next_weight"], reference):
        assert layer_got == pytest.approx(layer_ref, abs=1e-5)
    assert 0 < min(reference[0]) and max(reference[0]) < 1
    assert set(results["copy_pictures"]) == {"no_mask", "anticausal"}
    assert (two_labs[0] / "attention_no_mask.png").is_file()
    assert "dot_h32" in by and "contexts" not in by["dot_h32"]


def test_the_report_sets_two_budgets_side_by_side(two_labs, tmp_path):
    short, long = two_labs
    assert main(["lab", "report", "--results", str(short / "results.json"), "--long", str(long / "results.json"),
                 "--out", str(tmp_path)]) == 0
    report = (tmp_path / "REPORT.md").read_text()
    assert "## Two budgets: what survives longer training" in report and "| 12 steps | gap | 20 steps |" in report
    assert "## " + heads.TITLE in report and "**Length extrapolation**" in report and "seen directly" in report
    assert "--long" not in report.split("## Two budgets")[0]


def test_long_sets_2000_steps_and_its_own_folder(monkeypatch, tmp_path):
    import nn2gpt.lab.runner as runner

    seen = {}
    monkeypatch.setattr(runner, "run_lab", lambda plan, **kw: seen.update(kw) or tmp_path / "REPORT.md")
    monkeypatch.chdir(tmp_path)
    assert main(["lab", "run", "--long", "--seeds", "2"]) == 0
    assert seen["steps"] == 2000 and seen["out_dir"] == "runs/lab-long"
    assert main(["lab", "run", "--long", "--steps", "300", "--out", "x"]) == 0
    assert seen["steps"] == 300 and seen["out_dir"] == "x"


@pytest.mark.parametrize("skip, words", [("baseline", "cannot leave out the baseline"),
                                         ("nope", "unknown variant nope in --skip")])
def test_bad_skip_is_one_line(skip, words, capsys):
    assert main(["lab", "run", "--tiny", "--skip", skip]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err
