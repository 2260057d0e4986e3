"""Words from numbers: the report's paragraphs, chosen by what the lab measured.

The lab is rerun with other budgets, seeds and machines, so no sentence here may assume an
outcome. Each helper looks at the measured numbers and picks the wording that is true for
them ("lower than", "within the seed-to-seed spread of", ...). The *why* (the mathematics) is
fixed text; the *what happened* is always computed.
"""

from __future__ import annotations

import math
import statistics


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and population standard deviation (0 for a single seed)."""
    return statistics.fmean(values), (statistics.pstdev(values) if len(values) > 1 else 0.0)


def fmt(values: list[float]) -> str:
    """'1.234 ± 0.012' (or just '1.234' for one seed)."""
    m, s = mean_std(values)
    return f"{m:.3f} ± {s:.3f}" if len(values) > 1 else f"{m:.3f}"


def verdict(a: list[float], b: list[float]) -> str:
    """'lower', 'higher' or 'same': a's mean loss against b's, respecting the seed-to-seed noise.

    A difference counts only when it is larger than twice the bigger of the two spreads
    (and than 0.01 nats, below which nobody should care).
    """
    (ma, sa), (mb, sb) = mean_std(a), mean_std(b)
    if abs(ma - mb) <= max(2 * max(sa, sb), 0.01):
        return "same"
    return "lower" if ma < mb else "higher"


def compare(a: list[float], b: list[float]) -> str:
    """`verdict` in words: "within the seed-to-seed spread (±s) of", "0.123 nats lower than", ...
    With one seed there is no spread, so the wording says so."""
    word = verdict(a, b)
    if word == "same":
        spread = f"the seed-to-seed spread (±{max(mean_std(a)[1], mean_std(b)[1]):.3f})" if len(a) > 1 else "0.01 nats"
        return f"within {spread} of"
    return f"{abs(mean_std(a)[0] - mean_std(b)[0]):.3f} nats {word} than"


def dot_outcome(dot: list[float] | None, base: list[float] | None) -> str:
    """What the unscaled dot product's measured loss says, in the words its numbers allow."""
    if not dot or not base:
        return ""
    word = verdict(dot, base)
    if word == "lower":
        return (f"Here it ended {compare(dot, base)} the scaled dot product: at this head size and budget the "
                f"sharper softmax did not hurt; the random-q,k curve shows how the risk grows with the head size.")
    if word == "same":
        return (f"Here it ended {compare(dot, base)} the scaled dot product: no penalty is measurable at this "
                f"head size; the random-q,k curve shows how the risk grows with it.")
    return (f"Here it paid for it: it ended {compare(dot, base)} the scaled dot product, and the random-q,k "
            f"curve shows the penalty growing with the head size.")


def q1_scores(finals: dict[str, list[float]], random_entropy: dict[str, dict[int, float]],
              trained_entropy: dict[str, float], max_entropy: float, head_size: int,
              seconds: dict[str, float] | None = None) -> str:
    """Question 1: why the (scaled) dot product, and what the other scores do."""
    scaled, dot = random_entropy.get("scaled_dot", {}), random_entropy.get("dot", {})
    lines = []
    if scaled and dot:
        d0, d1 = min(dot), max(dot)
        trend = "falls" if dot[d1] < dot[d0] else "does not fall"
        lines.append(
            f"**Saturation, measured.** With random queries and keys (every entry N(0, 1)), a dot product q·k "
            f"is a sum of d products of variance 1, so its variance is d and its size grows like √d. "
            f"Scaled by 1/√d, the mean entropy of an attention row stays between {min(scaled.values()):.2f} "
            f"and {max(scaled.values()):.2f} nats for d = {d0}…{d1} (spread evenly would be {max_entropy:.2f}). "
            f"Unscaled, it {trend} from {dot[d0]:.2f} nats at d = {d0} to {dot[d1]:.2f} at d = {d1}: "
            f"the largest score in a row dwarfs the others, the softmax becomes an arg-max, each query "
            f"looks at about e^H ≈ {math.exp(dot[d1]):.1f} keys instead of e^H ≈ {math.exp(scaled[d1]):.1f}, "
            f"and the gradient through an almost one-hot softmax is almost zero, so learning stalls. "
            f"That is why Vaswani et al. divide by √d.")
    base = finals.get("baseline")
    if base:
        ranked = sorted(finals, key=lambda n: mean_std(finals[n])[0])
        lines.append(
            f"**Trained, same budget (head size {head_size}).** Best mean validation loss: "
            f"`{ranked[0]}` ({fmt(finals[ranked[0]])}); worst: `{ranked[-1]}` ({fmt(finals[ranked[-1]])}). "
            + " ".join(f"`{n}` is {compare(finals[n], base)} the scaled dot product." for n in ranked if n != "baseline"))
    why = {
        "dot": "At head size {hs} the unscaled scores are √{hs} = {r:.0f}× the scaled ones, and the first layer's "
               "LayerNorm and small initial weights keep q·k small at the start, so any saturation comes as "
               "training makes q and k larger. " + dot_outcome(finals.get("dot"), base),
        "squared": "(q∘q)·(k∘k) = Σ q_i² k_i² adds only non-negative terms: it cannot say \"these two vectors "
                   "point in opposite directions\", and q and −q get the same score, so half of what a dot "
                   "product can express is thrown away.",
        "inverse": "The \"inverse\" score s/(s² + 0.01), s = q·k/√d, is 1/s away from zero: it turns the "
                   "order upside down (the *least* aligned keys with a small positive s get the largest "
                   "scores), is not monotonic in similarity and is capped at ±5, so the model must route "
                   "information through a non-monotonic, bounded function of q·k.",
        "neg_dot": "−q·k is a control: the network can flip the sign of its query weights and get exactly the "
                   "scaled dot product back, so any difference from the baseline is the noise of training.",
        "cosine": "Cosine similarity throws away the lengths of q and k, so every score lies in [−1, 1] "
                  "times a learned temperature: it cannot saturate by accident, but it must learn how sharp to be.",
        "additive": "The additive score runs a small network on every (query, key) pair: more weights and a "
                    "(T, T, d) tensor per head, so each step costs more time and memory than a matrix product.",
        "neg_l2": "−|q−k|² = 2q·k − |q|² − |k|² (all divided by √d): the |q|² term is the same for every key in a row and cancels "
                  "in the softmax, so this is a dot product plus a penalty on long keys.",
    }
    lines += [f"- `{n}`: " + why[n].format(hs=head_size, r=math.sqrt(head_size))
              + (f" Mean attention entropy after training: {trained_entropy[n]:.2f} nats "
                 f"(baseline {trained_entropy.get('baseline', float('nan')):.2f})." if n in trained_entropy else "")
              + (f" One run took {seconds[n]:.0f} s against {seconds['baseline']:.0f} s for the baseline "
                 f"(same steps)." if seconds and n in seconds and "baseline" in seconds and
                 seconds[n] > 1.5 * seconds["baseline"] else "")
              for n in finals if n in why]
    return "\n\n".join(lines[:2]) + ("\n\n" + "\n".join(lines[2:]) if len(lines) > 2 else "")


def q2_masks(finals: dict[str, list[float]], mask: dict[str, dict[str, list[float]]], vocab: int) -> str:
    """Question 2: what masking the lower-left half (or nothing) does, from the three losses.

    `mask[variant]` has lists (one value per seed) for 'teacher_forced', 'causal_eval' and
    'generated' (the loss, under the causal baseline of the same seed, of text the variant wrote).
    """
    out = []
    base = mask.get("baseline")
    uniform = math.log(vocab)
    for name in ("anticausal", "no_mask"):
        m = mask.get(name)
        if not m or not base:
            continue
        tf, ce, gen = (mean_std(m[k])[0] for k in ("teacher_forced", "causal_eval", "generated"))
        btf, bgen = mean_std(base["teacher_forced"])[0], mean_std(base["generated"])[0]
        sees = "the positions after it" if name == "anticausal" else "every position, before and after"
        s = (f"**`{name}`** lets position t see {sees}, including t+1, whose character is the very "
             f"target it must predict. Its teacher-forced validation loss is {tf:.3f} nats "
             f"(causal baseline {btf:.3f}): ")
        s += ("far below anything an honest model reaches, because predicting the next character has "
              "become copying it. " if tf < btf - 0.1 else
              f"{compare(m['teacher_forced'], base['teacher_forced'])} the baseline's, nowhere near the collapse "
              "copying gives, so at this budget it has not learned to copy. ")
        s += (f"Give the same weights the causal mask (the situation of generation, where the future does "
              f"not exist yet) and the loss is {ce:.3f} nats, ")
        s += ("worse than guessing uniformly among the characters (log {v} = {u:.2f})" if ce > uniform else
              "{cmp} the baseline's {b:.3f}").format(v=vocab, u=uniform, cmp=("far above" if ce > btf + 0.1
                                                                             else "close to"), b=btf)
        s += (f". And the text it writes itself, scored by the causal baseline of the same seed, costs "
              f"{gen:.3f} nats per character against {bgen:.3f} for the baseline's own text: ")
        s += ("its samples are much less like Shakespeare." if gen > bgen + 0.1 else
              "about as plausible as the baseline's, so here the copying shortcut did not ruin generation.")
        out.append(s)
    if "window" in finals and "baseline" in finals:
        cmp = compare(finals["window"], finals["baseline"])
        s = (f"**`window`** keeps the causal mask but lets each position see only the last few characters. "
             f"Its validation loss is {cmp} the full causal mask: ")
        if cmp.startswith("within"):
            s += "at this budget the longer context makes no measurable difference."
        elif "higher" in cmp:
            s += "that difference is what the longer context is worth to this small model."
        else:
            s += ("at this budget the narrow window *helps*; a plausible reason: a small model learns spelling and short words "
                  "first, and a window leaves fewer places to look; the longer context only pays once "
                  "the model has learned to use it.")
        out.append(s)
    return "\n\n".join(out)


def q3_positions(finals: dict[str, list[float]], toeplitz_error: float, T: int, d: int) -> str:
    """Question 3: reading the sinusoidal pictures, then the trained comparison."""
    s = (f"**Reading the pictures.** Row t of the sinusoidal matrix ({T} positions × {d} numbers) is "
         f"sin/cos of t·ω_i with frequencies ω_i = 10000^(−2i/d): the first columns swing fast (period 2π ≈ 6 "
         f"positions), the last ones so slowly that they barely change over {T} positions, like the hands of "
         f"a clock. Because sin a·sin b + cos a·cos b = cos(a − b), the dot product of two rows depends only on "
         f"their distance: measured, it differs from a function of |i − j| alone by at most {toeplitz_error:.1e}. "
         f"So the similarity picture shows bands parallel to the diagonal, largest on it (a position is most "
         f"like itself) and falling off with distance: attention can tell *how far back* a key is from a dot "
         f"product.")
    out = [s]
    base = finals.get("baseline")
    if base:
        ranked = sorted(finals, key=lambda n: mean_std(finals[n])[0])
        out.append("**Trained, same budget.** " + " ".join(
            f"`{n}` ({fmt(finals[n])}) is {compare(finals[n], base)} learned positions." for n in ranked
            if n != "baseline"))
        if "sinusoidal" in finals and mean_std(finals["sinusoidal"])[0] > mean_std(base)[0] + 0.1:
            out.append("Why is `sinusoidal` so far behind here? Its table has entries of size up to 1, while the "
                       "token embeddings start at N(0, 0.02) (GPT-2's initialisation): added together, *where* a "
                       "character is drowns out *which* character it is until the embeddings grow. (The original "
                       "Transformer multiplies the embeddings by √d before adding the sinusoids; `sinusoidal` "
                       "does not.) Learned positions start small, like the tokens, and RoPE and ALiBi never add "
                       "anything to the embeddings at all.")
        if "sinusoidal_scaled" in finals and "sinusoidal" in finals:
            out.append(f"**The paper's way** (`sinusoidal_scaled`: token embeddings × √d = {math.sqrt(d):.0f} "
                       f"before the table is added) is {compare(finals['sinusoidal_scaled'], finals['sinusoidal'])} "
                       f"adding the table to unscaled embeddings, and {compare(finals['sinusoidal_scaled'], base)} "
                       f"learned positions: "
                       + ("the scale was most of what held the sinusoids back." if
                          mean_std(finals["sinusoidal_scaled"])[0] < mean_std(finals["sinusoidal"])[0] - 0.05 else
                          "the scale alone does not explain the gap." if
                          mean_std(finals["sinusoidal"])[0] > mean_std(base)[0] + 0.1 else "no gap to explain here."))
        if "no_pos" in finals:
            out.append("Without any positional information, attention sees a *set* of characters, not a "
                       "sequence. The causal mask still leaks a little order (position t averages over t+1 "
                       "keys, so it can count), which is why `no_pos` "
                       + (f"can still learn; here it is {compare(finals['no_pos'], base)} the baseline, "
                          "which is what the learned order is worth at this budget."))
    return "\n\n".join(out)


def learned_positions(near: float, far: float, T: int) -> str:
    """Reading the trained learned-position table (its cosine-similarity picture)."""
    s = (f"**What the learned table learned** (baseline, seed 0): neighbouring positions have a mean cosine "
         f"similarity of {near:.2f}, positions at least {T // 2} apart {far:.2f}. ")
    if near > far + 0.1:
        return s + ("Nobody told it that position 7 is next to position 8, yet training made neighbours alike, "
                    "the same banded picture the sinusoids have by construction.")
    return s + ("At this budget the table has not become smooth: neighbours are hardly more alike than distant "
                "positions, so each position is still mostly its own random vector.")


def copying(strongest: dict[str, tuple[float, int, int]], tf: dict[str, float], base_tf: float | None,
            T: int) -> str:
    """The copy shortcut, seen directly: `strongest[variant]` = (weight of its strongest head on
    key t+1, mean over seeds; layer; head), `tf` the teacher-forced val loss per variant, T the
    context. Chance is the weight a query spreading evenly would give one of its visible keys."""
    chance = {"no_mask": 1 / T, "anticausal": sum(1 / (T - t) for t in range(T - 1)) / (T - 1)}
    out = []
    for name in ("no_mask", "anticausal"):
        if name not in strongest:
            continue
        w, layer, head = strongest[name]
        s = (f"**`{name}`, seen directly.** Its strongest head (layer {layer}, head {head}) puts on average "
             f"{w:.2f} of each query's weight on key t+1, the character it is asked to predict (spread evenly "
             f"over the keys it sees, a query would give it {chance[name]:.2f})")
        if w > 0.5:
            s += ": the superdiagonal lights up in the picture below, and that head *copies*."
        elif w > 2 * chance[name]:
            s += ": more than chance, so the copying is starting, but no head has become a copy machine yet."
        else:
            s += ": no more than chance, so it has not found the shortcut."
        if base_tf is not None and name in tf:
            s += (f" Its teacher-forced loss is {tf[name]:.3f} nats against the causal baseline's {base_tf:.3f}"
                  + (" — the collapse copying gives." if tf[name] < base_tf - 0.1 else "."))
        out.append(s)
    return "\n\n".join(out)


def extrapolation(table: dict[str, dict[str, float | None]], trained: int) -> str:
    """Length extrapolation: the val loss of each encoding at 1x, 2x, 4x its trained context."""
    out = []
    for name, losses in table.items():
        longest = max(int(k) for k, v in losses.items() if v is not None)
        if longest == trained:
            out.append(f"`{name}` cannot be scored beyond {trained} characters: its table has no row for "
                       f"position {trained}.")
            continue
        d = losses[str(longest)] - losses[str(trained)]
        how = ("gets better with the longer context" if d < -0.01 else
               "holds its loss" if d < 0.05 else "degrades" if d < 0.5 else "falls apart")
        out.append(f"`{name}` {how} at {longest} characters ({losses[str(trained)]:.3f} → "
                   f"{losses[str(longest)]:.3f} nats).")
    return ("**Length extrapolation** (trained on windows of " + str(trained) + ", scored on longer windows of "
            "the same validation text, same weights): " + " ".join(out))
