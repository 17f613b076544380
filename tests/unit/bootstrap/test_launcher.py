"""./pants under dash, with no GNU tool on PATH: the launcher's POSIX part finds CPython 3.9
and its Python part does the rest (store, Pants venv, pex tool) with the standard library."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

DASH = "/bin/dash"


def _launch(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    empty_bin = tmp_path / "bin"  # no sha256sum, flock, stat, env, python: nothing at all
    empty_bin.mkdir(exist_ok=True)
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    base = {"HOME": str(tmp_path / "home"), "PATH": str(empty_bin), "PYENV_ROOT": pyenv_root}
    return subprocess.run(
        [DASH, "./pants", *args], env={**base, **env}, capture_output=True, text=True, timeout=900
    )


@pytest.fixture(autouse=True)
def _dash_exists() -> None:
    assert Path(DASH).is_file(), "these tests need dash (Debian's /bin/sh)"


def test_bootstrap_under_dash_without_gnu_tools(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    store = os.environ["NUMPY_RELEASE_STORE"]
    result = _launch(tmp_path, {"NUMPY_RELEASE_STORE": store, "PANTS_BOOTSTRAP_ONLY": "1"})
    assert result.returncode == 0, result.stderr
    assert "installing pantsbuild.pants into" in result.stderr
    (venv,) = (tmp_path / "home/.cache/numpy-release/pants-venv").glob("*/.complete")
    assert (venv.parent / "bin/pants").is_file()
    # Warm: nothing installed again.
    again = _launch(tmp_path, {"NUMPY_RELEASE_STORE": store, "PANTS_BOOTSTRAP_ONLY": "1"})
    assert again.returncode == 0 and "installing" not in again.stderr


def test_a_pants_variable_that_could_change_a_build_is_refused(tmp_path: Path) -> None:
    result = _launch(tmp_path, {"PANTS_PYTHON_REPOS_INDEXES": "['x']"}, "--version")
    assert result.returncode == 1
    assert "./pants: error: PANTS_PYTHON_REPOS_INDEXES is set" in result.stderr
    assert "--python-repos-indexes=..." in result.stderr


def test_no_cpython_39_is_one_message_naming_what_to_install(tmp_path: Path) -> None:
    result = _launch(tmp_path, {"PYENV_ROOT": str(tmp_path / "no-pyenv")}, "--version")
    if any(
        Path(p).exists()
        for p in ("/usr/bin/python3.9", "/usr/local/bin/python3.9", "/opt/homebrew/bin/python3.9")
    ):
        pytest.fail("this host has a system CPython 3.9; the test needs a host without one")
    assert result.returncode == 1
    assert "Pants 2.17 needs CPython 3.9, and none was found" in result.stderr
    assert "PANTS_PYTHON=/path/to/python3.9" in result.stderr
    bad = _launch(tmp_path, {"PANTS_PYTHON": "/bin/true"}, "--version")
    assert (
        bad.returncode == 1 and "PANTS_PYTHON=/bin/true is not a working CPython 3.9." in bad.stderr
    )
