"""End to end: SHA256SUMS that strangers can compare, and `verify` catching tampering."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

from tests.e2e.repo import make_clone, run_pants

RELEASE = "tests/fixtures/mini:release"
# Cross-built for aarch64: the same bytes from any checkout path and host state, too.
CROSS = "tests/fixtures/mini_zig:wheel-aarch64"
# Built inside the root file system of Debian forky's CPython 3.14.
ROOTED = "tests/fixtures/mini_zig:wheel-cp314"


def _store_copy(dest: Path) -> Path:
    """The artifact store at another path (hard links where the filesystem allows)."""
    source = Path(os.environ["NUMPY_RELEASE_STORE"])
    if subprocess.run(["cp", "-al", str(source), str(dest)], capture_output=True).returncode != 0:
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(source, dest)
    return dest


def _verify(clone: Path, *paths: str) -> subprocess.CompletedProcess:
    return run_pants(clone, "verify", "--", *paths)


def test_two_checkouts_write_identical_sha256sums_and_verify_catches_tampering(
    tmp_path: Path,
) -> None:
    # Checkout A: this machine's HOME, caches and store, at one path.
    first = make_clone(tmp_path / "a" / "clone")
    built_a = run_pants(
        first, "package", RELEASE, CROSS, ROOTED, env={"TZ": "UTC", "LANG": "C.UTF-8"}
    )
    assert built_a.returncode == 0
    # Checkout B: another path, an empty HOME (so cold caches), another store location,
    # another user name, umask 0077, another time zone and locale.
    home = tmp_path / "home-b"
    home.mkdir()
    second = make_clone(tmp_path / "b" / "deeper" / "checkout")
    env_b = {
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "NUMPY_RELEASE_STORE": str(_store_copy(tmp_path / "store-b")),
        "USER": "stranger",
        "LOGNAME": "stranger",
        "TZ": "Asia/Kolkata",
        "LANG": "de_DE.UTF-8",
        "LC_ALL": "de_DE.UTF-8",
    }
    built_b = run_pants(
        second,
        "package",
        RELEASE,
        CROSS,
        ROOTED,
        env=env_b,
        prefix=("sh", "-c", 'umask 077; exec "$0" "$@"'),
    )
    assert built_b.returncode == 0
    (cross_a,) = (first / "dist").glob("mini-*_aarch64.whl")
    (cross_b,) = (second / "dist").glob("mini-*_aarch64.whl")
    assert cross_a.name == cross_b.name and cross_a.read_bytes() == cross_b.read_bytes()
    # Built in the root file system of Debian's CPython 3.14, assembled anew in checkout B.
    (rooted_a,) = (first / "dist").glob("mini-*-cp314-*.whl")
    (rooted_b,) = (second / "dist").glob("mini-*-cp314-*.whl")
    assert rooted_a.name == rooted_b.name and rooted_a.read_bytes() == rooted_b.read_bytes()

    release_a, release_b = first / "dist/release", second / "dist/release"
    sums = (release_a / "SHA256SUMS").read_bytes()
    assert sums == (release_b / "SHA256SUMS").read_bytes()
    assert (release_a / "manifest.json").read_bytes() == (release_b / "manifest.json").read_bytes()
    listed = [line.split()[1] for line in sums.decode().splitlines()]
    wheels = sorted(n for n in listed if n.endswith(".whl"))
    assert len(wheels) == 2 and sorted(listed) == sorted(
        [*wheels, *(w + ".intoto.jsonl" for w in wheels)]
    )
    manifest = json.loads((release_a / "manifest.json").read_text())["artifacts"]
    for entry in manifest:
        if entry["kind"] == "wheel":
            assert entry["tag"] in entry["name"] and entry["address"].startswith(
                "tests/fixtures/mini:wheel@"
            )
    # The host records exist, differ (user, paths), and are in neither index.
    for wheel in wheels:
        host_a = json.loads((release_a / f"{wheel}.build-host.json").read_text())
        host_b = json.loads((release_b / f"{wheel}.build-host.json").read_text())
        assert host_a["user"] != host_b["user"] == "stranger"
        with zipfile.ZipFile(release_a / wheel) as zf:
            (sbom,) = [n for n in zf.namelist() if "/sboms/" in n]
            assert json.loads(zf.read(sbom))["specVersion"] == "1.6"

    # Someone else's release, downloaded: verified by checkout A without building.
    downloaded = tmp_path / "downloaded"
    shutil.copytree(release_b, downloaded)
    ok = _verify(first, str(downloaded))
    assert ok.returncode == 0, ok.stdout
    assert ok.stdout.count("✓ ") == 2

    # 1. One flipped byte in a wheel.
    flipped = tmp_path / "flipped"
    shutil.copytree(release_b, flipped)
    data = bytearray((flipped / wheels[0]).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (flipped / wheels[0]).write_bytes(bytes(data))
    bad = _verify(first, str(flipped))
    assert bad.returncode == 1
    assert f"✕ {wheels[0]}" in bad.stdout and "differs from SHA256SUMS" in bad.stdout
    assert f"✓ {wheels[1]}" in bad.stdout

    # 2. The provenance of the other wheel.
    swapped = tmp_path / "swapped"
    shutil.copytree(release_b, swapped)
    shutil.copy(swapped / f"{wheels[1]}.intoto.jsonl", swapped / f"{wheels[0]}.intoto.jsonl")
    bad = _verify(first, str(swapped))
    assert bad.returncode == 1
    assert f"its provenance {wheels[0]}.intoto.jsonl is for [('{wheels[1]}'" in bad.stdout

    # 3. A pin bumped since the build: meson's locked wheel now has another hash.
    lock = first / "3rdparty/python/build.lock"
    statement = json.loads((downloaded / f"{wheels[0]}.intoto.jsonl").read_text())
    (meson,) = [
        d
        for d in statement["predicate"]["buildDefinition"]["resolvedDependencies"]
        if d["name"].startswith("meson-1") and d["name"].endswith(".whl")
    ]
    old = meson["digest"]["sha256"]
    lock.write_text(lock.read_text().replace(old, "0" * 64))
    bad = _verify(first, str(downloaded))
    assert bad.returncode == 1
    assert (
        f"pin changed since the build: {meson['name']} (3rdparty/python/build.lock:_build_lockfile) "
        f"was sha256:{old}, is now sha256:{'0' * 64}"
    ) in bad.stdout
