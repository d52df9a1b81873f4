"""The uvicorn runner's parts: binding, the port file, worker environments and logging."""

from __future__ import annotations

import asyncio
import io
import logging
import logging.config
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataward.errors import ConfigurationError
from dataward.service.config import ServiceConfig, load_service_config
from dataward.service.logs import BatchingStreamHandler, log_config
from dataward.service.server import (
    APP_FACTORY,
    app_from_environment,
    bind_socket,
    worker_environment,
    write_port_file,
)
from dataward.service.transport import CoalescingTransport
from dataward.settings import Settings, load_settings


def test_bind_socket_port_zero_picks_a_free_listening_port() -> None:
    sock = bind_socket("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        assert port > 0
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # the kernel accepts into the backlog: the socket listens
    finally:
        sock.close()


def test_bind_socket_on_a_busy_port_is_a_configuration_error() -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        with pytest.raises(ConfigurationError, match=r"cannot listen on 127\.0\.0\.1") as info:
            bind_socket("127.0.0.1", busy.getsockname()[1])
        assert info.value.exit_code == 78
    finally:
        busy.close()


def test_write_port_file_leaves_only_the_complete_file(tmp_path: Path) -> None:
    target = tmp_path / "port"
    write_port_file(target, 8123)
    write_port_file(target, 8124)
    assert target.read_text() == "8124"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["port"]


def test_the_worker_factory_is_importable_by_its_string() -> None:
    module, _, name = APP_FACTORY.partition(":")
    imported = __import__(module, fromlist=[name])
    assert getattr(imported, name) is app_from_environment


_configs = st.builds(
    ServiceConfig,
    host=st.sampled_from(["127.0.0.1", "0.0.0.0", "::1"]),  # noqa: S104 - values, no bind
    port=st.integers(0, 65535),
    workers=st.integers(1, 64),
    max_body_bytes=st.integers(1024, 1 << 30),
    rate_limit_per_second=st.floats(0.5, 1e6, allow_nan=False),
    rate_limit_burst=st.integers(1, 1 << 20),
    key_cache_seconds=st.floats(0, 60, allow_nan=False),
    decision_flush_seconds=st.floats(0.001, 5, allow_nan=False),
    batch_max=st.integers(1, 10_000),
    processor=st.booleans(),
    open_probes=st.booleans(),
    access_log=st.booleans(),
    log_level=st.sampled_from(["critical", "error", "warning", "info", "debug"]),
)


@given(config=_configs, with_db=st.booleans(), with_policy=st.booleans())
def test_workers_rebuild_the_same_settings_and_config(
    config: ServiceConfig, with_db: bool, with_policy: bool
) -> None:
    settings = Settings(
        home=Path("/nonexistent/dataward-home"),
        database_url="postgresql+psycopg://u:secret@db/x" if with_db else None,  # type: ignore[arg-type]
        policy_path=Path("/etc/dataward/policy.yaml") if with_policy else None,
    )
    env = worker_environment(settings, config, {"DATAWARD_PROCESSOR_URL": "https://p:1"})
    rebuilt = load_settings(environ=env)
    assert rebuilt == settings
    assert load_service_config(rebuilt, environ=env) == config
    assert env["DATAWARD_PROCESSOR_URL"] == "https://p:1"  # the caller's variables are kept


@pytest.fixture
def restored_logging() -> Iterator[None]:
    names = ["uvicorn", "uvicorn.access", "dataward"]
    saved = [
        (logging.getLogger(n), logging.getLogger(n).handlers[:], logging.getLogger(n).level)
        for n in names
    ]
    propagate = {n: logging.getLogger(n).propagate for n in names}
    yield
    for logger, handlers, level in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate[logger.name]


@pytest.mark.usefixtures("restored_logging")
def test_every_log_line_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    logging.config.dictConfig(log_config("info"))
    email = "jane.doe@example.ch"
    logging.getLogger("dataward.service.test").info("request from %s", email)
    logging.getLogger("uvicorn.error").warning("client %s failed", email)
    logging.getLogger("uvicorn.access").warning("GET /?mail=%s", email)  # uvicorn's: silenced
    err = capsys.readouterr().err
    assert email not in err
    assert err.count("request from ") == 1
    assert err.count("client ") == 1
    assert "GET /" not in err


@pytest.mark.usefixtures("restored_logging")
def test_log_level_applies(capsys: pytest.CaptureFixture[str]) -> None:
    logging.config.dictConfig(log_config("warning"))
    logging.getLogger("dataward.x").info("quiet")
    logging.getLogger("dataward.x").warning("loud")
    err = capsys.readouterr().err
    assert "quiet" not in err
    assert "loud" in err


def _batching(stream: io.StringIO, interval: float = 60.0) -> logging.Logger:
    logger = logging.getLogger(f"dataward.test.batching.{id(stream)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = BatchingStreamHandler(stream, interval=interval, max_lines=3)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.handlers[:] = [handler]
    return logger


def test_batched_lines_wait_until_a_warning_and_keep_their_order() -> None:
    stream = io.StringIO()
    log = _batching(stream)
    log.info("one")
    log.debug("two")
    assert stream.getvalue() == ""  # held: no write per line
    log.warning("three")
    assert stream.getvalue() == "INFO one\nDEBUG two\nWARNING three\n"
    log.info("four")
    log.info("five")
    assert stream.getvalue().endswith("three\n")
    log.info("six")  # max_lines reached: written
    assert stream.getvalue().endswith("INFO four\nINFO five\nINFO six\n")
    log.info("seven")
    log.handlers[0].close()  # what logging.shutdown does at exit
    assert stream.getvalue().endswith("INFO six\nINFO seven\n")


def test_batched_lines_are_written_within_the_interval() -> None:
    stream = io.StringIO()
    log = _batching(stream, interval=0.05)
    try:
        log.info("soon")
        deadline = time.monotonic() + 10
        while "soon" not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert stream.getvalue() == "INFO soon\n"
    finally:
        log.handlers[0].close()


class _Recorder:
    """A transport that records each write (what would be one ``send`` each)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


def _coalescing() -> tuple[asyncio.AbstractEventLoop, _Recorder, CoalescingTransport]:
    loop = asyncio.new_event_loop()
    real = _Recorder()
    return loop, real, CoalescingTransport(real, loop)  # type: ignore[arg-type]


def test_a_response_head_and_body_go_in_one_write() -> None:
    loop, real, transport = _coalescing()
    try:
        transport.write(HEAD)
        assert real.writes == []
        transport.write(b"{}")
        assert real.writes == [HEAD + b"{}"]
        transport.write(b"more")  # not a head: straight through
        assert real.writes[1:] == [b"more"]
        loop.run_until_complete(asyncio.sleep(0))  # the pending turn finds nothing held
        assert len(real.writes) == 2
        assert transport.get_extra_info("peername") == "info:peername"
    finally:
        loop.close()


def test_a_head_without_body_is_written_on_the_next_turn_or_at_close() -> None:
    loop, real, transport = _coalescing()
    try:
        transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        assert real.writes == []
        loop.run_until_complete(asyncio.sleep(0))
        assert real.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
        transport.write(HEAD)
        transport.close()
        assert real.writes[1:] == [HEAD] and real.closed
    finally:
        loop.close()
