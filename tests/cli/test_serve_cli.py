"""`dataward serve` and `dataward up`: flags, configuration errors, several workers, cleanup."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dataward.cli.common import run_guarded
from dataward.cli.main import app

DATAWARD = str(Path(sys.executable).with_name("dataward"))


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAWARD_")}
    if "DATAWARD_CACHE_DIR" in os.environ:
        env["DATAWARD_CACHE_DIR"] = os.environ["DATAWARD_CACHE_DIR"]
    env.update(extra)
    return env


def _children() -> set[int]:
    me, found = os.getpid(), set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == me:
            found.add(int(stat.parent.name))
    return found


@pytest.fixture
def busy_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("DATAWARD_SERVICE_", "DATAWARD_PROCESSOR_", "DATAWARD_DATABASE")):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("verb", ["serve", "up"])
def test_help_names_the_flags(verb: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_guarded(app, [verb, "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--host", "--port", "--port-file", "--log-level"):
        assert flag in out
    assert ("--workers" in out) is (verb == "serve")
    assert ("--config" in out) is (verb == "serve")


@pytest.mark.usefixtures("isolated")
@pytest.mark.parametrize(
    ("config_text", "message"),
    [
        (None, "cannot read the service configuration"),
        ("port = ", "not valid TOML"),
        ("[service]\nworkers = 0\n", "workers"),
        ("[service]\nbogus = 1\n", "bogus"),
    ],
)
def test_a_bad_configuration_exits_78_with_a_message(
    tmp_path: Path, config_text: str | None, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "service.toml"
    if config_text is not None:
        config.write_text(config_text)
    code = run_guarded(app, ["--home", str(tmp_path / "h"), "serve", "--config", str(config)])
    assert code == 78
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


@pytest.mark.usefixtures("isolated")
@pytest.mark.parametrize("verb", ["serve", "up"])
def test_an_unknown_log_level_exits_78_naming_the_setting(
    tmp_path: Path, verb: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_guarded(app, ["--home", str(tmp_path / "h"), verb, "--log-level", "loud"])
    assert code == 78
    err = capsys.readouterr().err
    assert "log_level" in err
    assert "Traceback" not in err


@pytest.mark.usefixtures("isolated")
def test_serve_on_a_busy_port_exits_78(
    tmp_path: Path, busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_guarded(app, ["--home", str(tmp_path), "serve", "--port", str(busy_port)])
    assert code == 78
    assert f"cannot listen on 127.0.0.1:{busy_port}" in capsys.readouterr().err


@pytest.mark.usefixtures("isolated")
def test_up_on_a_busy_port_stops_the_processor_it_started(
    tmp_path: Path, busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _children()
    code = run_guarded(app, ["--home", str(tmp_path / "var"), "up", "--port", str(busy_port)])
    assert code == 78
    assert "cannot listen" in capsys.readouterr().err
    assert _children() <= before  # the processor child was stopped and reaped
    assert (tmp_path / "var" / "processor" / "cert.pem").is_file()


def test_serve_with_two_workers_from_the_home_configuration(tmp_path: Path) -> None:
    """Spawned workers rebuild settings and configuration: ``open_probes = false`` from
    ``<home>/service.toml`` reaches them (a probe without a key gets 401), the flag's worker
    count too, and SIGTERM stops all of them with status 0."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "service.toml").write_text("[service]\nopen_probes = false\nprocessor = false\n")
    port_file = tmp_path / "port"
    log = tmp_path / "serve.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [DATAWARD, "--home", str(home), "serve", "--workers", "2", "--port", "0",
             "--port-file", str(port_file)],
            env=_clean_env(), stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not port_file.exists():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port_file.read_text()}"
        with httpx.Client(base_url=url, timeout=120) as client:
            for _ in range(20):
                answer = client.get("/healthz")
                assert answer.status_code == 401, answer.text
                assert answer.json()["code"] == "unauthenticated"
    finally:
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(timeout=60)
    assert status == 0, log.read_text()
    text = log.read_text()
    assert text.count("Started server process") == 2  # one line per worker


@pytest.mark.usefixtures("isolated")
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_processor_misconfiguration_is_reported_before_serving(
    tmp_path: Path,
    workers: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATAWARD_PROCESSOR_URL", "https://127.0.0.1:9")
    monkeypatch.setenv("DATAWARD_PROCESSOR_API_KEY_FILE", str(tmp_path / "missing.key"))
    before = _children()
    code = run_guarded(
        app, ["--home", str(tmp_path / "h"), "serve", "--port", "0", "--workers", workers]
    )
    assert code == 78
    assert "cannot read the processor API key file" in capsys.readouterr().err
    assert _children() <= before  # no worker was started
