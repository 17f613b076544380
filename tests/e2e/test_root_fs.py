"""End to end: an interpreter from pinned Debian packages builds, repairs and tests wheels
inside its own root file system, which hides the host and assembles reproducibly."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import zipfile
from pathlib import Path

from tests.e2e.repo import cpython, logged_sha256, run_pants

ROOT_PYTHON = "3rdparty/python:cpython-3.14-x86_64"


def _host_files() -> dict[str, str]:
    """Files this host has, by path, with the sha256 of the host's copy: the host's C
    library header and Debian release (the root has its own, with other bytes), the host's
    C compiler and the pyenv CPython 3.12 (which the root does not have at all)."""
    paths = [
        "/usr/include/stdio.h",
        "/etc/debian_version",
        os.path.realpath(cpython("3.12")),
        os.path.realpath(shutil.which("gcc") or "/usr/bin/gcc"),
    ]
    found = {}
    for path in paths:
        with open(path, "rb") as f:
            found[path] = hashlib.sha256(f.read()).hexdigest()
    return found


def _aim(probe: Path, host_files: dict[str, str]) -> None:
    text = probe.read_text()
    assert "HOST_FILES = None" in text
    probe.write_text(text.replace("HOST_FILES = None", f"HOST_FILES = {host_files!r}"))


def test_a_build_in_the_root_sees_no_host_file(clone: Path) -> None:
    host_files = _host_files()
    _aim(clone / "tests/fixtures/probe/hostprobe.py", host_files)
    # Control: the same aimed probe in a build on the host sees the host, and stops it.
    on_host = run_pants(clone, "package", "tests/fixtures/probe:wheel")
    assert on_host.returncode != 0
    # meson names the probe that stopped the configure step.
    assert re.search(r"hostprobe\.py` failed with status 1", on_host.stderr), on_host.stderr
    in_root = run_pants(clone, "package", "tests/fixtures/probe:wheel-cp314")
    assert in_root.returncode == 0
    (wheel,) = (clone / "dist").glob("probe-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        recorded = zf.read("probe/_buildinfo.py").decode()
    assert f'HOST_PROBE = "hostprobe: none of {len(host_files)} host files is visible"' in recorded
    # meson ran the root's CPython 3.14 through the tool venv at the fixed build root.
    assert 'BUILD_PYTHON = "/mnt/.build-tools/bin/python"' in recorded


def test_cp314_wheel_builds_tests_and_reproduces_in_the_root(clone: Path) -> None:
    built = run_pants(clone, "package", "tests/fixtures/mini_zig:wheel-cp314")
    assert built.returncode == 0
    (wheel,) = (clone / "dist").glob("mini-*.whl")
    assert "-cp314-cp314-" in wheel.name and wheel.name.endswith("manylinux_2_28_x86_64.whl")
    assert logged_sha256(built.stderr)[wheel.name] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    # Provenance names the interpreter's root packages by sha256.
    statement = json.loads((clone / "dist" / f"{wheel.name}.intoto.jsonl").read_text())
    deps = statement["predicate"]["buildDefinition"]["resolvedDependencies"]
    names = {d.get("name", "") for d in deps}
    assert any(n.startswith("python3.14-minimal_3.14.8") for n in names), sorted(names)
    # The build tools pip installed in the root, pinned by the manifest (no lockfile covers
    # CPython 3.14): Cython's cp314 wheel.
    (cython,) = [d for d in deps if d.get("name", "").startswith("cython-3.1.6-cp314-cp314-")]
    assert cython["annotations"]["pinnedBy"] == "3rdparty/artifacts.json", cython

    tested = run_pants(
        clone, "test", "--force", "--test-output=all", "tests/fixtures/mini_zig:wheel-test-cp314"
    )
    assert tested.returncode == 0
    assert re.search(r"passed", tested.stdout + tested.stderr)

    peek = run_pants(clone, "peek", ROOT_PYTHON)
    assert peek.returncode == 0
    (target,) = json.loads(peek.stdout)
    assert any(
        p["filename"].startswith("libc6_2.43") and len(p["sha256"]) == 64
        for p in target["root_packages"]
    )
    deps_out = run_pants(
        clone, "dependencies", "--transitive", "tests/fixtures/mini_zig:wheel-cp314"
    )
    assert ROOT_PYTHON in deps_out.stdout.split()

    repro = run_pants(clone, "repro-check", "tests/fixtures/mini_zig:wheel-cp314", ROOT_PYTHON)
    assert repro.returncode == 0
    assert "✓ tests/fixtures/mini_zig:wheel-cp314: reproducible" in repro.stdout
    assert f"✓ {ROOT_PYTHON}: root file system reproducible" in repro.stdout
