"""Fixtures: a trustme CA and the reference processor running in its own process over TLS."""

from __future__ import annotations

import os
import random
import secrets
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from dataward.cards import HttpCardProcessor, spki_pin
from dataward.processor_service import ProcessorStore


@dataclass(frozen=True)
class ProcessorServer:
    url: str
    api_key: str
    ca_path: Path
    cert_pin: str
    store_path: Path
    store_key: bytes

    def count(self, table: str) -> int:
        store = ProcessorStore(self.store_path, self.store_key)
        try:
            return store.count(table)
        finally:
            store.close()


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_ssl_context(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx


@pytest.fixture(scope="session")
def ca_path(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="session")
def processor_server(
    ca: trustme.CA, ca_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProcessorServer]:
    """``python -m dataward.processor_service`` on 127.0.0.1, a free port, a fresh certificate."""
    d = tmp_path_factory.mktemp("processor")
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = d / "cert.pem", d / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    api_key = secrets.token_urlsafe(32)
    (d / "api.key").write_text(api_key)
    port_file = d / "port"
    store_path = d / "processor.db"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dataward.processor_service",
            "--host=127.0.0.1",
            "--port=0",
            f"--port-file={port_file}",
            f"--certfile={cert}",
            f"--keyfile={key}",
            f"--api-key-file={d / 'api.key'}",
            f"--store={store_path}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(d / "stderr.log").open("wb"),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "the reference processor did not start: "
                    + (d / "stderr.log").read_text(errors="replace")
                )
            time.sleep(0.05)
        store_key = bytes.fromhex((d / "processor.db.key").read_text().strip())
        yield ProcessorServer(
            url=f"https://127.0.0.1:{port_file.read_text()}",
            api_key=api_key,
            ca_path=ca_path,
            cert_pin=spki_pin(leaf.cert_chain_pems[0].bytes()),
            store_path=store_path,
            store_key=store_key,
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def processor(processor_server: ProcessorServer) -> Iterator[HttpCardProcessor]:
    with HttpCardProcessor(
        processor_server.url,
        processor_server.api_key,
        ca_bundle=processor_server.ca_path,
        timeout=10.0,
        sleep=lambda _s: None,
    ) as p:
        yield p


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    return random.Random(request.node.nodeid)
