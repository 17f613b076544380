"""End to end: every hermeticity promise holds, or the build stops and says why."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

from tests.e2e.repo import cpython, logged_sha256, make_clone, run_pants

NO_NAMESPACES = ("/usr/bin/python3", str(Path.cwd() / "tests/e2e/no_namespaces.py"))
MINI = "tests/fixtures/mini:wheel@python=3.12"


def test_umask_0077_builds_the_same_bytes_with_normal_modes(clone: Path) -> None:
    shas = []
    # The reference may come from the cache (any build under a normal umask); the build under
    # umask 0077 is a fresh one.
    for umask, cache in (("0022", ()), ("0077", ("--no-local-cache",))):
        result = run_pants(
            clone,
            *cache,
            "package",
            MINI,
            prefix=("/bin/sh", "-c", f'umask {umask} && exec "$@"', "sh"),
        )
        assert result.returncode == 0
        shas.append(logged_sha256(result.stderr))
        (wheel,) = (clone / "dist").glob("*.whl")
        with zipfile.ZipFile(wheel) as zf:
            modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        assert modes["mini/__init__.py"] == 0o100644, oct(modes["mini/__init__.py"])
        (so,) = [n for n in modes if n.endswith(".so")]
        assert modes[so] == 0o100755, oct(modes[so])
    assert shas[0] == shas[1] and len(shas[0]) == 1


def test_refused_namespaces_stop_the_build_unless_opted_out(clone: Path) -> None:
    refused = run_pants(clone, "package", MINI, prefix=NO_NAMESPACES)
    assert refused.returncode != 0
    for needle in (
        "refuses the sandbox isolation",
        "kernel.apparmor_restrict_unprivileged_userns=0",
        "kernel.unprivileged_userns_clone=1",
        "--meson-build-isolation=best-effort",
    ):
        assert needle in refused.stderr, needle
    assert "Build wheel" not in refused.stderr
    assert not (clone / "dist").exists()

    opted_out = run_pants(
        clone, "--meson-build-isolation=best-effort", "package", MINI, prefix=NO_NAMESPACES
    )
    assert opted_out.returncode == 0
    (provenance,) = (clone / "dist").glob("*.intoto.jsonl")
    build = json.loads(provenance.read_text())["predicate"]["buildDefinition"]["internalParameters"]
    assert build["isolationMode"] == "best-effort"
    assert build["isolation"].startswith("best-effort: mount namespace refused")

    # A release set refuses what was built without isolation.
    release = run_pants(
        clone,
        "--meson-build-isolation=best-effort",
        "package",
        "tests/fixtures/probe:release",
        prefix=NO_NAMESPACES,
    )
    assert release.returncode != 0
    assert "refusing to release artifacts built without sandbox isolation" in release.stderr
    assert not (clone / "dist/release").exists()


class _LoopbackServer:
    """A TCP server on the host's loopback that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.accepted = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def address(self) -> tuple[str, int]:
        return self.sock.getsockname()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.sock.close()


# The probe from inside a wheel test, added to the clone's BUILD once the probe is aimed.
_PROBE_TEST = """
wheel_test(
    name="wheel-test",
    wheel=":wheel",
    python="3.12",
    sources=["netprobe.py"],
    timeout=300,
)
"""


def _aim(path: Path, target: tuple[str, int]) -> None:
    text = path.read_text()
    assert "TARGET = None" in text
    path.write_text(text.replace("TARGET = None", f"TARGET = {target!r}"))


def test_build_and_wheel_test_cannot_reach_a_loopback_server(clone: Path) -> None:
    server = _LoopbackServer()
    try:
        # Control: the server is reachable from outside the sandbox, so a build that
        # could reach it would be seen.
        socket.create_connection(server.address, timeout=5).close()
        deadline = threading.Event()
        for _ in range(50):
            if server.accepted:
                break
            deadline.wait(0.1)
        assert server.accepted == 1
        probe = clone / "tests/fixtures/probe/netprobe.py"
        # Not aimed, the check refuses to pass: it would have probed nothing.
        unaimed = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True)
        assert unaimed.returncode == 2 and "no TARGET set" in unaimed.stderr
        _aim(probe, server.address)
        with open(clone / "tests/fixtures/probe/BUILD", "a") as f:
            f.write(_PROBE_TEST)
        built = run_pants(clone, "--no-local-cache", "package", "tests/fixtures/probe:wheel")
        assert built.returncode == 0
        tested = run_pants(
            clone, "test", "--force", "--test-output=all", "tests/fixtures/probe:wheel-test"
        )
        assert tested.returncode == 0
        # The check ran against the server and could not reach it.
        assert f"netprobe: could not connect to {server.address!r}" in tested.stdout + tested.stderr
        assert server.accepted == 1, "a build or test process reached the host's loopback"
    finally:
        server.close()


def test_checkouts_at_two_paths_record_the_fixed_build_root(tmp_path: Path) -> None:
    """The probe wheel records its build directory and its build Python; only the fixed
    root and the fixed name of the tool venv make it agree."""
    shas = []
    for name in ("one", "a/much/deeper/second/checkout"):
        clone = make_clone(tmp_path / name)
        result = run_pants(clone, "--no-local-cache", "package", "tests/fixtures/probe:wheel")
        assert result.returncode == 0
        shas.append(logged_sha256(result.stderr))
        (wheel,) = (clone / "dist").glob("*.whl")
        with zipfile.ZipFile(wheel) as zf:
            recorded = zf.read("probe/_buildinfo.py").decode()
        # The tool venv's own path is named by hashes of the lockfile and the interpreter.
        assert (
            recorded
            == 'BUILD_ROOT = "/mnt/src/build"\nBUILD_PYTHON = "/mnt/.build-tools/bin/python"\n'
            'HOST_PROBE = "hostprobe: not aimed"\n'
        ), recorded
    assert shas[0] == shas[1] and len(shas[0]) == 1


def _host_version(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_fingerprint_shows_what_builds_key_on(clone: Path) -> None:
    result = run_pants(clone, "fingerprint", "3rdparty/python:cpython-3.12", "numpy_src:numpy")
    assert result.returncode == 0, result.stderr
    (target,) = json.loads(result.stdout)  # the source_release is not an interpreter: skipped
    assert (
        target["address"] == "3rdparty/python:cpython-3.12"
        and target["target_type"] == "host_cpython"
    )
    facts = target["fingerprint"]
    python = cpython("3.12")
    assert facts["version"] == _host_version(python)
    assert facts["path"] == str(Path(python).resolve())
    assert facts["binary_sha256"] == hashlib.sha256(Path(python).resolve().read_bytes()).hexdigest()
    assert facts["EXT_SUFFIX"].startswith(".cpython-312-") and facts["Py_GIL_DISABLED"] == "0"
    assert re.fullmatch(r"[0-9a-f]{64}", facts["include_sha256"])
    # The fingerprint over the facts is the one every build process carries.
    listed = {k: v for k, v in facts.items() if k != "fingerprint"}
    assert (
        facts["fingerprint"]
        == hashlib.sha256(json.dumps(listed, sort_keys=True).encode()).hexdigest()
    )
    assert run_pants(clone, "fingerprint", "numpy_src:numpy").returncode == 1
    dependents = run_pants(clone, "dependents", "--transitive", "3rdparty/python:cpython-3.12")
    assert {MINI, "numpy_src:wheel-cp312", "numpy_src:wheel-test-cp312"} <= set(
        dependents.stdout.split()
    )


def test_fingerprint_is_the_same_under_pantsd_with_pyenv_outside_home(
    clone: Path, tmp_path: Path
) -> None:
    """pantsd serves many clients: the interpreter search reads the environment of the
    client that asks (an empty HOME, pyenv elsewhere), not the daemon's."""
    python = cpython("3.12")
    pyenv_root = str(Path(python).parents[3])
    home = tmp_path / "empty-home"
    home.mkdir()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    env = {"HOME": str(home), "PYENV_ROOT": pyenv_root, "XDG_CACHE_HOME": cache}
    target = "3rdparty/python:cpython-3.12"
    answers = []
    try:
        for daemon in ("--no-pantsd", "--pantsd", "--pantsd"):  # cold, then served by pantsd
            result = subprocess.run(
                ["./pants", daemon, "fingerprint", target],
                cwd=clone,
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert result.returncode == 0, result.stderr[-3000:]
            (row,) = json.loads(result.stdout)
            answers.append(row["fingerprint"])
    finally:
        subprocess.run(
            ["./pants", "--pantsd", "kill-pantsd"],
            cwd=clone,
            env={**os.environ, **env},
            capture_output=True,
        )
    assert answers[0]["path"] == str(Path(python).resolve())
    assert answers[0] == answers[1] == answers[2]


def test_exact_version_pin_stops_a_build_on_another_patch_version(clone: Path) -> None:
    actual = _host_version(cpython("3.12"))
    major, minor, patch = actual.split(".")
    wanted = f"{major}.{minor}.{int(patch) + 1}"
    build_file = clone / "3rdparty/python/BUILD"
    text = build_file.read_text()
    assert "        version=_version,\n" in text
    build_file.write_text(
        text.replace(
            "        version=_version,\n",
            f"        version=_version,\n        exact_version={{'3.12': '{wanted}'}}.get(_version),\n",
        )
    )
    result = run_pants(clone, "package", "numpy_src:wheel-cp312")
    assert result.returncode != 0
    assert f"pins CPython {wanted}" in result.stderr and actual in result.stderr
    assert "Build wheel" not in result.stderr
    assert not (clone / "dist").exists()


def test_a_glob_skips_wheels_for_other_platforms_and_missing_interpreters(clone: Path) -> None:
    with open(clone / "tests/fixtures/mini/BUILD", "a") as f:
        f.write(
            "\nhost_cpython(name='cpython-3.99', version='3.99')\n"
            "meson_wheel(name='wheel-future', source=':mini', python='3.99', "
            "interpreter=':cpython-3.99', build_requirements=['3rdparty/python:build'], "
            "repair_requirements=['3rdparty/python:repair'], toolchain='3rdparty/toolchains:host')\n"
        )
    result = run_pants(
        clone, "package", "tests/fixtures/mini::", "numpy_src:wheel-macosx_arm64-accelerate"
    )
    assert result.returncode == 0
    skipped = [line for line in result.stderr.splitlines() if "Skipping " in line]
    assert len([s for s in skipped if "is a macosx_arm64 wheel" in s]) == 4, skipped
    assert (
        len([s for s in skipped if "wheel-future" in s and "no CPython 3.99 found" in s]) == 1
    ), skipped
    assert len(list((clone / "dist").glob("*.whl"))) == 3
    # Named on its own, the same wheel stops the build.
    named = run_pants(clone, "package", "tests/fixtures/mini:wheel-future")
    assert named.returncode != 0
    assert "no CPython 3.99 found" in named.stderr and "pyenv install 3.99" in named.stderr
