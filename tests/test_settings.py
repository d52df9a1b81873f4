from __future__ import annotations

from pathlib import Path

from dataward import load_settings


def test_home_precedence(tmp_path: Path) -> None:
    env = {"DATAWARD_HOME": str(tmp_path / "env")}
    assert load_settings(tmp_path / "arg", environ=env).home == tmp_path / "arg"
    assert load_settings(environ=env).home == tmp_path / "env"
    assert load_settings(environ={}).home.name == "dataward"


def test_secret_database_url_prints_masked(tmp_path: Path) -> None:
    s = load_settings(tmp_path, database_url="postgresql://u:hunter2@127.0.0.1/test")
    assert "hunter2" not in repr(s) and "hunter2" not in str(s)
    assert "hunter2" in s.effective_database_url


def test_policy_in_home_replaces_default(tmp_path: Path) -> None:
    s = load_settings(tmp_path, environ={})
    assert s.effective_policy_path is None
    (tmp_path / "policy.yaml").write_text("x: 1\n")
    assert s.effective_policy_path == tmp_path / "policy.yaml"
