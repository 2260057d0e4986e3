"""Coordination augmentation: two pairs with the same subject become one, the second subject elided."""

from nn2gpt.translate.augment import coordinated_pairs

MILK = [("La leche está fría.", "The milk is cold."), ("La leche sabía agria.", "The milk tasted sour.")]
DOG = [("El perro ladra.", "The dog barks.")]


def test_two_pairs_with_one_subject_are_joined_both_ways():
    out = coordinated_pairs(MILK + DOG, 2, "es", seed=0)
    assert set(out) == {("La leche está fría y sabía agria.", "The milk is cold and tasted sour."),
                        ("La leche sabía agria y está fría.", "The milk tasted sour and is cold.")}


def test_it_is_deterministic_and_never_invents_more_than_the_data_allows():
    assert coordinated_pairs(MILK + DOG, 2, "es", seed=3) == coordinated_pairs(MILK + DOG, 2, "es", seed=3)
    assert len(coordinated_pairs(MILK + DOG, 50, "es", seed=0)) == 2  # only two distinct joins exist
    assert coordinated_pairs(DOG, 5, "es") == [] and coordinated_pairs(MILK, 0, "es") == []


def test_what_is_not_a_plain_subject_is_left_alone():
    longer_subject = [("Mi hermana mayor va a trotar.", "My older sister goes jogging."),
                      ("Mi hermana mayor se ducha.", "My older sister takes a shower.")]  # "My older" is no subject
    questions = [("¿La leche está fría?", "Is the milk cold?"), ("¿La leche sabía agria?", "Did the milk taste sour?")]
    no_determiner = [("Tom está aquí.", "Tom is here."), ("Tom sabe nadar.", "Tom can swim.")]
    copula = [("Este es mi libro.", "This is my book."), ("Este es tu lápiz.", "This is your pencil.")]
    for pairs in (longer_subject, questions, no_determiner, copula):
        assert coordinated_pairs(pairs, 5, "es") == [], pairs


def test_on_tatoeba_every_joined_pair_is_made_of_two_training_pairs():
    from nn2gpt.data.translation import load_pair

    train = load_pair("es-en", None)["train"]
    sources, targets = {s for s, _ in train}, {t for _, t in train}
    lowered = {id(sources): {r.lower() for r in sources}, id(targets): {r.lower() for r in targets}}
    out = coordinated_pairs(train, 300, "es", seed=0)
    assert len(out) == 300 and len(set(out)) == 300
    def made_of_two(joined: str, conj: str, real: set) -> bool:  # either clause may hold a conjunction itself
        parts = joined.split(f" {conj} ")
        for k in range(1, len(parts)):
            head, rest = f" {conj} ".join(parts[:k]), f" {conj} ".join(parts[k:])
            subject = " ".join(head.split()[:2])
            if any(head + end in real for end in ".!") and f"{subject} {rest}".lower() in lowered[id(real)]:  # "El Sol" / "El sol"
                return True
        return False

    for src, tgt in out:
        assert made_of_two(src, "y", sources), src
        assert made_of_two(tgt, "and", targets), tgt
