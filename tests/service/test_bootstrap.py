"""`dataward up`'s parts: the processor's TLS files and the processor as a child process."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from dataward.cards import build_ssl_context
from dataward.errors import ConfigurationError
from dataward.service.bootstrap import ProcessorChild, ensure_processor_files


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); its state in /proc tells
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def test_files_are_private_and_kept_while_valid(tmp_path: Path) -> None:
    files = ensure_processor_files(tmp_path)
    assert stat.S_IMODE(files.directory.stat().st_mode) == 0o700
    for secret in (files.key, files.ca_key, files.api_key):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(files.api_key.read_text()) >= 32
    before = {p: p.read_bytes() for p in (files.cert, files.key, files.ca, files.api_key)}
    again = ensure_processor_files(tmp_path)
    assert {p: p.read_bytes() for p in before} == before
    assert again == files


def test_the_certificate_names_loopback_and_chains_to_the_ca(tmp_path: Path) -> None:
    files = ensure_processor_files(tmp_path)
    leaf = x509.load_pem_x509_certificate(files.cert.read_bytes())
    ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    leaf.verify_directly_issued_by(ca)


def test_a_damaged_certificate_is_replaced(tmp_path: Path) -> None:
    files = ensure_processor_files(tmp_path)
    files.cert.write_text("not a certificate")
    ensure_processor_files(tmp_path)
    x509.load_pem_x509_certificate(files.cert.read_bytes())


def test_the_child_serves_tls_verified_by_the_ca_and_stops(tmp_path: Path) -> None:
    files = ensure_processor_files(tmp_path)
    with ProcessorChild(files).start() as child:
        pid = child.pid
        assert pid is not None
        env = child.environment()
        assert env["DATAWARD_PROCESSOR_URL"] == child.url
        assert Path(env["DATAWARD_PROCESSOR_CA_BUNDLE"]) == files.ca.absolute()
        key = Path(env["DATAWARD_PROCESSOR_API_KEY_FILE"]).read_text().strip()
        with httpx.Client(verify=build_ssl_context(files.ca), timeout=30) as client:
            ok = client.get(f"{child.url}/v1/health", headers={"Authorization": f"Bearer {key}"})
            assert ok.status_code == 200
            assert client.get(f"{child.url}/v1/health").status_code == 401
    assert not _alive(pid)
    assert not files.port_file.exists()
    with pytest.raises(ConfigurationError, match="not running"):
        _ = child.url


def test_a_child_that_cannot_start_is_reported(tmp_path: Path) -> None:
    files = ensure_processor_files(tmp_path)
    files.key.write_text("broken")  # uvicorn cannot load it: the child exits
    child = ProcessorChild(files)
    with pytest.raises(ConfigurationError, match="did not start"):
        child.start(timeout=60)
    assert child.pid is None
