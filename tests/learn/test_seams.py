"""The workbook reaches the chapters through the seams they offer (arguments of their train(),
small objects of named pieces), never by patching them: no module of nn2gpt.learn sets an
attribute of a chapter's module or reads a private name of one."""

import ast
from pathlib import Path

LEARN = Path(__file__).resolve().parents[2] / "src" / "nn2gpt" / "learn"


def chapter_modules(tree) -> set[str]:
    """The local names bound to nn2gpt modules outside nn2gpt.learn (import x / from nn2gpt.y import z)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nn2gpt") \
                and not node.module.startswith("nn2gpt.learn"):
            names |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith("nn2gpt.")
                      and not a.name.startswith("nn2gpt.learn")}
    return names


def test_no_milestone_patches_a_chapter_or_reads_its_private_names():
    found = []
    for path in sorted(LEARN.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        theirs = chapter_modules(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setattr" and node.args \
                    and getattr(node.args[0], "id", None) in theirs:
                found.append(f"{path.name}:{node.lineno} setattr on {node.args[0].id}")
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and getattr(target.value, "id", None) in theirs:
                        found.append(f"{path.name}:{node.lineno} assigns {target.value.id}.{target.attr}")
            if isinstance(node, ast.Attribute) and getattr(node.value, "id", None) in theirs \
                    and node.attr.startswith("_") and not node.attr.startswith("__"):
                found.append(f"{path.name}:{node.lineno} reads {node.value.id}.{node.attr}")
    assert not found, found


def test_the_check_sees_a_patch(tmp_path):
    """The scan above would see the old way: `swapped([(train, "build", b)])`, train.build = b."""
    tree = ast.parse("from nn2gpt.gpt import train\ntrain.build = 1\nsetattr(train, 'x', 2)\ntrain._PLAIN\n")
    theirs = chapter_modules(tree)
    assert theirs == {"train"}
    kinds = [type(n).__name__ for n in ast.walk(tree)
             if (isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Attribute))
             or (isinstance(n, ast.Call) and getattr(n.func, "id", None) == "setattr")
             or (isinstance(n, ast.Attribute) and n.attr.startswith("_"))]
    assert kinds.count("Assign") == 1 and kinds.count("Call") == 1 and kinds.count("Attribute") == 1
