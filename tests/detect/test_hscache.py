"""The compiled-database cache: a hit returns the same bytes, a damaged file is rebuilt."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataward.detect.hscache import cache_dir, cached_blob


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATAWARD_CACHE_DIR", str(tmp_path))
    return cache_dir()


def test_second_call_is_served_from_the_cache(isolated_cache: Path) -> None:
    builds: list[int] = []

    def build() -> bytes:
        builds.append(1)
        return b"compiled"

    assert cached_blob(b"patterns", build) == b"compiled"
    assert cached_blob(b"patterns", build) == b"compiled"
    assert len(builds) == 1
    assert cached_blob(b"other patterns", build) == b"compiled"
    assert len(builds) == 2


def test_damaged_cache_file_is_rebuilt(isolated_cache: Path) -> None:
    cached_blob(b"p", lambda: b"good")
    (entry,) = isolated_cache.iterdir()
    data = bytearray(entry.read_bytes())
    data[-1] ^= 0xFF
    entry.write_bytes(bytes(data))
    assert cached_blob(b"p", lambda: b"good") == b"good"
    assert entry.read_bytes()[32:] == b"good"


def test_unwritable_cache_only_costs_the_compile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("DATAWARD_CACHE_DIR", str(blocker))
    assert cached_blob(b"p", lambda: b"v") == b"v"
