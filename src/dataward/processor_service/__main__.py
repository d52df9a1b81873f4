"""``dataward-processor``: run the reference card processor over TLS with uvicorn.

    dataward-processor --host 127.0.0.1 --port 8443 --certfile cert.pem --keyfile key.pem \\
        --api-key-file api.key [--store processor.db] [--store-key-file processor.db.key]

``--port 0`` picks a free port; ``--port-file`` receives the port actually bound, written once
the socket listens (tests and ``make run`` use it to connect without races).
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from dataward.processor_service.app import DEFAULT_CHARGE_LIMIT, create_app
from dataward.processor_service.store import load_or_create_store_key

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dataward-processor", description="The reference card processor (TLS only)."
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8443)
    p.add_argument("--certfile", type=Path, required=True, help="server certificate chain (PEM)")
    p.add_argument("--keyfile", type=Path, required=True, help="server private key (PEM)")
    p.add_argument("--api-key-file", type=Path, required=True, help="file with the bearer key")
    p.add_argument("--store", type=Path, default=Path("processor.db"), help="SQLite file")
    p.add_argument("--store-key-file", type=Path, help="default: <store>.key, created if absent")
    p.add_argument("--charge-limit", type=int, default=DEFAULT_CHARGE_LIMIT)
    p.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    p.add_argument("--log-level", default="warning")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        api_key = args.api_key_file.read_text(encoding="utf-8").strip()
        store_key = load_or_create_store_key(
            args.store_key_file or args.store.with_name(args.store.name + ".key")
        )
        app = create_app(
            args.store, api_key=api_key, store_key=store_key, charge_limit=args.charge_limit
        )
    except (OSError, ValueError) as exc:
        print(f"dataward-processor: {exc}", file=sys.stderr)
        return 78
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it
    sock.bind((args.host, args.port))
    sock.listen(128)
    sock.set_inheritable(True)
    if args.port_file is not None:
        tmp = args.port_file.with_name(args.port_file.name + ".tmp")
        tmp.write_text(str(sock.getsockname()[1]), encoding="ascii")
        tmp.replace(args.port_file)
    config = uvicorn.Config(
        app,
        ssl_certfile=str(args.certfile),
        ssl_keyfile=str(args.keyfile),
        log_level=args.log_level,
        access_log=args.log_level in {"debug", "info"},
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
