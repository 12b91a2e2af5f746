"""Huffman coding of 8-bit symbols: code lengths, canonical codes, encode and decode.

Written by hand because the standard library has none and the schemes need the
real coded length, not an entropy estimate. Lengths come from the textbook
merge of the two least frequent subtrees (``heapq``); canonical codes make the
table cheap to send: only each used symbol and its code length.
"""

from __future__ import annotations

import heapq
from typing import Sequence

import numpy as np

SYMBOL_BITS = 8
LENGTH_BITS = 5  # code lengths up to 31


def code_lengths(counts: Sequence[int]) -> dict[int, int]:
    """Symbol -> code length for the symbols with a nonzero count."""
    used = [(int(c), s) for s, c in enumerate(counts) if c > 0]
    if len(used) == 1:
        return {used[0][1]: 1}  # one symbol still needs one bit per occurrence
    heap = [(c, i, [s]) for i, (c, s) in enumerate(used)]
    heapq.heapify(heap)
    lengths = {s: 0 for _, s in used}
    tie = len(heap)
    while len(heap) > 1:
        c1, _, s1 = heapq.heappop(heap)
        c2, _, s2 = heapq.heappop(heap)
        for s in s1 + s2:
            lengths[s] += 1
        heapq.heappush(heap, (c1 + c2, tie, s1 + s2))
        tie += 1
    return lengths


def canonical_codes(lengths: dict[int, int]) -> dict[int, str]:
    """Canonical Huffman codes (bit strings) from code lengths."""
    code, prev_len, out = 0, 0, {}
    for s, n in sorted(lengths.items(), key=lambda kv: (kv[1], kv[0])):
        code <<= n - prev_len
        out[s] = format(code, f"0{n}b")
        code, prev_len = code + 1, n
    return out


def encode(symbols: np.ndarray, codes: dict[int, str]) -> str:
    return "".join(codes[int(s)] for s in symbols.ravel())


def decode(bits: str, codes: dict[int, str]) -> list[int]:
    lookup = {c: s for s, c in codes.items()}
    out, current = [], ""
    for b in bits:
        current += b
        if current in lookup:
            out.append(lookup[current])
            current = ""
    return out


def table_bits(lengths: dict[int, int]) -> int:
    """Cost of sending a canonical table: a count, then (symbol, length) per used symbol."""
    return SYMBOL_BITS + len(lengths) * (SYMBOL_BITS + LENGTH_BITS)


def coded_bits(symbols: np.ndarray) -> int:
    """Bits to send ``symbols`` (uint8) with their own Huffman code, table included."""
    counts = np.bincount(symbols.ravel(), minlength=256)
    lengths = code_lengths(counts)
    body = int(sum(counts[s] * n for s, n in lengths.items()))
    return body + table_bits(lengths)
