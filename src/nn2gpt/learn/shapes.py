"""What a variable is, in one short line: the words `nn2gpt learn trace` prints beside a line.

    describe(np.zeros((30, 1)))      -> ("(30, 1)", "(30, 1) float64 [0 0 0 ...]")
    describe([w1, w2])               -> ("list len 2 [(30, 784), (10, 30)]", the same)
    describe({(1, 2): 3})            -> ("dict len 1", "dict len 1 {(1, 2): 3}")
    describe(0.5)                    -> ("float", "float 0.5")

The first part is the value's *shape*: for an array or a tensor its shape, for a list or a tuple
its length and its items' shapes, for a number its type. Two runs are compared by it (the
learner's against the reference's, one run of a loop against the next); the second part adds the
dtype and a few values for the eye. `fingerprint` says cheaply whether a value changed in place.

numpy is imported here; torch is only looked at where the learner's code has imported it.
"""

from __future__ import annotations

import sys

import numpy as np

VALUES = 4            # values shown of an array
HASHED = 1 << 18      # arrays up to this many entries are compared by content (a change in place)
ITEMS = 256           # a list's or dict's first items looked at for a change


def _torch():
    return sys.modules.get("torch")


def is_tensor(value) -> bool:
    torch = _torch()
    return torch is not None and isinstance(value, torch.Tensor)


def is_module(value) -> bool:
    torch = _torch()
    return torch is not None and isinstance(value, torch.nn.Module)


def fingerprint(value):
    """Equal before and after a line exactly when the line left the value as it was (as far as a
    cheap look can tell: an array's bytes, a tensor's version, a container's items)."""
    try:
        return _fingerprint(value)
    except Exception:                  # an object that cannot be looked at: by its identity alone
        return (id(value),)


def _fingerprint(value):
    if isinstance(value, np.ndarray):
        content = hash(value.tobytes()) if value.size <= HASHED else None
        return (id(value), value.shape, value.dtype.str, content)
    if is_tensor(value):
        try:
            return (id(value), tuple(value.shape), value._version)
        except RuntimeError:           # an inference tensor has no version counter
            return (id(value), tuple(value.shape))
    if isinstance(value, (list, tuple)):
        return (id(value), len(value), tuple(map(id, value[:ITEMS])), tuple(map(id, value[-4:])))
    if isinstance(value, dict):
        items = list(value.items())
        return (id(value), len(value), tuple((id(k), id(v)) for k, v in items[:ITEMS]),
                tuple((id(k), id(v)) for k, v in items[-4:]))
    if isinstance(value, (set, frozenset, bytearray)):
        return (id(value), len(value))
    return (id(value),)


def number(x) -> str:
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.4g}"
    return short(repr(x), 20)


def short(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 3] + "..."


def _values(flat: list, total: int) -> str:
    shown = " ".join(number(x) for x in flat[:VALUES])
    return f"[{shown}{' ...' if total > VALUES else ''}]"


def shape_of(value, depth: int = 0) -> str:
    """The shape part alone (an item of a list is described to one level down)."""
    return describe(value, depth)[0]


def describe(value, depth: int = 0) -> tuple[str, str]:
    """(shape, text) of a value: see the module's docstring. Never raises: a value that cannot be
    looked at (a half-built object, a property that fails) is named by its type."""
    try:
        return _describe(value, depth)
    except Exception:
        kind = type(value).__name__
        return kind, kind


def _describe(value, depth: int) -> tuple[str, str]:
    if isinstance(value, np.ndarray) or is_tensor(value):
        shape = str(tuple(value.shape))
        dtype = str(value.dtype).removeprefix("torch.")
        if is_tensor(value):
            value = value.detach()
        flat, total = value.reshape(-1)[:VALUES].tolist(), int(np.prod(value.shape))
        return shape, f"{shape} {dtype} " + (number(flat[0]) if value.ndim == 0 else _values(flat, total))
    if value is None or isinstance(value, (bool, int, float, complex, np.generic)):
        kind = "None" if value is None else type(value).__name__
        return kind, kind if value is None else f"{kind} {number(value)}"
    if isinstance(value, (str, bytes, bytearray)):
        shape = f"{type(value).__name__} len {len(value)}"
        return shape, f"{shape} {short(repr(value), 40)}"
    if is_module(value):
        return _module(value)
    if isinstance(value, (list, tuple)):
        shape = f"{type(value).__name__} len {len(value)}"
        if value and depth < 2 and any(_nested(v) for v in value):
            shapes = [shape_of(v, depth + 1) for v in value[:3]]
            shape += f" [{', '.join(shapes)}{', ...' if len(value) > 3 else ''}]"
            return shape, shape
        items = ", ".join(short(repr(v), 24) for v in value[:4]) + (", ..." if len(value) > 4 else "")
        return shape, f"{shape} " + (f"({items})" if isinstance(value, tuple) else f"[{items}]")
    if isinstance(value, dict):
        shape = f"{type(value).__name__} len {len(value)}"
        items = ", ".join(f"{short(repr(k), 20)}: {short(repr(v), 20)}" for k, v in list(value.items())[:3])
        return shape, f"{shape} {{{items}{', ...' if len(value) > 3 else ''}}}"
    if isinstance(value, (set, frozenset)):
        shape = f"{type(value).__name__} len {len(value)}"
        return shape, shape
    if callable(value):
        name = getattr(value, "__name__", type(value).__name__)
        return "function", f"function {name}"
    return type(value).__name__, type(value).__name__


def _nested(item) -> bool:
    """Whether a list's item is worth its own shape: an array, or a list or tuple holding any."""
    if isinstance(item, np.ndarray) or is_tensor(item) or isinstance(item, list):
        return True
    return isinstance(item, tuple) and any(_nested(v) for v in item)


def _module(module) -> tuple[str, str]:
    """A torch module: its class, and its weight's shape or how many sub-modules it holds."""
    kind = type(module).__name__
    weight = getattr(module, "_parameters", {}).get("weight")
    if weight is not None:
        bias = getattr(module, "_parameters", {}).get("bias")
        text = f"{kind} weight {tuple(weight.shape)}" + ("" if bias is not None else " no bias")
    elif hasattr(module, "__len__"):
        text = f"{kind} len {len(module)}"
    else:
        text = kind
    return text, text
