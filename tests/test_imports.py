"""No import cycles between nn2gpt's modules, counting the imports inside functions too: a cycle
means two modules that cannot be read (or changed) one without the other."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

# Cycles that are still to be broken; each entry should go, and none may be added.
KNOWN: set[frozenset] = set()

# The chapters' packages (and the workbook and the studio, which sit on top of them). Below them
# lie the base modules every chapter shares: nn2gpt's own modules (checkpoint, runout, files,
# runkinds...) and the shared packages nn and data. Only the command line (nn2gpt.cli, and
# __main__ which runs it) reaches up to the chapters.
CHAPTERS = ("digits", "gpt", "translate", "lab", "numpy_gpt", "tokens", "learn", "studio")
ABOVE_THE_CHAPTERS = {"nn2gpt", "nn2gpt.cli", "nn2gpt.__main__"}


def module_files() -> dict[str, Path]:
    files = {}
    for path in (SRC / "nn2gpt").rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def import_graph(files: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the nn2gpt modules it imports anywhere in its text. `from package import module`
    counts as importing that module (a package's __init__ is not a dependency then)."""
    graph = {}
    for name, path in files.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name in files}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("nn2gpt"):
                subs = {f"{node.module}.{a.name}" for a in node.names} & files.keys()
                deps |= subs
                if len(subs) < len(node.names) and node.module in files:
                    deps.add(node.module)
        graph[name] = deps - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> set[frozenset]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), set()

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.add(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_detector_finds_a_cycle_through_a_function_level_import():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {frozenset("abc")}
    files = module_files()
    graph = import_graph(files)
    assert "nn2gpt.translate.lines" in graph["nn2gpt.translate.evaluate"]  # an import inside a function
    assert "nn2gpt.errors" in graph["nn2gpt.translate.lines"]


def chapter_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in CHAPTERS else None


def floor_violations(graph: dict[str, set[str]]) -> list[str]:
    """'base -> chapter' for every import of a chapter's module by a module below the chapters."""
    return sorted(f"{m} -> {d}" for m, deps in graph.items() if chapter_of(m) is None and m not in ABOVE_THE_CHAPTERS
                  for d in deps if chapter_of(d) is not None)


def test_the_floor_check_finds_a_base_module_importing_a_chapter():
    graph = {"nn2gpt.checkpoint": {"nn2gpt.gpt", "nn2gpt.files"}, "nn2gpt.gpt.cli": {"nn2gpt.checkpoint"},
             "nn2gpt.cli": {"nn2gpt.gpt.cli"}, "nn2gpt.nn.attention": {"nn2gpt.gpt.modern"}}
    assert floor_violations(graph) == ["nn2gpt.checkpoint -> nn2gpt.gpt", "nn2gpt.nn.attention -> nn2gpt.gpt.modern"]


def test_no_base_module_imports_a_chapter():
    """checkpoint, runout, files, runkinds, nn, data ... are read (and changed) without any chapter:
    a base module that imported one would climb back up a floor (function-level imports count)."""
    bad = floor_violations(import_graph(module_files()))
    assert not bad, "base modules importing a chapter: " + "; ".join(bad)


def test_no_new_import_cycles():
    found = cycles(import_graph(module_files()))
    new = found - KNOWN
    assert not new, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in new)
    assert KNOWN <= found, "a known cycle is gone: take it off KNOWN"
