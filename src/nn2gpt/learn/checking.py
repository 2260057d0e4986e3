"""The tools every exercise's check is built from: failures that teach, in the learner's terms.

A check calls the learner's function on seeded inputs and compares with the reference. When
the numbers differ it does not stop at "wrong": it recomputes the answer with each *common
mistake* of that exercise (the reference with sigma' left out, the step not divided by m...) and,
if the learner's output matches one, names that mistake. Shapes are named the way the learner
names them (`nabla_w[0]` is (784, 30), expected (30, 784)); gradients are compared with central
finite differences in float64, which need no reference at all.

Everything a check finds is raised as `CheckFailed(message)`; the runner turns it into exit 1.
"""

from __future__ import annotations

import numpy as np


class CheckFailed(Exception):
    """The learner's code ran but gave a wrong answer; the message says what and, if known, why."""


class NotWritten(CheckFailed):
    """The stub is still there: the function raises NotImplementedError."""


def need(module, name: str, what: str):
    """The learner's `name` (a function, a method of their class Network, a class), else CheckFailed."""
    from nn2gpt.learn.loading import pick

    found = pick(module, name)
    if found is None:
        raise CheckFailed(f"your file defines no `{name}`; write {what}")
    return found


def projection(shape, seed: int) -> np.ndarray:
    """A fixed random R: the loss L = sum(R * out) turns any output into a number whose gradient
    in `out` is R - the incoming gradient dy of a backward pass."""
    return np.random.default_rng(seed).normal(size=shape)


def shape_of(value) -> str:
    return str(tuple(np.shape(value)))


def expect_array(value, name: str, shape: tuple, hint: str = "") -> np.ndarray:
    """`value` as a float array of exactly `shape`, or CheckFailed naming `name` and both shapes."""
    if value is None:
        raise CheckFailed(f"`{name}` is None, expected an array of shape {tuple(shape)}: did you forget to return it?")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"`{name}` is a {type(value).__name__}, expected an array of shape {tuple(shape)}") from None
    if arr.shape != tuple(shape):
        extra = f": {hint}" if hint else ""
        raise CheckFailed(f"`{name}` is {arr.shape}, expected {tuple(shape)}{extra}")
    return arr


def expect_numpy(value, name: str, shape: tuple, hint: str = "") -> np.ndarray:
    """As `expect_array`, and held to what training relies on: a numpy array of float64 (for shape
    (), a float64 number will do), never a list (which has no .T nor @) nor another dtype. A
    milestone hands the result on to code that uses it as an array: a list that compares equal
    would pass the check, then break the run far from the line that made it."""
    if value is None:
        return expect_array(value, name, shape, hint)          # its "did you forget to return it?"
    number = tuple(shape) == () and isinstance(value, (float, np.floating))
    kind = type(value).__name__
    if not isinstance(value, np.ndarray) and not number:
        fix = ": return the array itself, not .tolist()" if isinstance(value, (list, tuple)) else ""
        raise CheckFailed(f"`{name}` is {'an' if kind[0] in 'aeiou' else 'a'} {kind}, expected a numpy array of "
                          f"float64 of shape {tuple(shape)}{fix}")
    dtype = np.asarray(value).dtype
    if dtype != np.float64:
        raise CheckFailed(f"`{name}` is {'a number' if number else 'an array'} of {dtype}, expected float64 like "
                          f"its inputs: keep their dtype (no .astype, no dtype= of another type)")
    return expect_array(value, name, shape, hint)


def expect_list(value, name: str, length: int, like: str) -> list:
    """A list/tuple of `length` items (e.g. one per layer), else CheckFailed."""
    if not isinstance(value, (list, tuple)):
        raise CheckFailed(f"`{name}` is a {type(value).__name__}, expected a list of {length} arrays "
                          f"shaped like {like}")
    if len(value) != length:
        raise CheckFailed(f"`{name}` has {len(value)} entries, expected {length} (one per layer, like {like})")
    return list(value)


def close(a, b, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=False))


def compare(got: np.ndarray, want: np.ndarray, name: str, mistakes=(), context: str = "",
            rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Pass if got == want (to rounding); else name the matching mistake, or where and by how much.

    mistakes: (array the mistake would give, message) pairs, tried in order.
    """
    if close(got, want, rtol, atol):
        return
    for wrong, message in mistakes:
        if wrong is not None and close(got, wrong, rtol, atol):
            raise CheckFailed(f"`{name}`{context}: {message}")
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if not np.isfinite(got).all():
        raise CheckFailed(f"`{name}`{context} contains nan or inf; expected finite numbers")
    if close(got, -want, rtol, atol):
        raise CheckFailed(f"`{name}`{context} is minus the right answer: check a sign")
    diff = np.abs(got - want)
    where = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
    at = f"[{', '.join(map(str, where))}]" if where else ""
    raise CheckFailed(f"`{name}{at}`{context} is {got[where]:.6g}, expected {want[where]:.6g} "
                      f"(largest of {int(np.sum(~np.isclose(got, want, rtol=rtol, atol=atol)))} wrong entries)")


def finite_difference(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """dF/dx by central differences, (F(x + eps) - F(x - eps)) / 2 eps, one entry at a time.

    f() reads x (which is changed in place and restored); F is a scalar. float64 only: in
    float32 the difference of two nearby costs is mostly rounding.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    flat, g = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        g[i] = (up - down) / (2 * eps)
    return grad


# ---- inputs left as they were -------------------------------------------------------------------
# A function that changes its input in place (z *= -1, x += ..., ids.clear()) can still return the
# right answer, and then the caller's array is wrong: the check's next step measures garbage (a
# finite-difference slope of 0.22, expected -1.2e+06) and the training's next layer sees it. So a
# check calls the learner's function through `untouched`, and says that first, by name.

def snapshot(value):
    """A copy of `value` to compare with later: a torch tensor detached, anything else deep-copied."""
    import copy

    if hasattr(value, "detach") and hasattr(value, "clone"):
        return value.detach().clone()
    if isinstance(value, (np.ndarray, list, tuple, dict, int, float, complex, str, bytes, np.generic)) or value is None:
        return copy.deepcopy(value)
    return value                                              # an object of its own: not compared (`same`)


def same(now, before) -> bool:
    """Whether `now` still holds what `before` (its snapshot) held: arrays and tensors entry by entry
    (NaN equal to NaN), lists, tuples and dicts item by item, anything else by ==."""
    if isinstance(before, np.ndarray):
        return isinstance(now, np.ndarray) and now.shape == before.shape and np.array_equal(now, before, equal_nan=True)
    if hasattr(before, "detach") and hasattr(before, "clone"):
        import torch

        return now.shape == before.shape and bool(torch.equal(now.detach(), before))
    if isinstance(before, (list, tuple)):
        return type(now) is type(before) and len(now) == len(before) and all(map(same, now, before))
    if isinstance(before, dict):
        return isinstance(now, dict) and now.keys() == before.keys() and all(same(now[k], before[k]) for k in before)
    if isinstance(before, (int, float, complex, str, bytes, np.generic)) or before is None:
        return type(now) is type(before) and bool(now == before)
    return True                                               # an object of its own (self): not the check's to compare


def unchanged(now, before, call: str, name: str) -> None:
    """CheckFailed if the input `name` of the learner's `call` no longer holds what it held before."""
    if not same(now, before):
        raise CheckFailed(f"your {call} changed its input {name}: build a new result and leave `{name}` as it was "
                          f"(the caller still uses it)")


def untouched(fn, call: str, names: str, *args, **kwargs):
    """fn(*args, **kwargs), and CheckFailed naming `call` and the argument (`names`, the positional
    ones' names: "dy, x, w") if it changed one in place - before its result is looked at."""
    labels = [n.strip() for n in names.split(",")] if names else []
    labels += [f"arg{i}" for i in range(len(labels), len(args))]
    before = [snapshot(a) for a in args], {k: snapshot(v) for k, v in kwargs.items()}
    result = fn(*args, **kwargs)
    for name, now, was in [*zip(labels, args, before[0]), *((k, kwargs[k], before[1][k]) for k in kwargs)]:
        unchanged(now, was, call, name)
    return result
