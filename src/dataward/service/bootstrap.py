"""`dataward up`: everything a developer needs to call the service, from an empty directory.

:func:`ensure_processor_files` makes the reference card processor's TLS material under
``<home>/processor/`` with :mod:`cryptography` (a local CA and a ``127.0.0.1``/``localhost``
certificate it signs, private keys mode 0600, reused until they near expiry) and its API key
file. :class:`ProcessorChild` runs ``dataward-processor`` as a child process on a free loopback
port and stops it again. :func:`rotate_bootstrap_key` opens the vault (creating the database, its
keys and the audit signing key on first use) and issues the one live ``bootstrap`` admin key.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from dataward.cards import build_ssl_context
from dataward.errors import ConfigurationError
from dataward.policy import Policy, load_policy
from dataward.service.apikeys import ApiKeyStore
from dataward.settings import Settings
from dataward.vault import Actor, Vault

__all__ = [
    "BOOTSTRAP_KEY_NAME",
    "ProcessorChild",
    "ProcessorFiles",
    "ensure_processor_files",
    "rotate_bootstrap_key",
]

#: The name of the admin key ``dataward up`` issues; issuing a new one revokes the older ones.
BOOTSTRAP_KEY_NAME: Final = "bootstrap"
_BOOTSTRAP_ACTOR: Final = Actor("bootstrap", "admin")
_CERT_DAYS: Final = 365
_RENEW_BEFORE: Final = dt.timedelta(days=7)
_HOSTS: Final = ("127.0.0.1", "localhost")


@dataclass(frozen=True, slots=True)
class ProcessorFiles:
    """The reference processor's files under ``<home>/processor/``."""

    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def cert(self) -> Path:
        return self.directory / "cert.pem"

    @property
    def key(self) -> Path:
        return self.directory / "key.pem"

    @property
    def api_key(self) -> Path:
        return self.directory / "api.key"

    @property
    def store(self) -> Path:
        return self.directory / "processor.db"

    @property
    def port_file(self) -> Path:
        return self.directory / "port"

    @property
    def log(self) -> Path:
        return self.directory / "processor.log"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    path.chmod(0o600)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _still_valid(files: ProcessorFiles, now: dt.datetime) -> bool:
    try:
        ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
        leaf = x509.load_pem_x509_certificate(files.cert.read_bytes())
        files.key.read_bytes()
    except (OSError, ValueError):
        return False
    soonest = min(ca.not_valid_after_utc, leaf.not_valid_after_utc)
    return soonest - _RENEW_BEFORE > now and leaf.issuer == ca.subject


def _make_certificates(files: ProcessorFiles, now: dt.datetime) -> None:
    """A local CA (the processor's CA bundle) and the processor's certificate, signed by it."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dataward local processor CA")])
    start, end = now - dt.timedelta(minutes=5), now + dt.timedelta(days=_CERT_DAYS)
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(_HOSTS[0]))]
    names += [x509.DNSName(h) for h in _HOSTS[1:]]
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(files.ca_key, _pem_key(ca_key))
    _write_private(files.key, _pem_key(leaf_key))
    files.cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))


def ensure_processor_files(home: Path) -> ProcessorFiles:
    """Create (or keep, while valid) the processor's certificate, CA and API key file."""
    files = ProcessorFiles(home / "processor")
    try:
        files.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        now = dt.datetime.now(dt.UTC)
        if not _still_valid(files, now):
            _make_certificates(files, now)
        if not files.api_key.is_file() or len(files.api_key.read_text().strip()) < 16:
            _write_private(files.api_key, secrets.token_urlsafe(32).encode("ascii"))
    except OSError as exc:
        raise ConfigurationError(
            f"cannot prepare the card processor's files in {files.directory} ({exc.strerror}); "
            "check the data directory's permissions"
        ) from None
    return files


class ProcessorChild:
    """The reference processor (``dataward-processor``) in a child process on loopback.

    Use as a context manager, or call :meth:`stop`: the child never outlives the block.
    """

    def __init__(self, files: ProcessorFiles, *, host: str = "127.0.0.1") -> None:
        self.files = files
        self.host = host
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def url(self) -> str:
        if self.port is None:
            raise ConfigurationError("the card processor is not running")
        return f"https://{self.host}:{self.port}"

    def environment(self) -> dict[str, str]:
        """The ``DATAWARD_PROCESSOR_*`` variables that point the service at this processor."""
        return {
            "DATAWARD_PROCESSOR_URL": self.url,
            "DATAWARD_PROCESSOR_API_KEY_FILE": str(self.files.api_key.absolute()),
            "DATAWARD_PROCESSOR_CA_BUNDLE": str(self.files.ca.absolute()),
        }

    def start(self, *, timeout: float = 60.0) -> ProcessorChild:
        """Start the child; return once it answers its health check over TLS."""
        f = self.files
        f.port_file.unlink(missing_ok=True)
        self.port = None
        command = [
            sys.executable,
            "-m",
            "dataward.processor_service",
            f"--host={self.host}",
            "--port=0",
            f"--port-file={f.port_file}",
            f"--certfile={f.cert}",
            f"--keyfile={f.key}",
            f"--api-key-file={f.api_key}",
            f"--store={f.store}",
        ]
        with f.log.open("ab") as log:
            self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log
            )
        deadline = time.monotonic() + timeout
        try:
            while not self._ready():
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise ConfigurationError(
                        f"the reference card processor did not start; see {f.log}"
                    )
                time.sleep(0.05)
        except BaseException:  # also Ctrl-C or SIGTERM while waiting: no orphan child
            self.stop()
            raise
        return self

    def _ready(self) -> bool:
        """The port file is written and the processor answers its health check over TLS."""
        if self.port is None:
            try:
                self.port = int(self.files.port_file.read_text(encoding="ascii"))
            except (OSError, ValueError):
                return False
        key = self.files.api_key.read_text(encoding="utf-8").strip()
        try:
            with httpx.Client(verify=build_ssl_context(self.files.ca), timeout=5.0) as client:
                answer = client.get(
                    f"{self.url}/v1/health", headers={"Authorization": f"Bearer {key}"}
                )
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    def stop(self, *, timeout: float = 10.0) -> None:
        """Ask the child to stop (SIGTERM), kill it if it has not within ``timeout``."""
        proc, self._proc, self.port = self._proc, None, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.files.port_file.unlink(missing_ok=True)

    def __enter__(self) -> ProcessorChild:
        return self if self._proc is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def rotate_bootstrap_key(settings: Settings, environ: Mapping[str, str] | None = None) -> str:
    """Open the vault (creating the database, its keys and the audit key on first use), revoke
    every live ``bootstrap`` key and return a new admin key of that name (shown once)."""
    vault = Vault.open(settings, environ)
    try:
        policy = vault.policy
        roles = (policy if isinstance(policy, Policy) else load_policy(settings=settings)).roles
        keys = ApiKeyStore(vault.engine, roles=roles, audit=vault.audit)
        for old in keys.list(include_revoked=False):
            if old.name == BOOTSTRAP_KEY_NAME and old.active:
                keys.revoke(old.id, actor=_BOOTSTRAP_ACTOR)
        _, secret = keys.create("admin", name=BOOTSTRAP_KEY_NAME, actor=_BOOTSTRAP_ACTOR)
    finally:
        vault.close()
    return secret
