"""Loading a Python file of the workbook (a learner's exercise, or a solution) and taking a name from it."""

from __future__ import annotations

import contextvars
import importlib.util
import sys
from pathlib import Path

# The earlier pieces a file being loaded imports from its chapter (`from nn2gpt.learn.ch2 import Head`):
# the ones `load_file(..., given=)` was handed for this load; unset, the chapter's references.
_GIVEN: contextvars.ContextVar[dict] = contextvars.ContextVar("nn2gpt_learn_given", default={})


def load_file(path: Path, name: str | None = None, given: dict | None = None):
    """Import a Python file as a fresh module (a workbook exercise or a solution).

    `given` {name: value}: what the file's imports from its chapter package resolve to while it
    loads - a milestone hands the learner's Block the learner's MultiHeadAttention this way, so
    nothing is rebound in a module afterwards. Names not given are the chapter's references."""
    name = name or f"nn2gpt_learn_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look a module up by name
    token = _GIVEN.set(dict(given or {}))
    try:
        # compiled here rather than by the import system: nothing (no __pycache__) is written beside the file
        exec(compile(Path(path).read_bytes(), str(path), "exec", dont_inherit=True), module.__dict__)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    finally:
        _GIVEN.reset(token)
    return module


def earlier_piece(chapter: str, name: str, references: dict):
    """A chapter package's `__getattr__`: what `from nn2gpt.learn.CHAPTER import NAME` gives the file
    being loaded - the piece handed to its load, else the reference (`references[name]()`, made on
    first use). A name neither given nor a reference is the AttributeError Python expects."""
    given = _GIVEN.get()
    if name in given:
        return given[name]
    if name not in references:
        raise AttributeError(f"module 'nn2gpt.learn.{chapter}' has no attribute {name!r}")
    return references[name]()


def pick(module, name: str):
    """`name` from a learner's file: a method of its `class Network` if it has one, else a function."""
    cls = getattr(module, "Network", None)
    if isinstance(cls, type) and name in vars(cls):
        return vars(cls)[name]
    return getattr(module, name, None)
