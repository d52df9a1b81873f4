"""Turning input into text safely: invalid UTF-8 replaced, binary refused, huge input chunked."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import BinaryIO, Final

from dataward.errors import BinaryInputError

__all__ = [
    "check_text",
    "decode_bytes",
    "iter_text",
    "looks_binary",
]

#: Control bytes that do not occur in text (tab, newlines, form feed, ESC for ANSI colours do).
_CONTROL: Final = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 27)) + b"\x7f"
_SAMPLE: Final = 1 << 16
_MAX_CONTROL_RATIO: Final = 0.10
READ_BYTES: Final = 1 << 20


def looks_binary(sample: bytes) -> bool:
    """True when ``sample`` has a NUL byte or more than 10% control bytes."""
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    head = sample[:_SAMPLE]
    controls = len(head) - len(head.translate(None, _CONTROL))
    return controls / len(head) > _MAX_CONTROL_RATIO


def _refuse(source: str) -> BinaryInputError:
    return BinaryInputError(
        f"{source} looks like binary data (NUL or control bytes), not text; "
        "detection runs on text only: extract the text first (e.g. with a format-specific tool)"
    )


def check_text(text: str, source: str = "input") -> None:
    """Raise :class:`BinaryInputError` if ``text`` holds NUL or too many control characters."""
    if "\x00" in text:
        raise _refuse(source)
    head = text[:_SAMPLE].encode("utf-8", "replace")
    if looks_binary(head):
        raise _refuse(source)


def decode_bytes(data: bytes, source: str = "input") -> str:
    """UTF-8 text of ``data`` with invalid sequences replaced; binary data refused."""
    if looks_binary(data):
        raise _refuse(source)
    return data.decode("utf-8", "replace")


def iter_text(stream: BinaryIO, source: str = "input", size: int = READ_BYTES) -> Iterator[str]:
    """Decode a byte stream piece by piece (bounded memory), refusing binary pieces."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while True:
        block = stream.read(size)
        if not block:
            tail = decoder.decode(b"", final=True)
            if tail:
                yield tail
            return
        if looks_binary(block):
            raise _refuse(source)
        text = decoder.decode(block)
        if text:
            yield text
