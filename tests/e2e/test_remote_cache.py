"""A shared REAPI cache on a real BuildGrid, started and stopped by the repository's own
command: a build writes it, a build with an empty local store reads it without running the
build, a stopped server costs a warning and a local build, and release sets refuse it."""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

import pytest

from tests.e2e.repo import cpython, logged_sha256, make_clone, run_pants

WHEEL = "tests/fixtures/mini:wheel@python=3.12"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _counter(output: str, name: str) -> int:
    m = re.search(rf"^\s*{name}: (\d+)$", output, re.M)
    assert m, f"no {name} in Pants' stats"
    return int(m.group(1))


@pytest.fixture
def cache_server(tmp_path: Path):
    """`cache_server.py start` on a free loopback port, with its own state and CAS."""
    port = _free_port()
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    script = str(Path.cwd() / "build_defs/bootstrap/cache_server.py")

    def command(*args: str) -> subprocess.CompletedProcess:
        import os

        # As a developer runs it: a host CPython (with pip, whose configuration names the index).
        return subprocess.run(
            [cpython("3.12"), script, *args],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, **env},
        )

    started = command("start", "--port", str(port), "--data", str(tmp_path / "bgd"))
    assert started.returncode == 0, started.stderr
    address = started.stdout.strip()
    assert address == f"grpc://127.0.0.1:{port}"
    yield address, command
    command("stop")


def test_a_build_reads_what_another_wrote_and_survives_a_stopped_server(
    tmp_path: Path, cache_server
) -> None:
    address, command = cache_server
    clone = make_clone(tmp_path / "repo")
    remote = [
        "--pants-config-files=3rdparty/remote-cache/pants.toml",
        f"--remote-store-address={address}",
        "--stats-log",
    ]

    # Each build has its own, empty local store: only the remote cache can carry results.
    first = run_pants(clone, *remote, f"--local-store-dir={tmp_path / 'store-1'}", "package", WHEEL)
    assert first.returncode == 0
    assert "Completed: Build wheel" in first.stderr
    assert _counter(first.stderr, "remote_cache_write_successes") > 0
    # Every write lands: BuildGrid's concurrent-RPC limit (buildgrid.yml) must not reject any.
    assert _counter(first.stderr, "remote_cache_write_errors") == 0, first.stderr
    built = logged_sha256(first.stderr)

    second = run_pants(
        clone, *remote, f"--local-store-dir={tmp_path / 'store-2'}", "package", WHEEL
    )
    assert second.returncode == 0
    # The build's result came from BuildGrid: Pants never completed a build process.
    assert "Completed: Build wheel" not in second.stderr
    assert _counter(second.stderr, "remote_cache_requests_cached") > 0
    assert _counter(second.stderr, "remote_cache_requests_uncached") == 0
    assert logged_sha256(second.stderr) == built

    # A release set refuses the cache outright.
    release = run_pants(clone, *remote, "package", "tests/fixtures/mini:release")
    assert release.returncode != 0
    assert "refusing to build a release set with a remote cache" in release.stderr

    # Stopped: a warning, a local build, the same bytes.
    assert command("stop").returncode == 0
    assert command("status").returncode == 1
    third = run_pants(clone, *remote, f"--local-store-dir={tmp_path / 'store-3'}", "package", WHEEL)
    assert third.returncode == 0
    assert "Failed to read from remote cache" in third.stderr
    assert "Completed: Build wheel" in third.stderr
    assert logged_sha256(third.stderr) == built
