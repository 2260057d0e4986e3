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


def test_no_milestone_rebinds_a_name_inside_a_loaded_module():
    """A learner's file gets the earlier pieces it imports at load (load_file's `given`): no milestone
    sets an attribute of any module afterwards, the learner's own included."""
    found = []
    for path in sorted(LEARN.glob("milestone_*.py")) + [LEARN / "pieces.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setattr":
                found.append(f"{path.name}:{node.lineno} setattr")
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute) and getattr(t.value, "id", "")
                                                    in ("module", "mod", "m") for t in node.targets):
                found.append(f"{path.name}:{node.lineno} assigns an attribute of a module")
    assert not found, found


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_files_import_of_an_earlier_piece_gets_what_its_load_was_given(tmp_path):
    from nn2gpt.digits import costs
    from nn2gpt.learn.loading import load_file
    from nn2gpt.tokens import pairs

    def mine(z):
        return z

    f = write(tmp_path / "f.py", "from nn2gpt.learn.ch1 import sigmoid, sigmoid_prime\n"
                                 "from nn2gpt.learn.ch0 import merge\n")
    given = load_file(f, "seams_given", {"sigmoid": mine})
    assert given.sigmoid is mine, "the piece handed to the load is the one the file imports"
    assert given.sigmoid_prime is costs.sigmoid_prime and given.merge is pairs.merge, "a name not given: the reference"
    plain = load_file(f, "seams_plain")
    assert plain.sigmoid is costs.sigmoid, "a later load with nothing given gets the reference, not the last one given"
    import nn2gpt.learn.ch1 as ch1
    assert "sigmoid" not in vars(ch1), "the chapter keeps no piece in its namespace, so each load asks"


def test_a_reference_loaded_while_a_learners_file_loads_gets_nothing_of_its_given(tmp_path):
    """The learner's Block imports MultiHeadAttention: the reference's, loaded then, imports the
    reference Head - not the Head given to the Block's load."""
    from nn2gpt.learn.loading import load_file

    class Mine:
        pass

    f = write(tmp_path / "block.py", "from nn2gpt.learn.ch2 import Head, MultiHeadAttention\n")
    module = load_file(f, "seams_block", {"Head": Mine})
    assert module.Head is Mine
    inner = vars(__import__(module.MultiHeadAttention.__module__))
    assert inner["Head"] is not Mine and inner["Head"].__name__ == "Head"


def test_a_name_the_chapter_has_not_is_an_import_error(tmp_path):
    import pytest

    from nn2gpt.learn.loading import load_file

    f = write(tmp_path / "g.py", "from nn2gpt.learn.ch2 import Haed\n")
    with pytest.raises(ImportError, match="Haed"):
        load_file(f, "seams_typo")
    from nn2gpt.learn.ch0 import variants   # the chapter's submodules still import
    assert variants.__name__ == "nn2gpt.learn.ch0.variants"
