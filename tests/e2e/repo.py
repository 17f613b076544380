"""Helpers for end-to-end tests: a fresh copy of the repository driven by the real ./pants."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
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
    clone: Path, *args: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    """Run ./pants (no daemon, so no process outlives the test) and capture its output."""
    result = subprocess.run(
        [*prefix, "./pants", "--no-pantsd", *args],
        cwd=clone,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=1500,
    )
    print(f"$ ./pants {' '.join(args)}  (exit {result.returncode})")
    print(result.stdout[-5000:])
    print(result.stderr[-5000:])
    return result


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
