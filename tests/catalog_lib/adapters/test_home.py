"""$CATALOG_HOME stays private: permissions repaired, secrets 0600, old results pruned."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from catalog_lib.adapters.home import ensure_secret_file, prune_old_files, secure_home


def _modes(home: Path) -> dict[str, int]:
    return {
        str(p.relative_to(home)): p.stat().st_mode & 0o777
        for p in sorted(home.rglob("*"))
        if not p.is_symlink()
    }


def test_secure_home_removes_group_and_other_bits(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "prefect" / "storage").mkdir(parents=True)
    (home / "prefect" / "prefect.db").write_text("db")
    (home / "logs").mkdir()
    (home / "logs" / "serve.log").write_text("log")
    (home / "run").mkdir()
    (home / "run" / "script").write_text("#!/bin/sh")
    for path in [home, *home.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    (home / "run" / "script").chmod(0o775)
    outside = tmp_path / "outside"
    outside.write_text("not ours")
    outside.chmod(0o644)
    (home / "link").symlink_to(outside)

    changed = secure_home(home)

    assert changed == 8
    assert home.stat().st_mode & 0o777 == 0o700
    assert _modes(home) == {
        "logs": 0o700,
        "logs/serve.log": 0o600,
        "prefect": 0o700,
        "prefect/prefect.db": 0o600,
        "prefect/storage": 0o700,
        "run": 0o700,
        "run/script": 0o700,
    }
    assert outside.stat().st_mode & 0o777 == 0o644  # a symlink's target is left alone
    assert secure_home(home) == 0


def test_a_shared_folder_as_home_is_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    (shared / "other-users-file").write_text("x")
    (shared / "other-users-file").chmod(0o644)

    assert secure_home(shared) == 0
    assert shared.stat().st_mode & 0o7777 == 0o1777
    assert (shared / "other-users-file").stat().st_mode & 0o777 == 0o644


def test_secure_home_of_a_missing_folder_does_nothing(tmp_path: Path) -> None:
    assert secure_home(tmp_path / "missing") == 0
    assert not (tmp_path / "missing").exists()


def test_secret_file_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "run" / "prefect-auth"

    first = ensure_secret_file(path, prefix="catalog-etl:")
    second = ensure_secret_file(path, prefix="catalog-etl:")

    assert first == second
    assert first.startswith("catalog-etl:")
    assert len(first) > 40
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    assert ensure_secret_file(path) == first
    assert path.stat().st_mode & 0o777 == 0o600


def test_an_empty_secret_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("\n")

    value = ensure_secret_file(path)

    assert len(value) >= 32
    assert path.read_text().strip() == value


def test_prune_old_files_deletes_only_expired_files(tmp_path: Path) -> None:
    (tmp_path / "nested").mkdir()
    old, fresh = tmp_path / "nested" / "old", tmp_path / "fresh"
    old.write_text("x")
    fresh.write_text("y")
    eight_days_ago = time.time() - 8 * 86400
    os.utime(old, (eight_days_ago, eight_days_ago))

    assert prune_old_files(tmp_path, older_than=timedelta(days=7)) == 1
    assert not old.exists()
    assert fresh.exists()
    assert (tmp_path / "nested").is_dir()
    assert prune_old_files(tmp_path / "missing", older_than=timedelta(days=7)) == 0


def test_the_cli_entry_point_sets_a_private_umask(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    (home / "old.log").write_text("x")
    (home / "old.log").chmod(0o644)
    script = (
        "import os, sys\n"
        "sys.argv = ['catalog-etl', '--help']\n"
        "from flows.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "open(os.path.join(os.environ['CATALOG_HOME'], 'new.txt'), 'w').close()\n"
    )
    env = {**os.environ, "CATALOG_HOME": str(home)}

    subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True)

    assert _modes(home) == {"new.txt": 0o600, "old.log": 0o600}
    assert home.stat().st_mode & 0o777 == 0o700
