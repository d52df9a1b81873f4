"""End to end: register and charge cards through the reference processor over TLS with DEBUG
logging on, then scan every byte dataward wrote for card numbers and CVVs."""

from __future__ import annotations

import logging
import os
import random
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from dataward.audit.export import export_log
from dataward.cards import (
    CardIntake,
    CardRef,
    HttpCardProcessor,
    TokenKey,
    new_idempotency_key,
)
from dataward.errors import (
    CardValidationError,
    NotFoundError,
    PolicyDeniedError,
    ProcessorError,
)
from dataward.settings import load_settings
from dataward.vault import Actor, Vault
from dataward.vault.schema import values

from .conftest import ProcessorServer
from .support import (
    BRAND_SAMPLES,
    leaked_windows,
    make_pan,
    scan_for_card_data,
    scripted_tls_server,
)

N_CARDS = int(os.environ.get("DATAWARD_CARDS_E2E_N", "100"))
BILLING = Actor("billing-service", "billing")


@pytest.fixture(scope="module")
def world(
    processor_server: ProcessorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("dataward-home")
    log_path = home / "logs" / "debug.log"
    log_path.parent.mkdir()
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    vault = Vault.open(load_settings(home=home), environ={})
    processor = HttpCardProcessor(
        processor_server.url,
        processor_server.api_key,
        ca_bundle=processor_server.ca_path,
        pins=[processor_server.cert_pin],
    )
    intake = CardIntake(vault, processor, token_key=TokenKey.generate())
    try:
        yield {"home": home, "vault": vault, "intake": intake, "log": log_path}
    finally:
        processor.close()
        vault.close()
        root.removeHandler(handler)
        handler.close()
        root.setLevel(old_level)


def _value_rows(vault: Vault) -> int:
    with vault.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(values)).scalar_one())


def test_register_and_charge_then_no_card_data_anywhere(
    world: dict[str, Any], processor_server: ProcessorServer, tmp_path: Path
) -> None:
    intake: CardIntake = world["intake"]
    vault: Vault = world["vault"]
    rng = random.Random(20261129)
    samples = [s for group in BRAND_SAMPLES.values() for s in group]
    pans: list[str] = []
    cvvs: list[str] = []
    refs: list[CardRef] = []
    tokens_before = processor_server.count("tokens")
    for i in range(N_CARDS):
        prefix, length = samples[i % len(samples)]
        pan = make_pan(prefix, length, rng)
        cvv = "".join(str(rng.randrange(10)) for _ in range(4 if prefix in ("34", "37") else 3))
        shown = " ".join(pan[j : j + 4] for j in range(0, len(pan), 4))
        ref = intake.register(f"cust-{i:05d}", shown, cvv, "09/2031", "Ada Lovelace", actor=BILLING)
        assert ref.last4 == pan[-4:]
        result = intake.charge(f"cust-{i:05d}", ref, 100 + i, "CHF", actor=BILLING)
        assert result.approved
        pans.append(pan)
        cvvs.append(cvv)
        refs.append(ref)
    assert processor_server.count("tokens") == tokens_before + N_CARDS
    assert len({r.ref for r in refs}) == N_CARDS

    # Bad inputs through the intake: typed, audited, nothing stored.
    rows = _value_rows(vault)
    with pytest.raises(CardValidationError) as bad:
        intake.register("cust-bad", pans[0][:-1] + "x", "123", "09/2031", "Ada", actor=BILLING)
    assert not leaked_windows(bad.value, pans[0][:-1])
    with pytest.raises(PolicyDeniedError):
        intake.register(
            "cust-x", pans[0], cvvs[0], "09/2031", "Ada Lovelace", actor=Actor("s1", "support")
        )
    # Charging someone else's card does not open its token.
    with pytest.raises(NotFoundError, match="not a card of subject"):
        intake.charge("cust-99999", refs[0], 100, "CHF", actor=BILLING)
    assert _value_rows(vault) == rows

    # Export the audit log next to the data, then scan every byte dataward wrote.
    export_log(vault.audit, world["home"] / "audit-export")  # type: ignore[arg-type]
    for h in logging.getLogger().handlers:
        h.flush()
    written = [world["home"]]
    found = scan_for_card_data(vault.detector, written)
    assert found == []
    blob = b"".join(p.read_bytes() for p in world["home"].rglob("*") if p.is_file())
    for pan in pans:
        assert pan.encode() not in blob
        assert " ".join(pan[j : j + 4] for j in range(0, len(pan), 4)).encode() not in blob
    assert world["log"].stat().st_size > 0  # DEBUG logging was really on

    # Positive control: the same scan does see card data when it is there.
    control = tmp_path / "leak.log"
    control.write_text(f"card number {pans[1]} cvv: {cvvs[1]}\n")
    assert {c for _, c, _ in scan_for_card_data(vault.detector, [control])} == {
        "card.pan",
        "card.cvv",
    }


def test_retried_registration_creates_one_token_and_one_record(
    world: dict[str, Any], processor_server: ProcessorServer
) -> None:
    intake: CardIntake = world["intake"]
    vault: Vault = world["vault"]
    pan = make_pan("51", 16, random.Random(1))
    key = new_idempotency_key()
    before = processor_server.count("tokens")
    first = intake.register(
        "cust-retry", pan, "123", "01/2030", "Grace Hopper", actor=BILLING, idempotency_key=key
    )
    second = intake.register(
        "cust-retry", pan, "123", "01/2030", "Grace Hopper", actor=BILLING, idempotency_key=key
    )
    assert first == second
    assert processor_server.count("tokens") == before + 1
    assert {(f.field, f.version) for f in vault.fields_of(first.ref)} == {
        ("display", 1),
        ("token", 1),
        ("erasure", 1),
    }


def test_processor_down_leaves_no_record(world: dict[str, Any], tmp_path: Path) -> None:
    vault: Vault = world["vault"]
    down = HttpCardProcessor(
        "https://127.0.0.1:9", "k" * 20, retries=1, timeout=1.0, sleep=lambda _s: None
    )
    intake = CardIntake(vault, down, token_key=TokenKey.generate())
    rows = _value_rows(vault)
    pan = make_pan("4", 16, random.Random(2))
    with pytest.raises(ProcessorError, match="nothing was stored") as info:
        intake.register("cust-down", pan, "123", "01/2030", "Grace Hopper", actor=BILLING)
    assert pan[:-4] not in str(info.value)
    assert _value_rows(vault) == rows


@pytest.mark.parametrize(
    ("status", "body", "delay"),
    [(200, b"<html>not json</html>", 0.0), (201, b'{"token": "tok_late_answer"}', 30.0)],
    ids=["garbage", "slow"],
)
def test_processor_garbage_or_slow_leaves_no_record(
    world: dict[str, Any],
    server_ssl_context: ssl.SSLContext,
    ca_path: Path,
    status: int,
    body: bytes,
    delay: float,
) -> None:
    vault: Vault = world["vault"]
    rows = _value_rows(vault)
    pan = make_pan("4", 16, random.Random(4))
    with scripted_tls_server(server_ssl_context, lambda _n: (status, body, delay)) as server:
        bad = HttpCardProcessor(
            server.url, "k" * 20, ca_bundle=ca_path, retries=1, timeout=0.3, sleep=lambda _s: None
        )
        intake = CardIntake(vault, bad, token_key=TokenKey.generate())
        with pytest.raises(ProcessorError) as info:
            intake.register("cust-bad-proc", pan, "123", "01/2030", "Ada L", actor=BILLING)
        bad.close()
    assert not leaked_windows(info.value, pan)
    assert _value_rows(vault) == rows


def test_remove_deletes_here_and_at_the_processor(
    world: dict[str, Any], processor_server: ProcessorServer
) -> None:
    intake: CardIntake = world["intake"]
    vault: Vault = world["vault"]
    ref = intake.register(
        "cust-rm", make_pan("37", 15, random.Random(3)), "1234", "01/2030", "Ada L", actor=BILLING
    )
    before = processor_server.count("tokens")
    intake.remove(ref, actor=BILLING)
    assert processor_server.count("tokens") == before - 1
    assert vault.fields_of(ref.ref) == []
    with pytest.raises(NotFoundError):
        intake.charge("cust-rm", ref, 100, "CHF", actor=BILLING)
