"""TLS for the processor connection: certificate verification and optional SPKI pinning.

Pinning is checked inside the TLS handshake, before a single byte of the request (and so of the
card data) is sent: the context's ``sslsocket_class`` / ``sslobject_class`` (documented hooks of
:class:`ssl.SSLContext`) are replaced by subclasses whose ``do_handshake`` compares the SHA-256 of
the leaf certificate's SubjectPublicKeyInfo with the configured pins and aborts on mismatch.
Pins are written like HPKP's: ``sha256/<base64>`` (the bare base64 or 64 hex digits also work).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import certifi
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from dataward.errors import ConfigurationError

__all__ = ["PinMismatchError", "build_ssl_context", "normalize_pin", "spki_pin"]

_PIN_PREFIX: Final = "sha256/"


class PinMismatchError(ssl.SSLCertVerificationError):
    """The processor's certificate key is not one of the pinned keys."""


def spki_pin(certificate: bytes) -> str:
    """The pin (``sha256/<base64>``) of a certificate given as PEM or DER bytes."""
    try:
        cert = (
            x509.load_pem_x509_certificate(certificate)
            if certificate.lstrip().startswith(b"-----BEGIN")
            else x509.load_der_x509_certificate(certificate)
        )
    except ValueError:
        raise ConfigurationError(
            "not a PEM or DER X.509 certificate; cannot compute its pin"
        ) from None
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return _PIN_PREFIX + base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


def normalize_pin(pin: str) -> str:
    """Accept ``sha256/<base64>``, bare base64 or 64 hex digits; return ``sha256/<base64>``."""
    text = pin.strip()
    text = text.removeprefix(_PIN_PREFIX)
    try:
        digest = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        digest = b""
    if len(digest) != 32:
        raise ConfigurationError(
            "a certificate pin is the SHA-256 of the server's public key, written "
            "'sha256/<base64>' or as 64 hex digits; compute it with dataward.cards.spki_pin()"
        )
    return _PIN_PREFIX + base64.b64encode(digest).decode("ascii")


def _check(der: bytes | None, pins: frozenset[str]) -> None:
    if der is None or spki_pin(der) not in pins:
        raise PinMismatchError(
            "the card processor's certificate key does not match the configured pin"
        )


def build_ssl_context(
    ca_bundle: str | Path | None = None, pins: Iterable[str] = ()
) -> ssl.SSLContext:
    """A client context: TLS >= 1.2, hostname and chain verified against ``ca_bundle`` (or the
    certifi bundle), and, when ``pins`` are given, the leaf key pinned during the handshake."""
    cafile = str(ca_bundle) if ca_bundle is not None else certifi.where()
    try:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    except (OSError, ssl.SSLError):
        raise ConfigurationError(
            f"cannot load the CA bundle {cafile}; point the processor CA bundle setting at a "
            "readable PEM file with the CA that signed the processor's certificate"
        ) from None
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    wanted = frozenset(normalize_pin(p) for p in pins)
    if wanted:

        class PinnedSocket(ssl.SSLSocket):
            def do_handshake(self, block: bool = False) -> None:
                super().do_handshake(block)
                _check(self.getpeercert(binary_form=True), wanted)

        class PinnedObject(ssl.SSLObject):
            def do_handshake(self) -> None:
                super().do_handshake()
                _check(self.getpeercert(binary_form=True), wanted)

        ctx.sslsocket_class = PinnedSocket
        ctx.sslobject_class = PinnedObject
    return ctx
