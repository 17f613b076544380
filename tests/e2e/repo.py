"""Helpers for end-to-end tests: a fresh copy of the repository driven by the real ./pants."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

# What //:repo puts in the test sandbox (the sandbox root is the working directory).
REPO_ENTRIES = (
    "pants",
    "pants.toml",
    "BUILD",
    "README.md",
    "3rdparty",
    "build_defs",
    "numpy_src",
    "tests/fixtures",
)


def make_clone(dest: Path) -> Path:
    """Copy the checked-in files into `dest`, as a fresh clone would have them."""
    src = Path.cwd()
    for entry in REPO_ENTRIES:
        path = src / entry
        if not path.exists():
            raise AssertionError(
                f"{entry} is missing from the test sandbox; is //:repo a dependency?"
            )
        target = dest / entry
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, target)
    return dest


def run_pants(
    clone: Path,
    *args: str,
    env: dict[str, str] | None = None,
    prefix: tuple[str, ...] = (),
    timeout: int = 1500,
) -> subprocess.CompletedProcess:
    """Run ./pants in `clone` and capture its output.

    Runs are served by a pantsd of the clone's own, as a developer's are: without one, each
    run spends about 20 s of CPU building the rule graph (2026-12-06, 2 cores), and the e2e
    tests make some sixty runs. conftest.py stops the daemon when the test ends, so no
    process outlives it. A `prefix` (a seccomp filter, a umask) changes the client process,
    which a daemon started earlier would not share, so those runs start no daemon. `timeout`
    (seconds) stops a run that hangs; one that builds several interpreters or wheels under a
    loaded machine passes more."""
    daemon = "--no-pantsd" if prefix else "--pantsd"
    result = subprocess.run(
        [*prefix, "./pants", daemon, *args],
        cwd=clone,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    print(f"$ ./pants {' '.join(args)}  (exit {result.returncode})")
    print(result.stdout[-5000:])
    print(result.stderr[-5000:])
    return result


def stop_daemons(root: Path) -> None:
    """Stop every pantsd of a checkout under `root` (SIGTERM, then SIGKILL after 30 s),
    whoever started it."""
    for pid_file in root.glob("**/.pids/*/pantsd/pid"):
        try:
            pid = int(pid_file.read_text().strip())
            os.kill(pid, signal.SIGTERM)
        except (ValueError, ProcessLookupError):
            continue
        for _ in range(300):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)


def logged_sha256(output: str) -> dict[str, str]:
    """wheel filename -> sha256 as logged by `pants package`. An output that logs no
    artifact fails here, so two such maps are never compared empty."""
    found: dict[str, str] = {}
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if "Wrote dist/" in line and i + 1 < len(lines) and "sha256" in lines[i + 1]:
            name = line.split("Wrote dist/")[1].strip()
            found[name] = lines[i + 1].split("sha256")[1].split()[0]
    assert found, "`pants package` logged no artifact with its sha256 (nothing was packaged?)"
    return found


def cpython(version: str) -> str:
    """The path of CPython `version` (e.g. "3.12"), from pyenv like Pants' <PYENV> search."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    matches = sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"))
    if not matches:
        raise AssertionError(f"CPython {version} not found under {root}/versions")
    return matches[-1]


def fresh_venv(path: Path, python: str) -> Path:
    """A new virtualenv made by `python` itself; returns its interpreter."""
    subprocess.run([python, "-m", "venv", str(path)], check=True)
    return path / "bin" / "python"
