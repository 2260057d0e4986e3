"""Each view the GPT and digits pages draw carries its sentence on what it shows and how to read it: read
from the page the studio serves (the sentence is the `.how` paragraph of the view's box)."""

from html.parser import HTMLParser
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "src" / "nn2gpt" / "studio" / "static" / "index.html"


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children, self.text = tag, dict(attrs), parent, [], []


class Page(HTMLParser):
    """The page as a tree: each element's tag, attributes, children and text."""

    def __init__(self):
        super().__init__()
        self.root = self.at = Node("root", {}, None)
        self.ids = {}

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.at)
        self.at.children.append(node)
        if "id" in node.attrs:
            self.ids[node.attrs["id"]] = node
        if tag not in VOID:
            self.at = node

    def handle_endtag(self, tag):
        node = self.at
        while node.parent is not None and node.tag != tag:
            node = node.parent
        if node.parent is not None:
            self.at = node.parent

    def handle_data(self, data):
        self.at.text.append(data)


def text(node) -> str:
    return " ".join("".join([*node.text, *(text(c) for c in node.children)]).split())


def sentence(view) -> str | None:
    """The .how paragraph nearest the view: inside it, else the last one before it among its box's children
    (or, with none before, the first after), else its box's box's, and so on."""
    def hows(node):
        return [c for c in node.children if c.tag == "p" and "how" in c.attrs.get("class", "").split()]

    if hows(view):
        return text(hows(view)[0])
    child, box = view, view.parent
    while box is not None:
        i = box.children.index(child)
        before = [c for c in hows(box) if box.children.index(c) < i]
        after = [c for c in hows(box) if box.children.index(c) > i]
        if before or after:
            return text(before[-1] if before else after[0])
        child, box = box, box.parent
    return None


@pytest.fixture(scope="module")
def sentences():
    page = Page()
    page.feed(PAGE.read_text(encoding="utf-8"))
    return {i: sentence(node) for i, node in page.ids.items()}


@pytest.mark.parametrize("view, words", [
    ("gpt-next", ["raw logit", "before the softmax"]),          # the raw logits beside the probabilities
    ("gpt-lens", ["logit lens", "after each block"]),
    ("gpt-map-box", ["row i", "keys"]),                          # one head over the text it reads
    ("gpt-compare", ["Pin a position", "raw logit"]),
    ("digits-gallery", ["misclassified"]),
])
def test_each_view_says_what_it_shows_and_how_to_read_it(sentences, view, words):
    assert sentences.get(view), f"#{view} has no sentence (a .how paragraph in its box)"
    for w in words:
        assert w in sentences[view], f"#{view}'s sentence does not say {w!r}: {sentences[view]!r}"
