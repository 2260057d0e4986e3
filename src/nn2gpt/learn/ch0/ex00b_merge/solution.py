"""One merge: every occurrence of a pair replaced by a new id, left to right."""


def merge(ids, pair, new_id):
    """ids list[int], pair (a, b), new_id int -> a new list[int]; `ids` is left as it was."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2                             # both tokens are used up: [a, a, a] -> [new_id, a]
        else:
            out.append(ids[i])
            i += 1
    return out
