"""Issue 6 over HTTP: a real ``dataward serve`` with DEBUG logging and its access log written
into the data directory registers N cards (default 1,000) through ``POST /v1/cards`` and charges
each through the reference processor over TLS; bad card inputs come back as problems showing at
most the last four digits. The data directory is scanned twice: a copy taken while the server
runs (SQLite WAL included, which is checkpointed away at stop), then, after the server stopped
and the audit log was exported with the CLI, the directory itself. Every byte (database, WAL,
key files, DEBUG and access log, audit export) goes through the detector and an exact search for
every PAN (plain, spaced, dashed) and every "cvv" + value: nothing is found, and a planted card
is (positive control). The processor's own store lives outside the data directory and is not
scanned; it is read only to check that its tokens never appear in an answer or in clear here.

``DATAWARD_CARDS_HTTP_E2E_N`` sets N (1,000 is the number issue 6 is judged by).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cards.support import BRAND_SAMPLES, exact_card_hits, grouped, make_pan, scan_for_card_data
from dataward.detect import Detector
from dataward.service.bootstrap import ProcessorFiles

from .test_e2e import (
    DATAWARD,
    clean_environment,
    problem,
    processor_env,  # noqa: F401 - the module-scoped fixture, reused
    run_cli,
    stop,
    wait_for_port,
)

N_CARDS = int(os.environ.get("DATAWARD_CARDS_HTTP_E2E_N", "1000"))
#: Requests in flight at once (one keep-alive client, shared by the threads).
CONCURRENCY = 4
ROLES = ("billing", "support")
CARD_REF = re.compile(r"card:[0-9a-f]{24}")
CARD_OUT_KEYS = {"card_ref", "subject_id", "brand", "last4", "expiry", "display"}

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Card:
    subject: str
    brand: str
    pan: str  # digits only
    typed: str  # as sent: plain, spaced or dashed
    cvv: str
    expiry: str  # as sent: MM/YY or MM/YYYY
    amount: int

    @property
    def month_year(self) -> str:
        month, year = self.expiry.split("/")
        return f"{int(month):02d}/{2000 + int(year) if len(year) == 2 else year}"


def make_cards(n: int, rng: random.Random) -> list[Card]:
    samples = [(brand, s) for brand, group in BRAND_SAMPLES.items() for s in group]
    styles = [
        lambda p: p,
        lambda p: grouped(p, " "),
        lambda p: grouped(p, "-"),
        lambda p: grouped(p, " ", (4, 6, 5)),
        lambda p: f" {grouped(p, ' - ')} ",
    ]
    cards = []
    for i in range(n):
        brand, (prefix, length) = samples[i % len(samples)]
        pan = make_pan(prefix, length, rng)
        cvv = "".join(str(rng.randrange(10)) for _ in range(4 if brand == "amex" else 3))
        year = 2031 + i % 5
        expiry = f"{1 + i % 12:02d}/{year}" if i % 2 else f"{1 + i % 12}/{year % 100}"
        cards.append(
            Card(f"cust-h{i:05d}", brand, pan, styles[i % len(styles)](pan), cvv, expiry, 100 + i)
        )
    assert len({c.pan for c in cards}) == n, "the seeded numbers are distinct"
    return cards


@dataclass
class Server:
    home: Path
    log: Path
    keys: dict[str, str]
    client: httpx.Client
    store: Path  # the reference processor's own store (outside home)
    proc: subprocess.Popen[bytes]
    stopped: int | None = None

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def stop(self) -> int:
        if self.stopped is None:
            self.stopped = stop(self.proc)
        return self.stopped


@pytest.fixture(scope="module")
def server(
    processor_env: dict[str, str],  # noqa: F811 - the fixture imported above
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    """``dataward serve`` at DEBUG, its stderr (DEBUG and access log) in ``<home>/logs``."""
    home = tmp_path_factory.mktemp("cards-http-home")
    env = clean_environment(
        DATAWARD_SERVICE_DECISION_FLUSH_SECONDS="0.01",
        DATAWARD_SERVICE_LOG_LEVEL="debug",
        DATAWARD_SERVICE_ACCESS_LOG="true",
        **processor_env,
    )
    keys = {r: run_cli(home, env, "keys", "create", "--role", r).splitlines()[-1] for r in ROLES}
    (home / "logs").mkdir()
    port_file, log = home / "port", home / "logs" / "service.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [DATAWARD, "--home", str(home), "serve", "--port", "0", "--port-file", str(port_file)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    store = ProcessorFiles(Path(processor_env["DATAWARD_PROCESSOR_API_KEY_FILE"]).parent).store
    try:
        port = wait_for_port(proc, port_file, log)
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits) as client:
            running = Server(home, log, keys, client, store, proc)
            yield running
    finally:
        status = stop(proc) if proc.poll() is None else proc.returncode
    assert status == 0, log.read_text(errors="replace")


def processor_tokens(store: Path) -> set[str]:
    """The tokens the reference processor issued (read from its own store, read-only)."""
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return {row[0] for row in db.execute("SELECT token FROM tokens")}
    finally:
        db.close()


def register_and_charge(server: Server, card: Card) -> tuple[httpx.Response, httpx.Response | None]:
    billing = server.headers("billing")
    body = {
        "subject_id": card.subject,
        "pan": card.typed,
        "cvv": card.cvv,
        "expiry": card.expiry,
        "holder": "Ada Lovelace",
    }
    made = server.client.post("/v1/cards", json=body, headers=billing)
    if made.status_code != 201:
        return made, None
    charge = {"subject_id": card.subject, "amount": card.amount, "currency": "CHF"}
    ref = made.json()["card_ref"]
    return made, server.client.post(f"/v1/cards/{ref}/charges", json=charge, headers=billing)


def check_registered(card: Card, answer: httpx.Response) -> str:
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert set(body) == CARD_OUT_KEYS
    assert CARD_REF.fullmatch(body["card_ref"])
    assert body["subject_id"] == card.subject
    assert (body["brand"], body["last4"]) == (card.brand, card.pan[-4:])
    assert body["expiry"] == card.month_year
    assert card.pan[-4:] in body["display"]
    assert card.pan[:-4] not in answer.text and card.typed.strip() not in answer.text
    assert card.cvv not in body.values()
    return str(body["card_ref"])


def check_charged(card: Card, answer: httpx.Response | None) -> None:
    assert answer is not None
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["approved"] is True and body["status"] == "approved", body
    assert (body["amount"], body["currency"]) == (card.amount, "CHF")
    assert card.pan[:-4] not in answer.text


def digit_windows(digits: str, width: int = 5) -> set[str]:
    return {digits[i : i + width] for i in range(len(digits) - width + 1)}


def shows_at_most_last4(answer: httpx.Response, digits: str, cvv: str) -> None:
    """A problem+json answer whose text holds no 5 consecutive digits of the PAN, nor the
    CVV as a value."""
    assert answer.headers["content-type"].startswith("application/problem+json")
    text = re.sub(r"[ -]", "", answer.text)
    assert not {w for w in digit_windows(digits) if w in text}, answer.text[:500]
    assert f'"{cvv}"' not in answer.text and f"cvv {cvv}" not in answer.text.lower()


def send_bad_inputs(server: Server, card: Card) -> tuple[list[httpx.Response], str]:
    """Bad card inputs through HTTP: each is refused with its field named, nothing echoed.
    Returns the answers and the Luhn-failing number sent (the scans look for it too)."""
    billing = server.headers("billing")
    base = {
        "subject_id": "cust-bad",
        "pan": card.typed,
        "cvv": card.cvv,
        "expiry": card.expiry,
        "holder": "Ada Lovelace",
    }
    luhn = card.pan[:-1] + str((int(card.pan[-1]) + 1) % 10)
    letters = card.pan[:6] + "abcdef" + card.pan[12:]
    short_cvv = card.cvv[:-1]
    huge = (card.pan * (1_000_000 // len(card.pan) + 1))[:1_000_000]
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        ({"pan": grouped(luhn, " ")}, 422, "card_invalid", "body.pan"),
        ({"pan": letters}, 422, "card_invalid", "body.pan"),
        ({"expiry": "01/2020"}, 422, "card_invalid", "body.expiry"),
        ({"expiry": "13/2031"}, 422, "card_invalid", "body.expiry"),
        ({"cvv": short_cvv}, 422, "card_invalid", "body.cvv"),
        ({"cvv": card.cvv + "9"}, 422, "card_invalid", "body.cvv"),
        ({"pan": huge}, 422, "invalid_input", "body.pan"),
        ({"holder": huge}, 422, "invalid_input", "body.holder"),
        ({"pan": int(card.pan)}, 422, "invalid_input", "body.pan"),
    ]
    answers = []
    for change, status, code, loc in cases:
        answer = server.client.post("/v1/cards", json={**base, **change}, headers=billing)
        body = problem(answer, status, code)
        assert loc in [e["loc"] for e in body.get("errors", [])], body
        shows_at_most_last4(answer, card.pan, card.cvv)
        for name in ("pan", "holder"):  # the refused number itself is not echoed either
            sent_digits = re.sub(r"[^0-9]", "", str(change.get(name, "")))[:64]
            shows_at_most_last4(answer, sent_digits, card.cvv)
        answers.append(answer)
    # Another role: the policy refuses, and says why without the number.
    denied = server.client.post("/v1/cards", json=base, headers=server.headers("support"))
    problem(denied, 403, "policy_denied")
    shows_at_most_last4(denied, card.pan, card.cvv)
    answers.append(denied)
    return answers, luhn


def written_bytes(root: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def exact_hits(blob: bytes, cards: list[Card], *refused: str) -> list[str]:
    return exact_card_hits(blob, [c.pan for c in cards] + list(refused), [c.cvv for c in cards])


def test_thousand_cards_over_http_leave_no_card_data(server: Server, tmp_path: Path) -> None:
    cards = make_cards(N_CARDS, random.Random(20261129))
    tokens_before = processor_tokens(server.store)
    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        answers = list(pool.map(lambda c: register_and_charge(server, c), cards))
    elapsed = time.perf_counter() - started
    print(f"\n{N_CARDS} cards registered + charged over HTTP in {elapsed:.1f} s wall")
    texts: list[str] = []
    refs = []
    for card, (made, charged) in zip(cards, answers, strict=True):
        refs.append(check_registered(card, made))
        check_charged(card, charged)
        texts += [made.text, charged.text if charged is not None else ""]
    assert len(set(refs)) == N_CARDS

    bad, refused = send_bad_inputs(server, cards[0])
    texts += [a.text for a in bad]
    # Someone else's card does not open, and the answer does not say more than the reference.
    other = server.client.post(
        f"/v1/cards/{refs[1]}/charges",
        json={"subject_id": cards[0].subject, "amount": 100, "currency": "CHF"},
        headers=server.headers("billing"),
    )
    problem(other, 404, "not_found")
    # A removal (billing, purpose billing): gone here and at the processor.
    removed = server.client.delete(
        f"/v1/cards/{refs[-1]}", params={"subject_id": cards[-1].subject},
        headers=server.headers("billing"),
    )  # fmt: skip
    assert removed.status_code == 204, removed.text

    tokens = processor_tokens(server.store) - tokens_before
    assert len(tokens) == N_CARDS - 1  # one token per card; the removed one deleted there
    answered = "\n".join(texts)
    assert not [t for t in tokens if t in answered], "a processor token was returned in clear"
    assert "tok_" not in answered

    t_scan = time.process_time()
    # While it runs: a copy of the data directory as it is, the SQLite WAL included.
    live = tmp_path / "live"
    shutil.copytree(server.home, live)
    assert (live / "dataward.db-wal").is_file(), sorted(p.name for p in live.iterdir())
    detector = Detector.default()
    assert scan_for_card_data(detector, [live]) == []
    live_blob = written_bytes(live)
    assert exact_hits(live_blob, cards, refused) == []
    assert not [t for t in tokens if t.encode() in live_blob], "the token is kept sealed only"

    t_scan = time.process_time() - t_scan
    assert server.stop() == 0
    run_cli(server.home, clean_environment(), "audit", "export", str(server.home / "audit-export"))
    assert any((server.home / "audit-export").iterdir())
    log = server.log.read_text(errors="replace")
    assert " DEBUG " in log, "DEBUG logging was on"
    assert "dataward.access" in log and "/v1/cards/{card_ref}/charges" in log, "access log"
    assert log.count("POST /v1/cards ") >= N_CARDS, "one access line per registration"

    # Every byte dataward wrote: detector, then exact search for every PAN and CVV.
    t0 = time.process_time()
    assert (server.home / "dataward.db").stat().st_size > 0
    assert scan_for_card_data(detector, [server.home]) == []
    blob = written_bytes(server.home)
    assert exact_hits(blob, cards, refused) == []
    assert not [t for t in tokens if t.encode() in blob], "the token is kept sealed only"
    print(f"scan CPU: live {t_scan:.1f} s, stopped {time.process_time() - t0:.1f} s")

    # Positive control: the same two scans see a card planted in a log and in a database file.
    control = tmp_path / "control"
    shutil.copytree(server.home, control)
    planted = cards[2]
    with (control / "logs" / "service.log").open("a") as f:
        f.write(f"charging card {planted.typed.strip()} cvv: {planted.cvv}\n")
    database = max((p for p in control.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    with database.open("ab") as f:
        f.write(b"\x00\x13\x07" + planted.pan.encode() + b"\x00\x01")
    found = scan_for_card_data(detector, [control])
    assert {(Path(f).name, c) for f, c, _ in found} >= {
        ("service.log", "card.pan"),
        ("service.log", "card.cvv"),
        (database.name, "card.pan"),
    }
    control_hits = exact_hits(written_bytes(control), cards)
    assert sum(h.startswith(f"pan ...{planted.pan[-4:]}") for h in control_hits) >= 2
    assert any(h.startswith("cvv") for h in control_hits), control_hits
