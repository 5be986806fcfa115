"""Bit-parallel byte scanning: per-byte classes packed into 64-bit words, quote parity by XOR.

The fast paths of the chunk planner and the reconcile counter are built from these: a block's
quotes, LFs, commas and CRs become bit words (one bit per byte), and the quoted state before
every byte is the parity of the quotes before it, a prefix XOR computed 64 bytes at a time.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Words = npt.NDArray[np.uint64]
# Bytes classified per step: a multiple of 64. 1 MiB pieces measured fastest (128 KiB: the
# per-piece Python calls cost more than the cache misses a larger mask adds).
_PIECE = 1024 * 1024


def shift_in(words: Words, by: int, fill: int) -> Words:
    """Shift the bit stream ``by`` bytes later; the first ``by`` bits become ``fill``'s bits."""
    shifted = words << np.uint64(by)
    shifted[1:] |= words[:-1] >> np.uint64(64 - by)
    shifted[0] |= np.uint64(fill)
    return shifted


def last_bit(words: Words) -> int | None:
    """Offset of the highest set bit, or None (searched from the end, in growing windows)."""
    end, window = len(words), 64
    while end > 0:
        start = max(end - window, 0)
        nonzero = np.flatnonzero(words[start:end])
        if len(nonzero):
            word = start + int(nonzero[-1])
            return word * 64 + int(words[word]).bit_length() - 1
        end, window = start, window * 8
    return None


class ByteClasses:
    """Bit words of the bytes equal to given values, classified in 1 MiB pieces.

    Each piece's byte mask is compared and packed while it is still in the CPU cache, through
    one reused scratch mask (a fresh 8 MiB mask per comparison costs more in page faults and
    memory traffic than the comparison itself); the result is not zero-filled first.
    """

    def __init__(self) -> None:
        self.scratch = np.empty(_PIECE, dtype=np.bool_)
        self.arr = np.empty(0, dtype=np.uint8)

    def load(self, block: bytes) -> npt.NDArray[np.uint8]:
        """Make ``block`` the bytes the next ``words``/``classify`` calls read (no copy)."""
        self.arr = np.frombuffer(block, dtype=np.uint8)
        return self.arr

    def words(self, value: int) -> Words:
        """Bit words of the loaded block's bytes equal to ``value``."""
        return self.classify((value,))[0]

    def classify(self, values: tuple[int, ...]) -> list[Words]:
        """Bit words of the loaded block's bytes equal to each of ``values``, in one sweep."""
        arr = self.arr
        length = len(arr)
        packed = np.empty((len(values), -(-length // 64) * 8), dtype=np.uint8)
        # Every byte is written below except those past the last piece's: zero the last word.
        packed[:, -8:] = 0
        for start in range(0, length, _PIECE):
            piece = arr[start : start + _PIECE]
            mask = self.scratch[: len(piece)]
            at = start // 8
            for row, value in enumerate(values):
                np.equal(piece, value, out=mask)
                bits = np.packbits(mask, bitorder="little")
                packed[row, at : at + len(bits)] = bits
        words = packed.view("<u8").astype(np.uint64, copy=False)
        return [words[row] for row in range(len(values))]


def quoted_before(quotes: Words, *, in_quotes: bool) -> tuple[Words, bool]:
    """Bits set where the byte is inside quotes by quote parity, and the state after the block.

    Every quote toggles; ``in_quotes`` is the state before the block's first byte.
    """
    inside = np.empty_like(quotes)
    scratch = np.empty_like(quotes)
    np.left_shift(quotes, np.uint64(1), out=scratch)
    np.bitwise_xor(quotes, scratch, out=inside)
    for step in (2, 4, 8, 16, 32):
        np.left_shift(inside, np.uint64(step), out=scratch)
        np.bitwise_xor(inside, scratch, out=inside)
    # Bit 63 of each word is now the parity of the word's quotes. The parity before each word
    # is the prefix XOR of those bits: packed 64 to a word, the same in-word XOR, then a
    # carry across the (64 times fewer) packed words.
    count = len(quotes)
    parity = np.zeros(-(-count // 64) * 64, dtype=np.uint8)
    np.right_shift(inside, np.uint64(63), out=scratch)
    parity[:count] = scratch
    packed = np.packbits(parity, bitorder="little").view(np.uint64)
    through = packed.copy()
    for step in (1, 2, 4, 8, 16, 32):
        through ^= through << np.uint64(step)
    group_carry = np.bitwise_xor.accumulate((through >> np.uint64(63)).astype(np.uint8))
    before_group = np.zeros(len(through), dtype=np.uint64)
    before_group[1:] = group_carry[:-1]
    through ^= np.negative(before_group)  # parity through each word
    after = bool(group_carry[-1]) ^ in_quotes if count else in_quotes
    through ^= packed  # parity before each word
    if in_quotes:
        np.bitwise_not(through, out=through)
    carry = np.unpackbits(through.view(np.uint8), count=count, bitorder="little")
    np.negative(carry, out=carry)  # 0 -> 0, 1 -> 0xff
    inside ^= carry.view(np.int8).astype(np.int64).view(np.uint64)  # 0xff -> all ones
    inside ^= quotes
    return inside, after


def bit_positions(words: Words) -> npt.NDArray[np.int64]:
    """Offsets of the set bits, ascending (one pass per bit of the fullest word)."""
    index = np.flatnonzero(words)
    rest = words[index]
    found: list[npt.NDArray[np.int64]] = []
    one = np.uint64(1)
    while len(rest):
        lowest = rest & (~rest + one)
        found.append(index * 64 + np.bitwise_count(lowest - one).astype(np.int64))
        rest = rest & (rest - one)
        keep = rest != 0
        if not keep.all():
            index, rest = index[keep], rest[keep]
    if not found:
        return np.zeros(0, dtype=np.int64)
    if len(found) == 1:
        return found[0]
    return np.sort(np.concatenate(found))


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
