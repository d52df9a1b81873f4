"""Private files (keys) created whole: written aside, synced, then put in place.

A process that reads a key file while another creates it must never find it empty or half
written (it would call the key damaged). :func:`write_private` is the one way dataward creates
such files; the key stores, the audit signing key and the card token key go through it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["write_private"]


def write_private(path: Path, data: bytes, *, replace: bool = False) -> bool:
    """Create ``path`` with mode 0600 holding ``data``: written to a hidden sibling, synced,
    then linked into place (``False`` if ``path`` already exists: nothing is changed) or, with
    ``replace``, renamed over it. Other failures raise :class:`OSError` for the caller to
    report in its own terms."""
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            draft.replace(path)
            return True
        try:
            os.link(draft, path)
        except FileExistsError:
            return False
        return True
    finally:
        draft.unlink(missing_ok=True)
