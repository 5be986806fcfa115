"""Bit-parallel byte scanning: per-byte classes packed into 64-bit words, quote parity by XOR.

The fast paths of the chunk planner and the reconcile counter are built from these: a block's
quotes, LFs, commas and CRs become bit words (one bit per byte), and the quoted state before
every byte is the parity of the quotes before it, a prefix XOR computed 64 bytes at a time.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

ALL_ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
Words = npt.NDArray[np.uint64]


def bit_words(mask: npt.NDArray[np.bool_]) -> Words:
    """Pack a per-byte mask into little-endian 64-bit words, zero-padded past the end.

    Bit ``k`` of word ``w`` stands for byte ``64 * w + k``.
    """
    packed = np.packbits(mask, bitorder="little")
    pad = -len(packed) % 8
    if pad:
        packed = np.concatenate((packed, np.zeros(pad, dtype=np.uint8)))
    return packed.view("<u8").astype(np.uint64, copy=False)


def shift_in(words: Words, by: int, fill: int) -> Words:
    """Shift the bit stream ``by`` bytes later; the first ``by`` bits become ``fill``'s bits."""
    carried = np.empty_like(words)
    carried[0] = np.uint64(fill)
    carried[1:] = words[:-1] >> np.uint64(64 - by)
    return (words << np.uint64(by)) | carried


def last_bit(words: Words) -> int | None:
    """Offset of the highest set bit, or None."""
    nonzero = np.flatnonzero(words)
    if not len(nonzero):
        return None
    word = int(nonzero[-1])
    return word * 64 + int(words[word]).bit_length() - 1


class ByteClasses:
    """Bit words of the bytes equal to one value, through one reused scratch mask.

    A fresh 8 MiB mask per comparison costs more in page faults than the comparison itself.
    """

    def __init__(self) -> None:
        self.scratch = np.empty(0, dtype=np.bool_)

    def load(self, block: bytes) -> None:
        """Make ``block`` the bytes the next ``words`` calls classify."""
        self.arr = np.frombuffer(block, dtype=np.uint8)
        if len(self.scratch) < len(self.arr):
            self.scratch = np.empty(len(self.arr), dtype=np.bool_)

    def words(self, value: int) -> Words:
        """Bit words of the loaded block's bytes equal to ``value``."""
        mask = self.scratch[: len(self.arr)]
        np.equal(self.arr, value, out=mask)
        return bit_words(mask)


def quoted_before(quotes: Words, *, in_quotes: bool) -> tuple[Words, bool]:
    """Bits set where the byte is inside quotes by quote parity, and the state after the block.

    Every quote toggles; ``in_quotes`` is the state before the block's first byte.
    """
    inside = quotes.copy()
    for step in (1, 2, 4, 8, 16, 32):
        inside ^= inside << np.uint64(step)
    word_parity = (inside >> np.uint64(63)).astype(np.uint8)
    carry = np.bitwise_xor.accumulate(word_parity)
    carry = np.concatenate((np.zeros(1, dtype=np.uint8), carry[:-1])) ^ np.uint8(in_quotes)
    inside ^= np.where(carry.astype(bool), ALL_ONES, np.uint64(0))
    return inside ^ quotes, bool(carry[-1]) ^ bool(word_parity[-1])


def bit_positions(words: Words) -> npt.NDArray[np.int64]:
    """Offsets of the set bits, ascending."""
    nonzero = np.flatnonzero(words)
    if not len(nonzero):
        return np.zeros(0, dtype=np.int64)
    bits = np.unpackbits(words[nonzero].view(np.uint8), bitorder="little").reshape(-1, 64)
    rows, cols = np.nonzero(bits)
    return nonzero[rows].astype(np.int64) * 64 + cols


def prefix_counts(words: Words, positions: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """For each offset (at most 64 * len(words)), how many bits are set before it."""
    per_word = np.concatenate(([0], np.cumsum(np.bitwise_count(words), dtype=np.int64)))
    index = positions >> 6
    inside = index < len(words)
    below = (np.uint64(1) << (positions & 63).astype(np.uint64)) - np.uint64(1)
    words_at = words[np.minimum(index, len(words) - 1)]
    partial = np.bitwise_count(words_at & below).astype(np.int64)
    counts: npt.NDArray[np.int64] = per_word[index] + np.where(inside, partial, 0)
    return counts
