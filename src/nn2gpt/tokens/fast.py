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
3. The most frequent pair comes from a heap of (-count, pair), whose smallest entry is the
   pair the tie-break rule (pairs.pair_key) picks. A count that changed is pushed again; an
   entry whose count is no longer the pair's is stale and skipped when it comes up.

The chunks lie one after the other in flat numpy arrays, linked both ways like a doubly
linked list: `tok[p]` is the token at place p, `nxt[p]` / `prv[p]` the places beside it (-1 at
a chunk's ends, so no pair crosses two chunks), `weight[p]` the count of p's chunk. A token
merged into its left neighbour is unlinked and its `tok` set to -1.

One merge visits all its places at once, as numpy arrays of them (P, the a of each (a, b); Q,
its b; L and R, the neighbours): the first merge of a text without the pre-split has some
5,000 places, and one Python step per place is what made minbpe's count and an earlier,
place-by-place version of this file slow on such a text. Two cases need care, and the
tests hold both to naive.py's merges:

- Overlaps, a == b. In `a a a a` the places of (a, a) are 0, 1, 2, and the left-to-right scan
  merges 0, which uses up the a at 1, then 2: `z z`. In each run of places that follow one
  another, every other one from the first is merged (`every_other_of_runs`).
- Neighbouring merges, `a b a b`. The pair (b, a) between two merged places is taken away
  once, not once from each side, and becomes (z, z), not (z, a) and (b, z).

A pair is one int, a * K + b, so that the counts are a dict of ints and numpy can sort pairs;
K is larger than any id, so the order of these numbers is the order of the pairs (a, b).
"""

from __future__ import annotations

import heapq

import numpy as np

from nn2gpt.tokens.pairs import Pair

K = 1 << 32  # pair (a, b) -> a * K + b; ids stay far below 2**31


def _lay_out(chunks: dict[bytes, int]):
    """The chunks one after the other: tok, prv, nxt, weight, each (N,) int64 (see above)."""
    sizes = np.fromiter(map(len, chunks), dtype=np.int64, count=len(chunks))
    counts = np.fromiter(chunks.values(), dtype=np.int64, count=len(chunks))
    sizes, counts = sizes[sizes > 0], counts[sizes > 0]
    tok = np.frombuffer(b"".join(chunks), dtype=np.uint8).astype(np.int64)
    places = np.arange(len(tok), dtype=np.int64)
    nxt, prv = places + 1, places - 1
    ends = np.cumsum(sizes)
    nxt[ends - 1] = -1  # a chunk's last token has no right neighbour ...
    prv[ends - sizes] = -1  # ... and its first no left one
    return tok, prv, nxt, np.repeat(counts, sizes)


def _groups(codes: np.ndarray):
    """Sort `codes` keeping equal ones in their order: (order, the first index of each group in
    the sorted codes, the index after its last)."""
    order = np.argsort(codes, kind="stable")  # stable: each pair's places stay left to right
    cut = np.flatnonzero(np.diff(codes[order])) + 1
    starts = np.concatenate(([0], cut)) if len(codes) else cut
    ends = np.concatenate((cut, [len(codes)])) if len(codes) else cut
    return order, starts, ends


def _list_places(where: dict, codes: np.ndarray, places: np.ndarray) -> None:
    """where[code] gains the places of each code (arrays of one length)."""
    order, starts, ends = _groups(codes)
    codes, places = codes[order], places[order]
    for code, s, e in zip(codes[starts].tolist(), starts.tolist(), ends.tolist()):
        where.setdefault(code, []).append(places[s:e])


def every_other_of_runs(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """For (a, a): which of the places P (sorted; Q = their right neighbours) the left-to-right
    scan merges. A place whose left neighbour is the place before it continues a run; in each
    run, the 1st, 3rd, 5th ... are merged, and each uses up the next one's a."""
    continues = np.concatenate(([False], Q[:-1] == P[1:]))  # (N,) bool
    run = np.cumsum(~continues) - 1  # which run each place is in
    first = np.flatnonzero(~continues)  # where each run starts
    return (np.arange(len(P)) - first[run]) % 2 == 0


def train_fast(chunks: dict[bytes, int], n_merges: int, progress=None) -> list[Pair]:
    """The first `n_merges` merges of the chunks {bytes: count} (fewer if the pairs run out).

    Merge i makes token 256 + i; the result equals `train_naive` on the same chunks, each
    repeated `count` times. `progress(i)` is called after merge i."""
    tok, prv, nxt, weight = _lay_out(chunks)

    # the first counts: every pair is two bytes, so a 16-bit number, and numpy sorts those by radix
    p0 = np.flatnonzero(nxt >= 0)
    small = (tok[p0] * 256 + tok[nxt[p0]]).astype(np.uint16)
    order, starts, ends = _groups(small)
    p0, small = p0[order], small[order].astype(np.int64)
    codes = ((small[starts] >> 8) * K + (small[starts] & 255)).tolist()
    sums = np.add.reduceat(weight[p0], starts).tolist() if len(p0) else []
    counts: dict[int, int] = dict(zip(codes, sums))
    # where[pair]: arrays of the places p where (tok[p], tok[nxt[p]]) was that pair when they
    # were listed. A place whose pair changed stays listed and is skipped when visited (a pair,
    # once gone from a place, never comes back there: a merge makes pairs with new ids only)
    where: dict[int, list[np.ndarray]] = {c: [p0[s:e]] for c, s, e in zip(codes, starts.tolist(), ends.tolist())}
    heap = [(-c, code) for code, c in counts.items()]  # (-count, a * K + b): pair_key's order
    heapq.heapify(heap)

    merges: list[Pair] = []
    while len(merges) < n_merges:
        while heap and counts.get(heap[0][1]) != -heap[0][0]:
            heapq.heappop(heap)  # stale: this pair's count has changed since it was pushed
        if not heap:
            break  # no pair left anywhere: every chunk is a single token
        _, merged = heapq.heappop(heap)
        a, b = divmod(merged, K)
        z = 256 + len(merges)

        P = np.sort(np.concatenate(where.pop(merged)))  # (m,) left to right, as the naive scan meets them
        Q = nxt[P]
        P, Q = P[Q >= 0], Q[Q >= 0]
        still = (tok[P] == a) & (tok[Q] == b)  # not changed since listed
        P, Q = P[still], Q[still]
        if a == b and len(P) > 1:
            kept = every_other_of_runs(P, Q)
            P, Q = P[kept], Q[kept]
        W, L, R = weight[P], prv[P], nxt[Q]  # ... L a b R ...  ->  ... L z R ...
        at = np.searchsorted(P, R)
        next_merged = P[np.minimum(at, len(P) - 1)] == R  # ... a b [a b] ...: R is merged too
        after_merged = np.concatenate(([False], next_merged[:-1]))  # [a b] a b: L is the b before
        has_l, has_r = L >= 0, (R >= 0) & ~next_merged  # a pair between two merges: counted from its right
        left = tok[L[has_l]] * K
        zz = after_merged[has_l]
        new_left = np.where(zz, z * K + z, left + z)  # (l, z), or (z, z) between two merges
        new_right = z * K + tok[R[has_r]]  # (z, r)
        # where the new pairs start: (l, z) at L, (z, z) at the merge before, (z, r) at P
        new_left_at = np.where(zz, prv[L[has_l]], L[has_l])
        changes = np.concatenate((left + a, new_left, b * K + tok[R[has_r]], new_right))
        deltas = np.concatenate((-W[has_l], W[has_l], -W[has_r], W[has_r]))

        tok[P], tok[Q], nxt[P] = z, -1, R  # P now holds z; Q is unlinked
        prv[R[R >= 0]] = P[R >= 0]
        _list_places(where, np.concatenate((new_left, new_right)), np.concatenate((new_left_at, P[has_r])))

        del counts[merged]  # every (a, b) is now z: its count is 0
        order, starts, _ = _groups(changes)
        sums = np.add.reduceat(deltas[order], starts).tolist() if len(changes) else []
        for code, d in zip(changes[order][starts].tolist(), sums):
            if code == merged or d == 0:
                continue
            c = counts.get(code, 0) + d
            if c > 0:  # push each changed count once; forget the pairs that are gone
                counts[code] = c
                heapq.heappush(heap, (-c, code))
            else:
                counts.pop(code, None)
                where.pop(code, None)
        merges.append((a, b))
        if progress is not None:
            progress(len(merges))
    return merges
