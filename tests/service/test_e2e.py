"""End to end over HTTP: a real ``dataward serve`` (uvicorn) on loopback, on SQLite and on
PostgreSQL, with the reference card processor, one API key per role made by the CLI, and each
role's allowed and denied paths."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from dataward.policy import load_policy
from dataward.service.bootstrap import ProcessorChild, ensure_processor_files

DATAWARD = str(Path(sys.executable).with_name("dataward"))
ROLES = ("service", "support", "billing", "sales", "authentication", "dpm", "auditor", "admin")
DATA_ROLES = ("service", "support", "billing", "sales", "authentication", "dpm")
PG_BASE_URL = os.environ.get(
    "DATAWARD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PROBLEM = "application/problem+json"
EMAIL = "jane.doe@example.ch"
#: Variables of the developer's shell that would point the service elsewhere.
_OURS = ("DATAWARD_HOME", "DATAWARD_DATABASE_URL", "DATAWARD_POLICY")
_OUR_PREFIXES = ("DATAWARD_VAULT_", "DATAWARD_SERVICE_", "DATAWARD_PROCESSOR_")


def clean_environment(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in _OURS and not k.startswith(_OUR_PREFIXES)
    }
    env.update(extra)
    return env


def run_cli(home: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [DATAWARD, "--home", str(home), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"dataward {' '.join(args)}: {done.stderr}"
    return done.stdout


def create_keys(home: Path, env: dict[str, str]) -> dict[str, str]:
    """One key per role with ``dataward keys create --role R`` (the key is the last line).

    The first call sets the data directory up; the others run side by side."""
    first, *others = ROLES
    keys = {first: run_cli(home, env, "keys", "create", "--role", first).splitlines()[-1]}
    procs = {
        role: subprocess.Popen(
            [DATAWARD, "--home", str(home), "keys", "create", "--role", role],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for role in others
    }
    for role, proc in procs.items():
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, f"keys create --role {role}: {err}"
        keys[role] = out.splitlines()[-1]
    assert all(k.startswith("dw_") for k in keys.values())
    return keys


def wait_for_port(proc: subprocess.Popen[Any], port_file: Path, log: Path) -> int:
    deadline = time.monotonic() + 120
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the service did not start: {log.read_text(errors='replace')}")
        time.sleep(0.05)
    return int(port_file.read_text())


def stop(proc: subprocess.Popen[Any]) -> int:
    """SIGTERM, as an orchestrator stops it; the exit status of the graceful stop."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


@dataclass
class Running:
    backend: str
    url: str
    keys: dict[str, str]
    client: httpx.Client

    def key_id(self, role: str) -> str:
        return self.keys[role].split("_")[1]

    def call(
        self, method: str, path: str, role: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if role is not None:
            headers["Authorization"] = f"Bearer {self.keys[role]}"
        return self.client.request(method, path, headers=headers, **kwargs)


@pytest.fixture(scope="module")
def processor_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    files = ensure_processor_files(tmp_path_factory.mktemp("e2e-processor"))
    with ProcessorChild(files).start() as child:
        yield child.environment()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None: the embedded SQLite file; else a URL whose search_path is a fresh schema."""
    if request.param == "sqlite":
        yield None
        return
    admin = create_engine(PG_BASE_URL, isolation_level="AUTOCOMMIT")
    schema = f"e2e_{uuid.uuid4().hex[:20]}"
    try:
        conn = admin.connect()
    except OperationalError:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL is unreachable at {PG_BASE_URL}; start it or set DATAWARD_TEST_PG_URL"
        )
    try:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield f"{PG_BASE_URL}?options=-csearch_path%3D{schema}"
    finally:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.close()
        admin.dispose()


@pytest.fixture(scope="module")
def service(
    database_url: str | None,
    processor_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Running]:
    """``dataward serve --port 0`` in its own process, with one key per role."""
    home = tmp_path_factory.mktemp("e2e-home")
    env = clean_environment(DATAWARD_SERVICE_DECISION_FLUSH_SECONDS="0.01", **processor_env)
    if database_url is not None:
        env["DATAWARD_DATABASE_URL"] = database_url
        run_cli(home, env, "db", "upgrade")
    keys = create_keys(home, env)
    port_file, log = home / "port", home / "service.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [DATAWARD, "--home", str(home), "serve", "--port", "0", "--port-file", str(port_file)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        port = wait_for_port(proc, port_file, log)
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=60) as client:
            yield Running("sqlite" if database_url is None else "postgres", url, keys, client)
    finally:
        status = stop(proc)
    assert status == 0, log.read_text(errors="replace")
    assert EMAIL not in log.read_text(errors="replace")  # the log is redacted


def problem(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    assert body["code"] == code, body
    return body


# --- probes, docs, authentication ----------------------------------------------------------------


def test_probes_docs_and_schema(service: Running) -> None:
    assert service.call("GET", "/healthz").json()["status"] == "ok"
    ready = service.call("GET", "/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"
    assert service.call("GET", "/docs").status_code == 200
    paths = service.call("GET", "/openapi.json").json()["paths"]
    assert {"/v1/decide", "/v1/subjects/{subject_id}/fields", "/v1/audit/entries"} <= set(paths)


NEEDS_KEY = [
    ("GET", "/v1/policy", None),
    ("POST", "/v1/decide", {"action": "use", "category": "contact.email", "purpose": "support"}),
    ("GET", "/v1/audit/entries", None),
    ("GET", "/v1/keys", None),
    ("POST", "/v1/subjects/c-1/use", {"purpose": "support", "fields": ["email"]}),
]


@pytest.mark.parametrize(("method", "path", "body"), NEEDS_KEY)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer dw_000000000000_not-a-real-secret-at-all", "Basic dXNlcjpwYXNz", "Bearer"],
)
def test_without_a_valid_key_every_call_is_401(
    service: Running, method: str, path: str, body: Any, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = service.call(method, path, json=body, headers=headers)
    problem(answer, 401, "unauthenticated")
    assert "not-a-real-secret" not in answer.text


# --- decisions -----------------------------------------------------------------------------------

QUESTIONS = [
    (action, category, purpose)
    for category, purpose in [
        ("contact.email", "support"),
        ("contact.email", "billing"),
        ("contact.email", "contract"),
        ("billing.iban", "billing"),
        ("secret.password", "authentication"),
        ("card.cvv", "billing"),
        ("sensitive.health", "support"),
        ("traffic.ip_address", "security"),
    ]
    for action in ("store", "use", "share", "destroy")
]


@pytest.mark.parametrize("role", ROLES)
def test_decisions_are_the_policys_for_the_callers_role(service: Running, role: str) -> None:
    policy = load_policy()
    requests = [
        {"action": a, "category": c, "purpose": p}
        | ({"recipient": "card-processor"} if a == "share" else {})
        for a, c, p in QUESTIONS
    ]
    batch = service.call("POST", "/v1/decide/batch", role, json={"requests": requests})
    assert batch.status_code == 200, batch.text
    answers = batch.json()["decisions"]
    for request, answer in zip(requests, answers, strict=True):
        expected = policy.decide(role=role, **request)
        assert answer["allowed"] is expected.allowed, (role, request)
        assert answer["rule_id"] == expected.rule_id
        assert answer["policy_version"] == expected.policy_version
    single = service.call("POST", "/v1/decide", role, json=requests[0]).json()
    assert single == answers[0]


@pytest.mark.parametrize(
    ("role", "question", "allowed"),
    [
        ("support", {"action": "use", "category": "contact.email", "purpose": "support"}, True),
        ("sales", {"action": "use", "category": "contact.email", "purpose": "support"}, False),
        ("billing", {"action": "use", "category": "billing.iban", "purpose": "billing"}, True),
        ("support", {"action": "use", "category": "billing.iban", "purpose": "billing"}, False),
        ("authentication", {"action": "use", "category": "secret.password",
                            "purpose": "authentication"}, True),
        ("billing", {"action": "store", "category": "card.cvv", "purpose": "billing"}, False),
        ("dpm", {"action": "use", "category": "sensitive.health", "purpose": "legal"}, False),
    ],
)  # fmt: skip
def test_decide_anchors(
    service: Running, role: str, question: dict[str, str], allowed: bool
) -> None:
    answer = service.call("POST", "/v1/decide", role, json=question)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["allowed"] is allowed
    assert body["reason"]


def test_an_unknown_category_is_422_with_its_path(service: Running) -> None:
    answer = service.call(
        "POST", "/v1/decide", "service",
        json={"action": "use", "category": "contact.emial", "purpose": "support"},
    )  # fmt: skip
    body = problem(answer, 422, "unknown_category")
    assert [e["loc"] for e in body["errors"]] == ["body.category"]


# --- the role gate before the policy -------------------------------------------------------------


def _gate_calls() -> list[tuple[str, str, dict[str, Any] | None, tuple[str, ...]]]:
    """(method, path, JSON body, roles allowed past the gate)."""
    store = {"purpose": "support", "fields": [{"field": "email", "value": EMAIL}]}
    return [
        ("POST", "/v1/subjects/gate-1/fields", store, DATA_ROLES),
        ("POST", "/v1/subjects/gate-1/use", {"purpose": "support", "fields": ["email"]},
         DATA_ROLES),
        ("GET", "/v1/subjects/gate-1/export?purpose=data_subject_request", None, ("dpm",)),
        ("PUT", "/v1/subjects/gate-1/fields/email", {"value": EMAIL}, ("dpm",)),
        ("DELETE", "/v1/subjects/gate-1?purpose=data_subject_request", None, ("dpm",)),
        ("GET", "/v1/audit/entries", None, ("auditor", "dpm", "admin")),
        ("POST", "/v1/audit/checkpoints", None, ("admin",)),
        ("GET", "/v1/keys", None, ("admin",)),
        ("POST", "/v1/keys", {"role": "support", "name": "gate"}, ("admin",)),
        ("GET", "/metrics", None, ("admin", "auditor")),
    ]  # fmt: skip


GATE = [
    pytest.param(method, path, body, role, role in allowed, id=f"{method} {path} as {role}")
    for method, path, body, allowed in _gate_calls()
    for role in ROLES
]


@pytest.mark.parametrize(("method", "path", "body", "role", "passes"), GATE)
def test_each_endpoint_admits_only_its_roles(
    service: Running, method: str, path: str, body: Any, role: str, passes: bool
) -> None:
    answer = service.call(method, path, role, json=body)
    if passes:
        assert answer.status_code not in (401, 403) or answer.json()["code"] != "role_not_allowed"
    else:
        body_ = problem(answer, 403, "role_not_allowed")
        assert role in body_["detail"]


# --- the vault, role by role ---------------------------------------------------------------------


def test_vault_paths_per_role_with_the_key_as_audit_actor(service: Running) -> None:
    subject = f"cust-{service.backend}-{uuid.uuid4().hex[:8]}"
    base = f"/v1/subjects/{subject}"
    store = {
        "purpose": "billing",
        "fields": [
            {"field": "email", "value": EMAIL, "category": "contact.email"},
            {"field": "name", "value": "Jane Doe", "category": "person.name"},
        ],
    }
    # The policy lets billing store for billing; support may not store for that purpose.
    denied = problem(service.call("POST", f"{base}/fields", "support", json=store), 403,
                     "policy_denied")  # fmt: skip
    assert denied["rule_id"] and denied["detail"]
    assert EMAIL not in str(denied)
    stored = service.call("POST", f"{base}/fields", "billing", json=store)
    assert stored.status_code == 201, stored.text
    assert {f["field"] for f in stored.json()["fields"]} == {"email", "name"}
    assert EMAIL not in stored.text

    use = {"purpose": "billing", "fields": ["email"]}
    got = service.call("POST", f"{base}/use", "billing", json=use)
    assert got.status_code == 200, got.text
    assert got.json()["fields"][0]["value"] == EMAIL
    problem(service.call("POST", f"{base}/use", "sales", json=use), 403, "policy_denied")
    listed = service.call("GET", f"{base}/fields", "billing", params={"purpose": "billing"})
    assert listed.status_code == 200, listed.text

    share = {"fields": ["email"], "recipient": "card-processor", "purpose": "billing"}
    shared = service.call("POST", f"{base}/share", "billing", json=share)
    assert shared.status_code == 200, shared.text
    assert shared.json()["values"] == [{"field": "email", "value": EMAIL}]
    problem(service.call("POST", f"{base}/share", "support", json=share), 403, "policy_denied")
    third_party = share | {"recipient": "ad-network"}
    problem(service.call("POST", f"{base}/share", "billing", json=third_party), 403,
            "policy_denied")  # fmt: skip

    rectified = service.call(
        "PUT", f"{base}/fields/email", "dpm", json={"value": "jane@example.org"}
    )
    assert rectified.status_code == 200, rectified.text
    assert rectified.json()["version"] == 2
    exported = service.call("GET", f"{base}/export", "dpm")
    assert exported.status_code == 200, exported.text
    assert "jane@example.org" in exported.text
    problem(service.call("GET", f"{base}/export", "billing"), 403, "role_not_allowed")
    problem(service.call("DELETE", base, "support"), 403, "role_not_allowed")
    destroyed = service.call("DELETE", base, "dpm")
    assert destroyed.status_code == 200, destroyed.text
    assert service.call("POST", f"{base}/use", "billing", json=use).status_code == 404

    # The audit log names each API key as the actor, never a value.
    entries = service.call(
        "GET", "/v1/audit/entries", "auditor", params={"subject_ref": subject, "limit": 500}
    )
    assert entries.status_code == 200, entries.text
    assert EMAIL not in entries.text and "jane@example.org" not in entries.text
    by_action: dict[str, set[tuple[str, str]]] = {}
    for e in entries.json()["entries"]:
        by_action.setdefault(e["action"], set()).add((e["actor_id"], e["outcome"]))
    billing, dpm, support = (service.key_id(r) for r in ("billing", "dpm", "support"))
    assert (billing, "ok") in by_action["store"]
    assert any(actor == support and outcome != "ok" for actor, outcome in by_action["store"])
    assert (billing, "ok") in by_action["share"]
    assert (dpm, "ok") in by_action["destroy"]
    problem(service.call("GET", "/v1/audit/entries", "service"), 403, "role_not_allowed")


def test_forbidden_and_card_data_are_refused_with_their_codes(service: Running) -> None:
    base = f"/v1/subjects/cust-refuse-{service.backend}/fields"
    health = {
        "purpose": "support",
        "fields": [{"field": "diagnosis", "value": "asthma", "category": "sensitive.health"}],
    }
    problem(service.call("POST", base, "support", json=health), 403, "forbidden_data")
    card = {
        "purpose": "billing",
        "fields": [{"field": "card", "value": "4242 4242 4242 4242", "category": "card.pan"}],
    }
    answer = service.call("POST", base, "billing", json=card)
    problem(answer, 403, "card_data_refused")
    assert "4242 4242" not in answer.text  # fmt: skip


# --- cards through the processor -----------------------------------------------------------------


def test_billing_registers_and_charges_a_card_others_may_not(service: Running) -> None:
    subject = f"cust-card-{service.backend}"
    card = {
        "subject_id": subject,
        "pan": "4242 4242 4242 4242",
        "cvv": "123",
        "expiry": "12/2030",
        "holder": "Jane Doe",
    }
    problem(service.call("POST", "/v1/cards", "auditor", json=card), 403, "role_not_allowed")
    registered = service.call("POST", "/v1/cards", "billing", json=card)
    assert registered.status_code == 201, registered.text
    body = registered.json()
    assert body["last4"] == "4242"
    assert "4242424242424242" not in registered.text and "4242 4242 4242" not in registered.text
    charge = {"subject_id": subject, "amount": 1250, "currency": "CHF"}
    charged = service.call("POST", f"/v1/cards/{body['card_ref']}/charges", "billing", json=charge)
    assert charged.status_code in (200, 201), charged.text
    assert charged.json()["approved"] is True


# --- audit and keys ------------------------------------------------------------------------------


def test_audit_verify_and_checkpoints(service: Running) -> None:
    verified = service.call("POST", "/v1/audit/verify", "auditor")
    assert verified.status_code == 200, verified.text
    assert verified.json()["ok"] is True
    made = service.call("POST", "/v1/audit/checkpoints", "admin")
    assert made.status_code in (200, 201), made.text
    listed = service.call("GET", "/v1/audit/checkpoints", "auditor").json()["checkpoints"]
    assert made.json()["tree_size"] in {c["tree_size"] for c in listed}


def test_admin_creates_and_revokes_keys(service: Running) -> None:
    created = service.call("POST", "/v1/keys", "admin", json={"role": "support", "name": "e2e"})
    assert created.status_code == 201, created.text
    new = created.json()
    assert new["created_by"] == service.key_id("admin")
    headers = {"Authorization": f"Bearer {new['key']}"}
    assert service.call("GET", "/v1/policy", headers=headers).status_code == 200
    listed = service.call("GET", "/v1/keys", "admin").json()["keys"]
    assert new["key"] not in str(listed)
    assert {service.key_id(r) for r in ROLES} <= {k["id"] for k in listed}
    revoked = service.call("DELETE", f"/v1/keys/{new['id']}", "admin")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["active"] is False
    problem(service.call("GET", "/v1/policy", headers=headers), 401, "unauthenticated")


# --- `dataward up` (what `make run` runs) --------------------------------------------------------


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _gone(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" in status.read_text()
    except OSError:
        return True


def _up(home: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str, str]:
    """Start ``dataward up`` on a free port; (process, admin key, docs URL)."""
    port_file, log = home.with_name("up.port"), home.with_name("up.log")
    port_file.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [DATAWARD, "--home", str(home), "up", "--port", "0", "--port-file", str(port_file)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log.open("ab"),
        text=True,
    )
    wait_for_port(proc, port_file, log)
    assert proc.stdout is not None
    lines = [proc.stdout.readline().strip() for _ in range(5)]
    keys = [line for line in lines if line.startswith("dw_")]
    docs = [line.split(" at ", 1)[1].split()[0] for line in lines if "API docs at" in line]
    assert len(keys) == 1 and len(docs) == 1, lines
    return proc, keys[0], docs[0]


def test_dataward_up_serves_then_stops_the_processor_too(tmp_path: Path) -> None:
    home, env = tmp_path / "var", clean_environment()
    proc, key, docs = _up(home, env)
    try:
        base = docs.removesuffix("/docs")
        assert base.startswith("http://127.0.0.1:")
        children = _children(proc.pid)
        assert children, "the reference processor runs as a child"
        with httpx.Client(base_url=base, timeout=60) as client:
            assert client.get("/docs").status_code == 200
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            auth = {"Authorization": f"Bearer {key}"}
            assert client.get("/v1/policy", headers=auth).status_code == 200
            assert client.get("/v1/keys", headers=auth).status_code == 200  # an admin key
    finally:
        status = stop(proc)
    assert status == 0
    assert all(_gone(pid) for pid in children)
    assert oct((home).stat().st_mode & 0o777) == "0o700"
    assert (home / "processor" / "ca.pem").is_file()

    # A second `up` issues a new bootstrap key and revokes the first.
    proc, second, docs = _up(home, env)
    try:
        with httpx.Client(base_url=docs.removesuffix("/docs"), timeout=60) as client:
            assert (
                client.get("/v1/policy", headers={"Authorization": f"Bearer {key}"}).status_code
                == 401
            )
            assert (
                client.get("/v1/policy", headers={"Authorization": f"Bearer {second}"}).status_code
                == 200
            )
    finally:
        assert stop(proc) == 0
