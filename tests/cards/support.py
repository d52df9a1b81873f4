"""Helpers for the card tests: card-number generation, leak checks, a scripted TLS server."""

from __future__ import annotations

import http.server
import random
import re
import ssl
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import ahocorasick

from dataward.vault.model import FindingSource

# A prefix inside each brand's range (see dataward.cards.validation) and a valid length.
BRAND_SAMPLES: dict[str, tuple[tuple[str, int], ...]] = {
    "visa": (("4", 16), ("4", 13), ("4", 19)),
    "mastercard": (("51", 16), ("55", 16), ("2221", 16), ("2720", 16)),
    "amex": (("34", 15), ("37", 15)),
    "discover": (("6011", 16), ("644", 16), ("65", 19)),
    "diners": (("300", 14), ("3095", 16), ("36", 14), ("38", 16)),
    "jcb": (("3528", 16), ("3589", 19)),
    "unionpay": (("62", 16), ("81", 19)),
    "maestro": (("50", 12), ("56", 16), ("6304", 18), ("67", 19)),
}


def luhn_digit(partial: str) -> str:
    """The check digit that makes ``partial + digit`` pass Luhn."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def make_pan(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    return body + luhn_digit(body)


def leaked_windows(exc: BaseException, digits: str, width: int = 5) -> set[str]:
    """Every ``width``-digit window of ``digits`` that shows in the exception's message, args
    or fully formatted traceback (showing only the last 4 leaves this empty)."""
    text = "".join(traceback.format_exception(exc)) + repr(exc.args) + str(exc)
    windows = {digits[i : i + width] for i in range(len(digits) - width + 1)}
    return {w for w in windows if w in text}


@dataclass
class ScriptedServer:
    """A TLS HTTP server whose answer is scripted; counts the requests it received."""

    url: str
    hits: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


Reply = Callable[[int], tuple[int, bytes, float]]  # hit number -> (status, body, delay seconds)


@contextmanager
def scripted_tls_server(
    server_ctx: ssl.SSLContext, reply: Reply, headers: dict[str, str] | None = None
) -> Iterator[ScriptedServer]:
    state = ScriptedServer(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            self.rfile.read(length)
            state.hits.append(self.path)
            status, body, delay = reply(len(state.hits))
            if delay:
                state.release.wait(delay)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = server_ctx.wrap_socket(server.socket, server_side=True)
    state.url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def scan_for_card_data(detector: FindingSource, paths: list[Path]) -> list[tuple[str, str, int]]:
    """Run the detector over every byte of every file under ``paths``; return the card.pan and
    card.cvv findings as (file, category, offset), in overlapping 1 MiB windows, so binary files
    (SQLite pages, WAL) are covered too."""
    detect = detector.detect
    # The detector reads text: every byte that is not printable ASCII becomes a line break
    # (offsets stay 1:1; a PAN or CVV written as text is printable ASCII and stays intact).
    printable = bytes(range(0x20, 0x7F)) + b"\t\n"
    table = bytes(b if b in printable else 0x0A for b in range(256))
    found: list[tuple[str, str, int]] = []
    window, overlap = 1 << 20, 256
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for f in files:
            data = f.read_bytes()
            start = 0
            while True:
                text = data[start : start + window].translate(table).decode("ascii")
                for hit in detect(text):
                    if hit.category in ("card.pan", "card.cvv") and (
                        start == 0 or hit.start >= overlap
                    ):
                        found.append((str(f), hit.category, start + hit.start))
                if start + window >= len(data):
                    break
                start += window - overlap
    return found


def grouped(pan: str, sep: str, sizes: tuple[int, ...] = (4,)) -> str:
    """``pan`` in groups (the last size repeats): 4-4-4-4, or 4-6-5 as Amex prints it."""
    parts, i, k = [], 0, 0
    while i < len(pan):
        size = sizes[min(k, len(sizes) - 1)]
        parts.append(pan[i : i + size])
        i, k = i + size, k + 1
    return sep.join(parts)


def pan_forms(pan: str) -> set[str]:
    """Every way a card number is commonly written: plain, spaced or dashed, 4-4-4-4 or 4-6-5."""
    return {pan} | {grouped(pan, s, z) for s in (" ", "-", " - ") for z in ((4,), (4, 6, 5))}


_CVV_NEAR = re.compile(rb"(?i)cvv[^0-9a-z]{0,8}([0-9]{3,4})(?![0-9])")


def exact_card_hits(blob: bytes, pans: list[str], cvvs: list[str]) -> list[str]:
    """Exact byte search in ``blob`` for every form of every PAN (:func:`pan_forms`) and for
    every ``cvv`` followed (within 8 punctuation/space bytes) by one of ``cvvs``. One pass of an
    Aho-Corasick automaton, so thousands of numbers cost one read of the bytes. Each hit is
    described by the last four digits (or ``cvv``) and its offset, never the number."""
    automaton = ahocorasick.Automaton()
    for pan in pans:
        for form in pan_forms(pan):
            automaton.add_word(form, pan[-4:])
    hits: list[str] = []
    if len(automaton):
        automaton.make_automaton()
        text = blob.decode("latin-1")  # 1 byte = 1 character: offsets are byte offsets
        hits += [f"pan ...{last4} at {end}" for end, last4 in automaton.iter(text)]
    wanted = {c.encode() for c in cvvs}
    hits += [f"cvv at {m.start()}" for m in _CVV_NEAR.finditer(blob) if m.group(1) in wanted]
    return hits
