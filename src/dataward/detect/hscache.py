"""An on-disk cache of compiled Hyperscan databases.

Compiling the shipped patterns and lexicons takes seconds (tens of seconds on a loaded machine),
and every process that builds a ``Detector`` would pay it: each CLI call, each worker. Hyperscan
databases serialize (``dumpb``/``loadb``), so the compiled bytes are kept in the user cache
directory (``$DATAWARD_CACHE_DIR``, else the platform's), addressed by a SHA-256 of everything
that determines them (Hyperscan version, mode, expressions, ids, flags). A file whose checksum
does not match is ignored and rebuilt; an unwritable cache directory only costs the compile.
Nothing personal is ever cached: only the shipped patterns.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import platformdirs

__all__ = ["cache_dir", "cached_blob"]

_DIGEST = 32
_FORMAT = b"dataward-hs-cache-v1"


def cache_dir() -> Path:
    """Where compiled databases are kept."""
    configured = os.environ.get("DATAWARD_CACHE_DIR")
    base = Path(configured) if configured else Path(platformdirs.user_cache_dir("dataward"))
    return base / "hyperscan"


def cached_blob(material: bytes, build: Callable[[], bytes]) -> bytes:
    """The bytes ``build()`` returns for ``material``, from the cache when present.

    ``material`` must capture every input of ``build``; it is hashed with the Hyperscan version
    and a format tag into the file name.
    """
    key = hashlib.sha256(
        _FORMAT + b"\0" + _hyperscan_version().encode() + b"\0" + material
    ).hexdigest()
    path = cache_dir() / f"{key}.bin"
    try:
        raw = path.read_bytes()
    except OSError:
        raw = b""
    if len(raw) > _DIGEST and hashlib.sha256(raw[_DIGEST:]).digest() == raw[:_DIGEST]:
        return raw[_DIGEST:]
    blob = build()
    _store(path, hashlib.sha256(blob).digest() + blob)
    return blob


@functools.cache
def _hyperscan_version() -> str:
    return importlib.metadata.version("hyperscan")


def _store(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            Path(tmp).replace(path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return  # a read-only or full cache directory only costs the compile next time
