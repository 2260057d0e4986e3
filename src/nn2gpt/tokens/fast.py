"""The same merges as naive.py, found without counting everything again after each one.

Three observations make BPE training fast:

1. Equal chunks merge alike. " the" occurs 5,370 times in Tiny Shakespeare; it is stored
   once, with its count as the weight of each of its pairs. (pairs.chunk_counts)
2. A merge changes only the counts next to it. Replacing (a, b) by z at one place, in
   `... l a b r ...`, takes away the pairs (l, a), (a, b), (b, r) and adds (l, z), (z, r);
   every other count stays what it was. So the counts are kept in a dict and corrected at
   each place the merge happens, and `where[pair]` lists the places a pair occurs, so that
   a merge visits only those: the work of all merges together is about the length of the
   text, where naive.py reads the whole text once per merge.
3. The most frequent pair comes from a heap of (-count, a, b), whose smallest entry is the
   pair the tie-break rule (pairs.pair_key) picks. A count that changed is pushed again; an
   entry whose count is no longer the pair's is stale and skipped when it comes up.

The chunks lie one after the other in flat lists, linked both ways like a doubly linked list:
`tok[p]` is the token at place p, `nxt[p]` / `prv[p]` the places beside it (-1 at a chunk's
ends, so no pair crosses two chunks), `weight[p]` the count of p's chunk. A token merged into
its left neighbour is unlinked and its `tok` set to -1.

The places of a pair are visited left to right, as the naive scan meets them, and a place
is merged only if it still holds (a, b): in `a a a a` the places of (a, a) are 0, 1, 2; the
merge at 0 uses up the a at 1, so 1 is skipped and 2 merged: `z z`, as naive.py gives.
The tests hold the two trainers to the same merge list, overlapping runs included.
"""

from __future__ import annotations

import heapq

from nn2gpt.tokens.pairs import Pair, pair_key


def _lay_out(chunks: dict[bytes, int]):
    """The chunks one after the other: tok, prv, nxt, weight (see the module docstring)."""
    tok: list[int] = []
    prv: list[int] = []
    nxt: list[int] = []
    weight: list[int] = []
    for chunk, count in chunks.items():
        start, n = len(tok), len(chunk)
        if n == 0:
            continue
        tok.extend(chunk)
        weight.extend([count] * n)
        prv.extend(range(start - 1, start + n - 1))
        nxt.extend(range(start + 1, start + n + 1))
        prv[start] = -1
        nxt[start + n - 1] = -1
    return tok, prv, nxt, weight


def train_fast(chunks: dict[bytes, int], n_merges: int, progress=None) -> list[Pair]:
    """The first `n_merges` merges of the chunks {bytes: count} (fewer if the pairs run out).

    Merge i makes token 256 + i; the result equals `train_naive` on the same chunks, each
    repeated `count` times. `progress(i)` is called after merge i."""
    tok, prv, nxt, weight = _lay_out(chunks)
    counts: dict[Pair, int] = {}
    # where[pair]: the places p where (tok[p], tok[nxt[p]]) was that pair when it was listed. A
    # list, not a set: a place whose pair changed stays listed and is skipped when visited (a
    # pair, once gone from a place, never comes back there: a merge makes pairs with new ids only)
    where: dict[Pair, list[int]] = {}
    for p, q in enumerate(nxt):
        if q >= 0:
            pair = (tok[p], tok[q])
            counts[pair] = counts.get(pair, 0) + weight[p]
            where.setdefault(pair, []).append(p)
    heap = [pair_key(pair, c) for pair, c in counts.items()]
    heapq.heapify(heap)

    merges: list[Pair] = []
    while len(merges) < n_merges:
        while heap and counts.get((heap[0][1], heap[0][2])) != -heap[0][0]:
            heapq.heappop(heap)  # stale: this pair's count has changed since it was pushed
        if not heap:
            break  # no pair left anywhere: every chunk is a single token
        _, a, b = heapq.heappop(heap)
        merged, z = (a, b), 256 + len(merges)
        changed: set[Pair] = set()
        places = where.pop(merged)
        places.sort()  # left to right, as the naive scan meets them
        for p in places:
            q = nxt[p]
            if tok[p] != a or q < 0 or tok[q] != b:
                continue  # used up by the merge just before it (a run like a a a), or no longer (a, b)
            w, left, right = weight[p], prv[p], nxt[q]
            # ... left a b right ...  ->  ... left z right ...
            counts[merged] -= w
            if left >= 0:
                gone = (tok[left], a)
                counts[gone] -= w
                changed.add(gone)
            if right >= 0:
                gone = (b, tok[right])
                counts[gone] -= w
                changed.add(gone)
            tok[p], tok[q] = z, -1  # p now holds z; q is unlinked
            nxt[p] = right
            if right >= 0:
                prv[right] = p
                new = (z, tok[right])
                counts[new] = counts.get(new, 0) + w
                where.setdefault(new, []).append(p)
                changed.add(new)
            if left >= 0:
                new = (tok[left], z)
                counts[new] = counts.get(new, 0) + w
                where.setdefault(new, []).append(left)
                changed.add(new)

        del counts[merged]  # every (a, b) is now z: its count is 0
        changed.discard(merged)
        for pair in changed:  # push each changed count once; forget the pairs that are gone
            c = counts[pair]
            if c > 0:
                heapq.heappush(heap, pair_key(pair, c))
            else:
                del counts[pair]
                where.pop(pair, None)
        merges.append(merged)
        if progress is not None:
            progress(len(merges))
    return merges
