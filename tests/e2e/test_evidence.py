"""End to end: SBOMs, provenance and SHA256SUMS that strangers can compare and verify."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

from tests.e2e.repo import cpython, fresh_venv, make_clone, run_pants

RELEASE = "tests/fixtures/mini:release"


def _store_copy(dest: Path) -> Path:
    """The artifact store at another path (hard links where the filesystem allows)."""
    source = Path(os.environ["NUMPY_RELEASE_STORE"])
    if subprocess.run(["cp", "-al", str(source), str(dest)], capture_output=True).returncode != 0:
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(source, dest)
    return dest


def _verify(clone: Path, *paths: str) -> subprocess.CompletedProcess:
    return run_pants(clone, "verify", "--", *paths)


def test_two_checkouts_write_identical_sha256sums_and_verify_catches_tampering(tmp_path: Path) -> None:
    # Checkout A: this machine's HOME, caches and store, at one path.
    first = make_clone(tmp_path / "a" / "clone")
    built_a = run_pants(first, "package", RELEASE, env={"TZ": "UTC", "LANG": "C.UTF-8"})
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
    built_b = run_pants(second, "package", RELEASE, env=env_b, prefix=("sh", "-c", 'umask 077; exec "$0" "$@"'))
    assert built_b.returncode == 0

    release_a, release_b = first / "dist/release", second / "dist/release"
    sums = (release_a / "SHA256SUMS").read_bytes()
    assert sums == (release_b / "SHA256SUMS").read_bytes()
    assert (release_a / "manifest.json").read_bytes() == (release_b / "manifest.json").read_bytes()
    listed = [line.split()[1] for line in sums.decode().splitlines()]
    wheels = sorted(n for n in listed if n.endswith(".whl"))
    assert len(wheels) == 2 and sorted(listed) == sorted([*wheels, *(w + ".intoto.jsonl" for w in wheels)])
    manifest = json.loads((release_a / "manifest.json").read_text())["artifacts"]
    for entry in manifest:
        if entry["kind"] == "wheel":
            assert entry["tag"] in entry["name"] and entry["address"].startswith("tests/fixtures/mini:wheel@")
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
        d for d in statement["predicate"]["buildDefinition"]["resolvedDependencies"]
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


def _peek(clone: Path, *addresses: str) -> list[dict]:
    result = run_pants(clone, "peek", *addresses)
    assert result.returncode == 0
    return json.loads(result.stdout)


def _graph_pins(clone: Path, address: str) -> set[tuple[str, str, str, str]]:
    """(kind, pinned by, name, sha256) of every pinned input `pants dependencies` reports,
    read here from the targets and the lockfiles themselves."""
    deps = run_pants(clone, "dependencies", "--transitive", address)
    assert deps.returncode == 0
    pins = set()
    for tgt in _peek(clone, *deps.stdout.split()):
        spec, kind = tgt["address"], tgt["target_type"]
        if "sha256" in tgt and "filename" in tgt:
            pins.add(("pinned-file", spec, tgt["filename"], tgt["sha256"]))
        elif kind == "_lockfile":
            text = (clone / spec.split(":")[0]).read_text()
            lock = json.loads("\n".join(l for l in text.splitlines() if not l.startswith("//")))
            for req in lock["locked_resolves"][0]["locked_requirements"]:
                for artifact in req["artifacts"]:
                    pins.add(("locked-distribution", spec, artifact["url"].split("/")[-1], artifact["hash"]))
        elif kind == "host_cpython":
            pins.add(("interpreter", spec, f"cpython-{tgt['fingerprint']['version']}", "*"))
    for path, project in (("3rdparty/bootstrap/pants.txt", "pantsbuild-pants"), ("3rdparty/bootstrap/pex-tool.txt", "pex")):
        text = (clone / path).read_text().replace("\\\n", " ")
        line = next(l for l in text.splitlines() if l.lower().replace(".", "-").startswith(project + "=="))
        version = line.split("==")[1].split()[0]
        for h in line.split("--hash=sha256:")[1:]:
            pins.add(("engine", path, f"{project}=={version}", h.split()[0]))
    return pins


def _recorded_pins(statement: dict) -> set[tuple[str, str, str, str]]:
    recorded = set()
    for d in statement["predicate"]["buildDefinition"]["resolvedDependencies"]:
        kind = d["annotations"]["kind"]
        digest = "*" if kind == "interpreter" else d["digest"]["sha256"]
        recorded.add((kind, d["annotations"]["pinnedBy"], d["name"], digest))
    return recorded


def test_numpy_release_carries_sbom_and_provenance_that_match_the_graph(clone: Path, tmp_path: Path) -> None:
    built = run_pants(clone, "package", "//:release")
    assert built.returncode == 0
    release = clone / "dist/release"
    verified = _verify(clone, "dist/release")
    assert verified.returncode == 0 and verified.stdout.count("✓ ") == 3

    (source,) = _peek(clone, "numpy_src:numpy")
    vendored = {c["name"]: c for c in source["vendored_components"]}
    assert {"highway", "pocketfft", "x86-simd-sort", "SVML", "pythoncapi-compat"} <= set(vendored)
    (openblas,) = _peek(clone, "3rdparty/openblas:ilp64")
    for py in ("3.12", "3.13"):
        tag = "cp" + py.replace(".", "")
        (wheel,) = release.glob(f"numpy-2.5.5-{tag}-{tag}-*.whl")
        with zipfile.ZipFile(wheel) as zf:
            sbom = json.loads(zf.read("numpy-2.5.5.dist-info/sboms/numpy.cdx.json"))
            libs = {n: hashlib.sha256(zf.read(n)).hexdigest() for n in zf.namelist() if n.startswith("numpy.libs/") and n.endswith(".so")}
        assert sbom["specVersion"] == "1.6" and "timestamp" in sbom["metadata"]
        assert sbom["metadata"]["component"]["purl"] == "pkg:pypi/numpy@2.5.5"
        components = {c["name"]: c for c in sbom["components"]}
        assert set(vendored) <= set(components)
        assert components["highway"]["version"] == "1.3.0"
        assert libs and all(
            components[n]["hashes"] == [{"alg": "SHA-256", "content": sha}] for n, sha in libs.items()
        )
        for n in libs:
            (ancestor,) = components[n]["pedigree"]["ancestors"]
            assert ancestor["name"] == "scipy-openblas64" and ancestor["version"] == openblas["version"]
            assert ancestor["externalReferences"][0]["hashes"][0]["content"] == openblas["sha256"]
        # pip installs it (RECORD valid), and the installed file matches the SBOM.
        python = fresh_venv(tmp_path / f"venv-{py}", cpython(py))
        subprocess.run(
            [str(python), "-m", "pip", "install", "--no-index", "--no-deps", "--quiet", str(wheel)], check=True
        )
        statement = json.loads((release / f"{wheel.name}.intoto.jsonl").read_text())
        assert _recorded_pins(statement) == _graph_pins(clone, f"numpy_src:wheel@python={py}")
    (sdist_statement,) = release.glob("*.tar.gz.intoto.jsonl")
    assert _recorded_pins(json.loads(sdist_statement.read_text())) == _graph_pins(clone, "numpy_src:sdist")
