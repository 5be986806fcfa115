"""Failpoints: named places where a crash test can SIGKILL the process that reaches them.

A failpoint does nothing unless `CATALOG_FAILPOINTS_FILE` names a readable file. That file
holds one spec, `name` or `name@n` (the n-th time this process reaches `name`, default the
first); reaching it kills the process with SIGKILL, as an OOM kill or a lost machine would, so
no `finally`, hook or rollback of the process runs. Crash-injection tests write the file
before each trial; a worker started once (e.g. `catalog-etl serve`) picks up every new spec
because the file is read on each hit. Never set the variable in production.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter
from pathlib import Path

FAILPOINTS_FILE_ENV = "CATALOG_FAILPOINTS_FILE"

_hits: Counter[str] = Counter()
_lock = threading.Lock()


def parse_spec(text: str) -> tuple[str, int] | None:
    """The (name, n-th hit) of a spec such as `chunk.in_tx@2`; None for an empty spec."""
    spec = text.strip()
    if not spec:
        return None
    name, _, count = spec.partition("@")
    return name.strip(), int(count) if count.strip() else 1


def failpoint(name: str) -> None:
    """SIGKILL this process if the failpoints file names `name` (at its n-th hit)."""
    path = os.environ.get(FAILPOINTS_FILE_ENV)
    if not path:
        return
    try:
        spec = parse_spec(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return
    if spec is None or spec[0] != name:
        return
    with _lock:
        _hits[name] += 1
        reached = _hits[name] == spec[1]
    if reached:
        os.kill(os.getpid(), signal.SIGKILL)
