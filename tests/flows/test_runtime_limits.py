"""The header limits travel from the settings into the runtime the steps use."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from catalog_lib.core.settings import Settings
from flows.runtime import build_runtime


def test_build_runtime_passes_the_header_limits(tmp_path: Path) -> None:
    settings = Settings(
        database_url=SecretStr("postgresql://user@127.0.0.1:1/none"),
        landing_url=str(tmp_path / "landing"),
        home=tmp_path / "home",
        max_header_columns=77,
        max_header_bytes=4096,
    )
    rt = build_runtime(settings)
    assert (rt.max_header_columns, rt.max_header_bytes) == (77, 4096)
