"""`sandbox check`: exit 0 when contained, 1 when something escapes, 2 with one line for bad input."""

from __future__ import annotations

from click.testing import CliRunner

from reflectevo_bench.sandbox.cli import sandbox

QUICK = ["--attack", "read_home_canary", "--attack", "sys_exit_before_tests", "--attack", "write_host_tmp"]


def test_check_bwrap_contains_everything() -> None:
    res = CliRunner().invoke(sandbox, ["check", "--sandbox", "bwrap", "--mode", "fresh", *QUICK])
    assert res.exit_code == 0, res.output
    assert "auto -> bwrap" in res.output and "contained" in res.output and "ESCAPED" not in res.output


def test_check_auto_both_modes() -> None:
    res = CliRunner().invoke(sandbox, ["check", "--attack", "os_exit_before_tests"])
    assert res.exit_code == 0, res.output
    assert "2 contained, 0 escaped" in res.output  # fresh and pool


def test_check_none_reports_escapes() -> None:
    res = CliRunner().invoke(sandbox, ["check", "--sandbox", "none", "--mode", "fresh", *QUICK])
    assert res.exit_code == 1, res.output
    assert "ESCAPED" in res.output and "NOT SANDBOXED" in res.output


def test_check_bad_input_exits_2() -> None:
    res = CliRunner().invoke(sandbox, ["check", "--attack", "no_such_attack"])
    assert res.exit_code == 2 and "unknown attack" in res.output
    res = CliRunner(env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"}).invoke(
        sandbox, ["check", "--sandbox", "docker", *QUICK]
    )
    assert res.exit_code == 2 and "docker" in res.output.lower()
    assert "Traceback" not in res.output
