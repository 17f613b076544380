"""End to end: the real ./pants builds, repairs and serves the fixture wheels."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest

from tests.e2e.repo import cpython, fresh_venv, logged_sha256, run_pants

PYTHONS = ("3.11", "3.12", "3.13")
CALL = (
    "import mini, zlib; "
    "assert mini.add(2, 40) == 42; "
    "assert mini.checksum(b'Wikipedia') == zlib.adler32(b'Wikipedia') == 0x11E60398; "
    "print('ok', mini.__file__)"
)


def test_package_builds_three_repaired_wheels_that_work(clone: Path, tmp_path: Path) -> None:
    result = run_pants(clone, "package", "tests/fixtures/mini::")
    assert result.returncode == 0
    wheels = sorted((clone / "dist").glob("*.whl"))
    assert len(wheels) == 3, wheels
    logged = logged_sha256(result.stderr)
    for py in PYTHONS:
        tag = "cp" + py.replace(".", "")
        (wheel,) = [w for w in wheels if f"-{tag}-{tag}-" in w.name]
        # Repaired: auditwheel replaced the plain linux tag with a manylinux one.
        assert "manylinux" in wheel.name and "linux_x86_64" not in wheel.name.split("manylinux")[0]
        assert logged[wheel.name] == hashlib.sha256(wheel.read_bytes()).hexdigest()
        statement = json.loads((clone / "dist" / f"{wheel.name}.intoto.jsonl").read_text())
        assert statement["subject"] == [
            {"name": wheel.name, "digest": {"sha256": logged[wheel.name]}}
        ]
        parameters = statement["predicate"]["buildDefinition"]["externalParameters"]
        assert parameters["toolchain"] == "3rdparty/toolchains:host"
        assert parameters["source"] == "tests/fixtures/mini:mini"
        assert parameters["python"] == py
        host = json.loads((clone / "dist" / f"{wheel.name}.build-host.json").read_text())
        assert "sha256:" in host["toolchain"]["programs"]["cc"]
        with zipfile.ZipFile(wheel) as zf:
            assert any(n.startswith("mini/_core.") and n.endswith(".so") for n in zf.namelist())
        python = fresh_venv(tmp_path / f"venv-{py}", cpython(py))
        subprocess.run(
            [str(python), "-m", "pip", "install", "--no-index", "--no-deps", "--quiet", str(wheel)],
            check=True,
        )
        out = subprocess.run(
            [str(python), "-c", CALL], check=True, capture_output=True, text=True, cwd=tmp_path
        )
        assert out.stdout.startswith("ok ") and str(tmp_path / f"venv-{py}") in out.stdout


def test_graph_shows_toolchain_requirements_and_sources(clone: Path) -> None:
    deps = run_pants(clone, "dependencies", "--transitive", "tests/fixtures/mini:wheel@python=3.12")
    assert deps.returncode == 0
    listed = set(deps.stdout.split())
    assert {
        "3rdparty/toolchains:host",
        "tests/fixtures/mini:mini",
        "3rdparty/python:build#meson-python",
        "3rdparty/python:build#Cython",
        "3rdparty/python:repair#auditwheel",
        # The SBOM written into the wheel: its tools' set, interpreter and scripts.
        "3rdparty/python:evidence#cyclonedx-python-lib",
        "3rdparty/python:cpython-3.9",
        "build_defs/evidence/tools/wheel_sbom.py",
    } <= listed
    dependents = run_pants(clone, "dependents", "--transitive", "3rdparty/toolchains:host")
    assert dependents.returncode == 0
    assert {f"tests/fixtures/mini:wheel@python={py}" for py in PYTHONS} <= set(
        dependents.stdout.split()
    )


def _damaged_store(real: Path, dest: Path, victim: str, damage: str) -> None:
    """A store sharing every blob with the real one except `victim`, which is damaged."""
    (dest / "sha256").mkdir(parents=True)
    victim_sha = os.readlink(real / "files" / victim).rsplit("/", 1)[-1]
    for blob in (real / "sha256").iterdir():
        if blob.name == victim_sha:
            data = bytearray(blob.read_bytes())
            if damage == "flip":
                data[len(data) // 2] ^= 0x01
            else:
                del data[len(data) // 2 :]
            (dest / "sha256" / blob.name).write_bytes(bytes(data))
        else:
            (dest / "sha256" / blob.name).symlink_to(blob)
    (dest / "tools").symlink_to(real / "tools")


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_damaged_artifact_stops_the_build(clone: Path, tmp_path: Path, damage: str) -> None:
    real = Path(os.environ.get("NUMPY_RELEASE_STORE") or Path.home() / ".cache/numpy-release/store")
    victim = next(p.name for p in (real / "files").iterdir() if p.name.startswith("meson_python-"))
    _damaged_store(real, tmp_path / "store", victim, damage)
    result = run_pants(
        clone,
        "package",
        "tests/fixtures/mini::",
        env={"NUMPY_RELEASE_STORE": str(tmp_path / "store")},
    )
    assert result.returncode != 0
    assert f"stored artifact {victim} is corrupt" in result.stderr
    assert not (clone / "dist").exists() or not any((clone / "dist").iterdir())


def _netns_prefix() -> tuple[str, ...]:
    """A prefix that runs a command without network. Where the host refuses network
    namespaces this test fails: the offline promise is then unproven, not kept."""
    prefix = ("unshare", "-n") if os.geteuid() == 0 else ("unshare", "-rn")
    probe = subprocess.run(
        [
            *prefix,
            sys.executable,
            "-c",
            "import socket; print(sorted(n for _, n in socket.if_nameindex()))",
        ],
        capture_output=True,
        text=True,
    )
    assert (
        probe.returncode == 0
    ), f"no network namespace here, so offline builds are unproven: {probe.stderr}"
    assert probe.stdout.strip() == "['lo']", f"the namespace still has interfaces: {probe.stdout}"
    return prefix


def test_offline_build_after_fetch_gives_the_same_bytes(clone: Path) -> None:
    prefix = _netns_prefix()
    online = run_pants(clone, "package", "tests/fixtures/mini:wheel@python=3.11")
    assert online.returncode == 0
    ((online_name, online_sha),) = logged_sha256(online.stderr).items()
    # Without network and without the process cache, so every step really runs again.
    offline = run_pants(
        clone, "--no-local-cache", "package", "tests/fixtures/mini:wheel@python=3.11", prefix=prefix
    )
    assert offline.returncode == 0
    assert logged_sha256(offline.stderr) == {online_name: online_sha}


def test_only_real_inputs_trigger_a_rebuild(clone: Path) -> None:
    target = "tests/fixtures/mini:wheel@python=3.12"
    first = run_pants(clone, "package", target)
    assert first.returncode == 0
    # Files Pants reads but the wheel does not depend on change: the README, and a comment in
    # the fixture's own BUILD file (its directory is the project's source root, and BUILD is
    # excluded from the sources). The wheel comes from the cache.
    readme = clone / "README.md"
    assert readme.is_file(), "the clone has no README to edit"
    readme.write_text(readme.read_text() + f"\n<!-- {uuid.uuid4()} -->\n")
    build_file = clone / "tests/fixtures/mini/BUILD"
    build_file.write_text(build_file.read_text() + f"\n# {uuid.uuid4()}\n")
    again = run_pants(clone, "package", target)
    assert again.returncode == 0
    assert "Build wheel" not in again.stderr and "Repair wheel" not in again.stderr
    assert logged_sha256(again.stderr) == logged_sha256(first.stderr)
    # A comment in the C source changes: the build really runs again.
    source = clone / "tests/fixtures/mini/src/mini/_core.c"
    source.write_text(source.read_text() + f"/* {uuid.uuid4()} */\n")
    rebuilt = run_pants(clone, "package", target)
    assert rebuilt.returncode == 0
    assert "Completed: Build wheel tests/fixtures/mini:wheel@python=3.12" in rebuilt.stderr


def test_the_cores_a_build_is_given_are_not_in_its_cache_key(clone: Path) -> None:
    # Pants writes the cores it gives a build process into its argv after the cache lookup
    # (build_defs/wheels/cores.py): built with one, the wheel is a cache hit with two.
    target = "tests/fixtures/mini:wheel@python=3.12"
    source = clone / "tests/fixtures/mini/src/mini/_core.c"
    source.write_text(source.read_text() + f"/* {uuid.uuid4()} */\n")  # a build no cache has
    one = run_pants(clone, "--process-execution-local-parallelism=1", "package", target)
    assert one.returncode == 0
    assert f"Completed: Build wheel {target}" in one.stderr
    two = run_pants(clone, "--process-execution-local-parallelism=2", "package", target)
    assert two.returncode == 0
    assert "Build wheel" not in two.stderr
    assert logged_sha256(two.stderr) == logged_sha256(one.stderr)


def test_repro_check_passes_on_the_fixture_and_fails_on_noise(clone: Path) -> None:
    # gcc, and zig (each build of which starts from its own empty zig cache).
    good = run_pants(
        clone,
        "repro-check",
        "tests/fixtures/mini:wheel@python=3.12",
        "tests/fixtures/mini_zig:wheel",
    )
    assert good.returncode == 0
    assert "✓ tests/fixtures/mini:wheel@python=3.12: reproducible" in good.stdout
    assert "✓ tests/fixtures/mini_zig:wheel: reproducible" in good.stdout
    bad = run_pants(clone, "repro-check", "tests/fixtures/unreproducible:wheel")
    assert bad.returncode != 0
    assert "✕ tests/fixtures/unreproducible:wheel: the two builds differ" in bad.stdout
    assert "differs: noisy/_noise.py" in bad.stdout
    kept = list((clone / "dist/repro-check").rglob("*.whl"))
    assert len(kept) == 2


def test_other_platform_stops_with_its_runner(clone: Path) -> None:
    result = run_pants(clone, "package", "numpy_src:wheel-macosx_arm64-accelerate@python=3.13")
    assert result.returncode != 0
    assert "is a macosx_arm64 wheel and this machine is" in result.stderr
    assert "`macos-14` runner" in result.stderr
    assert not (clone / "dist").exists()


def test_zig_toolchain_builds_a_manylinux_2_28_wheel_exporting_only_pyinit(
    clone: Path, tmp_path: Path
) -> None:
    result = run_pants(clone, "package", "tests/fixtures/mini_zig:wheel")
    assert result.returncode == 0
    (wheel,) = (clone / "dist").glob("*.whl")
    assert "manylinux_2_28_x86_64" in wheel.name, wheel.name
    with zipfile.ZipFile(wheel) as zf:
        (so_name,) = [n for n in zf.namelist() if n.endswith(".so")]
        so = tmp_path / "core.so"
        so.write_bytes(zf.read(so_name))
    exported = subprocess.run(
        ["nm", "-D", "-C", "--defined-only", str(so)], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    names = [line.split(" ", 2)[-1] for line in exported if line.strip()]
    # The module init is exported; the statically linked C++ runtime stays hidden.
    assert "PyInit__core" in names, names
    leaked = [
        n
        for n in names
        if "std::" in n or "operator new" in n or "operator delete" in n or n.startswith("__cxa")
    ]
    assert leaked == []
    undefined = subprocess.run(
        ["nm", "-D", "-u", str(so)], check=True, capture_output=True, text=True
    ).stdout
    assert (
        "libc++" not in undefined and "_Znwm" not in undefined
    )  # libc++ is linked in, not needed at run time
    strings = subprocess.run(
        ["strings", str(so)], check=True, capture_output=True, text=True
    ).stdout
    assert "pants-sandbox" not in strings and str(clone) not in strings
    python = fresh_venv(tmp_path / "venv", cpython("3.12"))
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-index", "--no-deps", "-q", str(wheel)],
        check=True,
    )
    subprocess.run([str(python), "-c", CALL], check=True, cwd=tmp_path)
