"""Coordination augmentation: new training pairs "X does A and does B" from "X does A" + "X does B".

Why. Spanish drops subjects: in "La pizza salió del horno y sabía bien." nothing but the
sentence's structure says that the one who "sabía" is the pizza, and "saber" is "to know" for a
person but "to taste" for food. In the 114,738 Tatoeba training pairs there is not one "y sab...":
the model never sees a verb after "y" whose subject is the noun at the front of the sentence,
so it falls back on the most frequent reading of "sabía" ("knew": about 540 pairs against a
handful of "tasted"), although it translates "La pizza sabía bien." alone correctly.

What. The corpus already teaches what subjects do, one clause at a time. Two pairs that start
with the same subject noun phrase on both sides (a determiner and a noun: "La leche" / "The
milk") can be joined into one pair with the second subject elided, as a person would write it:

    La leche está fría.  | The milk is cold.       +
    La leche sabía agria. | The milk tasted sour.   ->  La leche está fría y sabía agria. |
                                                        The milk is cold and tasted sour.

Every new pair is made of training sentences only (the test split stays unseen), and the
join is mechanical, so it can be wrong now and then (a tense clash, say); the model sees real
pairs far more often. This is a small case of compositional data augmentation (Andreas,
"Good-Enough Compositional Data Augmentation", ACL 2020): recombine fragments the data
already has into structures it lacks.
"""

from __future__ import annotations

import random
import re

# Determiners that open a subject noun phrase, and the word for "and", per source language.
DETERMINERS = {
    "es": {"el", "la", "los", "las", "este", "esta", "estos", "estas", "ese", "esa", "esos", "esas",
           "mi", "mis", "tu", "tus", "su", "sus", "nuestro", "nuestra", "nuestros", "nuestras"},
    "de": {"der", "die", "das", "dieser", "diese", "dieses", "mein", "meine", "dein", "deine", "sein",
           "seine", "ihr", "ihre", "unser", "unsere", "ein", "eine"},
}
AND = {"es": "y", "de": "und"}
TARGET_DETERMINERS = {"the", "this", "that", "these", "those", "my", "your", "his", "her", "its", "our", "their",
                      "a", "an"}
# A clause that goes on with one of these after two words has a longer subject ("El conductor
# del autobús ...", "The man in the car ...") or none at all: its rest is not a predicate.
NOT_PREDICATES = {"de", "del", "que", "en", "con", "a", "al", "para", "por", "y", "o", "sin", "sobre", "entre", "donde",
                  "in", "mit", "auf", "an", "von", "aus", "bei", "neben", "vor", "hinter", "über", "unter", "zu",
                  "durch", "für", "ohne", "um", "und", "oder", "im", "am", "beim", "vom", "zum", "zur", "ins",
                  "der", "die", "das", "den", "dem", "des",
                  "of", "that", "who", "which", "with", "on", "at", "from", "for", "where", "and", "or"}
# The target's third word must look like the start of a predicate (a verb or an adverb), or
# "My older sister goes ..." would be cut after "My older". English verbs are recognisable
# enough: an -s or -ed ending, a negation, an auxiliary, or a common irregular past.
PREDICATE_STARTS = set("""is was are were has have had will would can could does did do must should may might shall
    never always often usually also just still already really almost seems looks
    went came ran sat saw ate got made took gave said told left felt found kept knew thought brought bought began
    broke fell flew grew hid hit held lost met paid put rode rose sang slept spoke stood swam taught threw
    understood won wrote drove drank let cut set became""".split())

# A "noun" that is really a verb makes "Este es ..." look like a subject; those are left out.
NOT_NOUNS = {"es", "está", "era", "fue", "son", "están", "eran", "ist", "war", "sind", "waren"}
END = re.compile(r"\s*[.!]$")  # a plain statement; questions and quotes are not joined


def _looks_like_predicate(word: str) -> bool:
    w = word.lower()
    return w in PREDICATE_STARTS or w.endswith(("s", "ed", "n't")) and not w.endswith(("ss", "'s"))


def _subject_groups(pairs, lang: str) -> dict[tuple[str, str], list[int]]:
    """(source subject, target subject), lowercased -> indices of the pairs that open with it."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, (src, tgt) in enumerate(pairs):
        s, t = src.split(), tgt.split()
        if len(s) < 3 or len(t) < 3 or not END.search(src) or not END.search(tgt):
            continue
        if (s[0].lower() not in DETERMINERS[lang] or t[0].lower() not in TARGET_DETERMINERS
                or s[1].lower() in NOT_NOUNS or s[2].lower() in NOT_PREDICATES or not _looks_like_predicate(t[2])
                or "," in s[1] + t[1]):
            continue
        groups.setdefault((f"{s[0]} {s[1]}".lower(), f"{t[0]} {t[1]}".lower()), []).append(i)
    return {k: v for k, v in groups.items() if len(set(pairs[i][0] for i in v)) >= 2}


def coordinated_pairs(pairs: list[tuple[str, str]], n: int, lang: str = "es", seed: int = 0) -> list[tuple[str, str]]:
    """`n` new (source, target) pairs, each two pairs of `pairs` with the same subject, joined.

    Deterministic for a given (pairs, n, lang, seed), so a resumed run rebuilds the same set.
    """
    if lang not in AND:
        raise ValueError(f"no determiners known for {lang!r}")
    groups = _subject_groups(pairs, lang)
    if not groups or n <= 0:
        return []
    keys = sorted(groups)
    weights = [len(groups[k]) for k in keys]  # a subject's share follows how often the data uses it
    rng = random.Random(seed)
    out, seen, tries = [], set(), 0
    while len(out) < n and tries < 20 * n:
        tries += 1
        members = groups[rng.choices(keys, weights)[0]]
        a, b = rng.sample(members, 2)
        (sa, ta), (sb, tb) = pairs[a], pairs[b]
        if sa == sb or (a, b) in seen:
            continue
        seen.add((a, b))
        rest_src = sb.split(maxsplit=2)[2]  # "La leche sabía agria." -> "sabía agria."
        rest_tgt = tb.split(maxsplit=2)[2]
        if END.sub("", rest_tgt).lower() == END.sub("", ta.split(maxsplit=2)[2]).lower():
            continue  # two translations of one clause: "... have died and have died."
        out.append((f"{END.sub('', sa)} {AND[lang]} {rest_src}", f"{END.sub('', ta)} and {rest_tgt}"))
    return out
