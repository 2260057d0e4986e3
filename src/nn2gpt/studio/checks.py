"""The values a request may carry, checked in one place: a bad one is a one-line UserError (HTTP 400).

JSON gives the server whatever the browser sent: a string where a number belongs, `true` for 1,
a list, NaN (Python's JSON reads it), 10**30. Each check names the field and its range.
"""

from __future__ import annotations

from nn2gpt.errors import UserError


def number(body: dict, key: str, kind, low, high, default=None, optional: bool = False):
    """body[key] as `kind` (int or float) in [low, high]. A missing or null value (an empty field
    on the page) is the default, or None when `optional`: an empty field always means "the default"."""
    value = body.get(key)
    if value is None:
        value = default
    if value is None and optional:
        return None
    name = key.replace("_", " ")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or not low <= value <= high:
        raise UserError(f"{name} must be a {'whole number' if kind is int else 'number'} from {low} to {high}")
    if kind is int and value != int(value):
        raise UserError(f"{name} must be a whole number from {low} to {high}")
    return kind(value)


def text(value, what: str, limit: int, hint: str, blank_ok: bool = False) -> str:
    """A non-empty string of at most `limit` characters (`blank_ok`: whitespace alone, such as a
    newline, counts as text); `hint` says what to type instead."""
    if not isinstance(value, str) or not (value if blank_ok else value.strip()):
        raise UserError(f"the {what} is empty; {hint}")
    if len(value) > limit:
        raise UserError(f"the {what} is {len(value):,} characters; the page takes at most {limit:,}")
    return value


def heads(value, n_layer: int, n_head: int) -> dict[int, list[int]]:
    """The heads a request turns off, a list of [layer, head] pairs (numbered from 0), as {layer: [heads]}."""
    if value is None:
        return {}
    if not isinstance(value, list) or len(value) > n_layer * n_head:
        raise UserError("heads off must be a list of [layer, head] pairs")
    chosen: dict[int, list[int]] = {}
    for pair in value:
        ok = (isinstance(pair, list) and len(pair) == 2
              and all(isinstance(v, int) and not isinstance(v, bool) for v in pair))
        if not ok or not (0 <= pair[0] < n_layer and 0 <= pair[1] < n_head):
            raise UserError(f"head {pair!r} is not one of the model's {n_layer} layers x {n_head} heads; "
                            f"give [layer, head] pairs numbered from 0")
        chosen.setdefault(pair[0], []).append(pair[1])
    return chosen
