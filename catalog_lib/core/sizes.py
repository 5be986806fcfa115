"""Byte sizes as people write them (`16MiB`, `512KB`) and as the code uses them."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_size(text: str | int) -> int:
    """Parse a byte size such as ``16MiB``, ``512KB`` or ``1048576`` into a positive byte count.

    Raises ValueError (not an error-tree type) on purpose: pydantic's settings validator
    (`Settings._parse_chunk_size`) turns only ValueError into a validation error, and the CLI
    reports it as a usage error.

    Units are case-insensitive: ``B``, ``KB``/``MB``/``GB``/``TB`` (powers of 1000) and
    ``KiB``/``MiB``/``GiB``/``TiB`` (powers of 1024). Fractions round down to whole bytes.

    Raises:
        ValueError: the text is not a size, uses an unknown unit, or is not positive.
    """
    if isinstance(text, bool):
        raise ValueError(f"invalid size {text!r}: expected a byte count such as 16MiB")
    if isinstance(text, int):
        if text <= 0:
            raise ValueError(f"invalid size {text!r}: must be a positive number of bytes")
        return text
    match = _SIZE_RE.match(text)
    if match is None:
        raise ValueError(
            f"invalid size {text!r}: expected a number with an optional unit "
            "(B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. 16MiB"
        )
    number, unit = match.groups()
    multiplier = _SIZE_UNITS.get(unit.lower())
    if multiplier is None:
        raise ValueError(
            f"invalid size {text!r}: unknown unit {unit!r} "
            "(use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"
        )
    try:
        value = int(Decimal(number) * multiplier)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise ValueError(f"invalid size {text!r}") from exc
    if value <= 0:
        raise ValueError(f"invalid size {text!r}: must be at least one byte")
    return value
