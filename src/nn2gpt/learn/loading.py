"""Loading a Python file of the workbook (a learner's exercise, or a solution) and taking a name from it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def load_file(path: Path, name: str | None = None):
    """Import a Python file as a fresh module (a workbook exercise or a solution)."""
    name = name or f"nn2gpt_learn_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look a module up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def pick(module, name: str):
    """`name` from a learner's file: a method of its `class Network` if it has one, else a function."""
    cls = getattr(module, "Network", None)
    if isinstance(cls, type) and name in vars(cls):
        return vars(cls)[name]
    return getattr(module, name, None)
