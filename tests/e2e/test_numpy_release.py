"""End to end: the NumPy release's SBOMs and provenance, against the graph."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import zipfile
from pathlib import Path

from tests.e2e.repo import cpython, fresh_venv, run_pants


def _peek(clone: Path, *addresses: str) -> list[dict]:
    result = run_pants(clone, "peek", *addresses)
    assert result.returncode == 0
    return json.loads(result.stdout)


def _closure(peeked: dict[str, dict], target: str) -> list[str]:
    """The addresses `target` depends on, transitively (itself excluded), from `peek`."""
    seen: set[str] = set()
    todo = list(peeked[target]["dependencies"])
    while todo:
        address = todo.pop()
        if address not in seen:
            seen.add(address)
            todo.extend(peeked[address]["dependencies"])
    return sorted(seen)


def _graph_pins(
    clone: Path, deps: list[str], peeked: dict[str, dict]
) -> set[tuple[str, str, str, str]]:
    """(kind, pinned by, name, sha256) of every pinned input among `deps` (what `pants
    dependencies --transitive` reports), read here from the targets and lockfiles themselves."""
    pins = set()
    manifest = json.loads((clone / "3rdparty/artifacts.json").read_text())
    for tgt in (peeked[d] for d in deps):
        spec, kind = tgt["address"], tgt["target_type"]
        if "sha256" in tgt and "filename" in tgt:
            pins.add(("pinned-file", spec, tgt["filename"], tgt["sha256"]))
        elif kind == "_lockfile":
            text = (clone / spec.split(":")[0]).read_text()
            lock = json.loads("\n".join(l for l in text.splitlines() if not l.startswith("//")))
            for req in lock["locked_resolves"][0]["locked_requirements"]:
                for artifact in req["artifacts"]:
                    pins.add(
                        (
                            "locked-distribution",
                            spec,
                            artifact["url"].split("/")[-1],
                            artifact["hash"],
                        )
                    )
        elif kind == "host_cpython":
            pins.add(("interpreter", spec, f"cpython-{tgt['fingerprint']['version']}", "*"))
        elif kind == "source_cpython":
            # Built in the graph: its exact version is its source archive's.
            version = tgt["source"]["filename"].split("_")[1].split(".orig")[0]
            pins.add(("interpreter", spec, f"cpython-{version}", "*"))
        elif kind == "debian_cpython":
            # The target interpreter's exact version is its Debian package's upstream version.
            dev = next(
                p["filename"]
                for p in tgt["debian_packages"]
                if p["filename"].startswith("libpython")
            )
            pins.add(("interpreter", spec, "cpython-" + dev.split("_")[1].split("-")[0], "*"))
        # Debian packages a target builds from, or runs its builds in (not a root file
        # system for tests), and the Debian source files a CPython is built from.
        sources = (
            [
                tgt["source"],
                *(lib["source"] for lib in tgt["libraries"]),
                *(
                    (tgt["signature"]["signature"], tgt["signature"]["keys"])
                    if tgt["signature"]
                    else ()
                ),
            ]
            if kind == "source_cpython"
            else []
        )
        packages = [
            *(
                package
                for field in (
                    "debian_packages",
                    "runtime_packages",
                    "root_packages",
                    "build_packages",
                )
                for package in tgt.get(field) or ()
            ),
            *sources,
        ]
        for package in packages:
            pins.add(("pinned-file", spec, package["filename"], package["sha256"]))
            # The signed index pin.py read it from, as its Debian set records it (of a
            # package in several sets, an architecture-independent one, the first set's).
            set_name = min(
                set_name
                for a in manifest["artifacts"]
                if (a["filename"], a["sha256"]) == (package["filename"], package["sha256"])
                for set_name in a["sets"]
                if "signed_index" in manifest["sets"][set_name]
            )
            signed = manifest["sets"][set_name]["signed_index"]
            name = f"{signed['suite']}/{signed['index']}"
            pins.add(("signed-index", "3rdparty/artifacts.json", name, signed["index_sha256"]))
    for path, project in (
        ("3rdparty/bootstrap/pants.txt", "pantsbuild-pants"),
        ("3rdparty/bootstrap/pex-tool.txt", "pex"),
    ):
        text = (clone / path).read_text().replace("\\\n", " ")
        line = next(
            l for l in text.splitlines() if l.lower().replace(".", "-").startswith(project + "==")
        )
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


def _check_recorded_pins(
    recorded: set[tuple[str, str, str, str]],
    graph: set[tuple[str, str, str, str]],
    py: str,
    manifest: dict,
) -> None:
    """A wheel's statement records every pin of its graph, except the lockfiles' artifacts
    that were not installed: of each lockfile, one artifact per project, the one for the
    CPython that ran its venv (the wheel's own for the build and repair venvs, 3.9 for the
    evidence tools). A venv made in a root file system installs what no lockfile covers
    (a cp314 wheel) from the manifest's pins: those are recorded as pinned by it."""
    locked = {p for p in recorded if p[0] == "locked-distribution"}
    assert recorded - locked == {p for p in graph if p[0] != "locked-distribution"}
    pinned = {(a["filename"], a["sha256"]) for a in manifest["artifacts"]}
    from_manifest = {p for p in locked if p[1] == "3rdparty/artifacts.json"}
    assert all((name, sha) in pinned for _, _, name, sha in from_manifest), from_manifest
    assert locked and locked - from_manifest <= graph
    by_lock: dict[tuple[str, str], list[str]] = {}
    for _, lockfile, name, _ in locked:
        project = name.split("-")[0] if name.endswith(".whl") else name.rsplit("-", 1)[0]
        by_lock.setdefault((lockfile, project.lower().replace("_", "-")), []).append(name)
        cp = "cp39" if "evidence" in lockfile else "cp" + py.replace(".", "")
        tags = name[: -len(".whl")].split("-")[-3:] if name.endswith(".whl") else []
        assert not tags or tags[0] in ("py3", "py2.py3", cp) or tags[1] == "abi3", (lockfile, name)
    assert all(len(names) == 1 for names in by_lock.values()), by_lock
    assert any(p == "meson-python" for _, p in by_lock), sorted(by_lock)


def test_numpy_release_carries_sbom_and_provenance_that_match_the_graph(
    clone: Path, tmp_path: Path
) -> None:
    # Built here: the cp312 wheel (the host's CPython), the sdist, and the musllinux x86_64
    # set (its CPython built from source, the wheel cross-built in trixie's root), which
    # README's test command builds for their wheel tests anyway (tests/BUILD makes this Pants
    # run's builds runtime packages of this test, so this ./pants finds them in the cache).
    # The cp313/cp314 and aarch64 wheels' graphs are checked below without building them; a
    # wheel built in a Debian CPython's root and a cross build have their evidence built by the
    # fixture's cp314 and aarch64 wheels (test_evidence.py).
    sdist = "numpy-2.5.5.tar.gz"
    built = run_pants(
        clone, "package", "numpy_src:wheel-cp312", "numpy_src:sdist", "//:release-musllinux-x86_64"
    )
    assert built.returncode == 0
    loose, musl = clone / "dist", clone / "dist/release-musllinux-x86_64"
    (cp312,) = (p.name for p in loose.glob("numpy-2.5.5-cp312-*.whl"))
    verified = run_pants(
        clone, "verify", "--", f"dist/{cp312}", f"dist/{sdist}", "dist/release-musllinux-x86_64"
    )
    assert verified.returncode == 0 and verified.stdout.count("✓ ") == 3

    targets = (
        "numpy_src:wheel-cp312",
        "numpy_src:wheel-cp313",
        "numpy_src:wheel-cp314",
        "numpy_src:sdist",
        "numpy_src:wheel-cp313-aarch64",
        "numpy_src:wheel-cp314-aarch64",
        "numpy_src:wheel-cp313-musllinux-x86_64",
        "numpy_src:wheel-cp313-musllinux-aarch64",
    )
    # One `peek` of the whole graph gives every target's direct dependencies; each wheel's
    # transitive ones are walked from there (one Pants run, not one per wheel), and checked
    # once against what `pants dependencies --transitive` itself reports.
    peeked = {t["address"]: t for t in _peek(clone, "::")}
    deps = {target: _closure(peeked, target) for target in targets}
    listed = run_pants(clone, "dependencies", "--transitive", "numpy_src:wheel-cp312")
    assert listed.returncode == 0
    assert sorted(listed.stdout.split()) == deps["numpy_src:wheel-cp312"]
    # A host interpreter's exact version is a host fact, shown by `fingerprint`, not by `peek`.
    host_pythons = sorted(
        a
        for a in {d for ds in deps.values() for d in ds}
        if peeked[a]["target_type"] == "host_cpython"
    )
    fingerprinted = run_pants(clone, "fingerprint", *host_pythons)
    assert fingerprinted.returncode == 0, fingerprinted.stderr
    for row in json.loads(fingerprinted.stdout):
        peeked[row["address"]]["fingerprint"] = row["fingerprint"]
    manifest = json.loads((clone / "3rdparty/artifacts.json").read_text())
    source = peeked["numpy_src:numpy"]
    vendored = {c["name"]: c for c in source["vendored_components"]}
    assert {"highway", "pocketfft", "x86-simd-sort", "SVML", "pythoncapi-compat"} <= set(vendored)
    rooted_versions = {"3.13": "3.13.5", "3.14": "3.14.8"}
    for py, directory, target, openblas_target in (
        ("3.12", loose, "numpy_src:wheel-cp312", "3rdparty/openblas:ilp64"),
        (
            "3.13",
            musl,
            "numpy_src:wheel-cp313-musllinux-x86_64",
            "3rdparty/openblas:ilp64-musllinux-x86_64",
        ),
    ):
        openblas = peeked[openblas_target]
        tag = "cp" + py.replace(".", "")
        (wheel,) = directory.glob(f"numpy-2.5.5-{tag}-{tag}-*.whl")
        with zipfile.ZipFile(wheel) as zf:
            sbom = json.loads(zf.read("numpy-2.5.5.dist-info/sboms/numpy.cdx.json"))
            config = zf.read("numpy/__config__.py").decode()
            libs = {
                n: hashlib.sha256(zf.read(n)).hexdigest()
                for n in zf.namelist()
                if n.startswith("numpy.libs/") and n.endswith(".so")
            }
        # NumPy copies the OpenBLAS .pc file's `openblas_config` line into `__config__.py`:
        # it must be the pinned wheel's own, not the core OpenBLAS picks for this machine's CPU
        # (which a generated .pc records, and which made the wheel's bytes follow the CPU).
        store = Path(os.environ["NUMPY_RELEASE_STORE"]) / "files" / openblas["filename"]
        with zipfile.ZipFile(store) as zf:
            name = f"/pkgconfig/{openblas['pkg_config_name']}.pc"
            (pc,) = (n for n in zf.namelist() if n.endswith(name))
            shipped = zf.read(pc).decode()
        (line,) = (x for x in shipped.splitlines() if x.startswith("openblas_config="))
        (recorded,) = {x for x in config.splitlines() if '"openblas configuration"' in x}
        assert recorded.strip() == f'"openblas configuration": r"{line.split("=", 1)[1].strip()}",'
        assert sbom["specVersion"] == "1.6" and "timestamp" in sbom["metadata"]
        assert sbom["metadata"]["component"]["purl"] == "pkg:pypi/numpy@2.5.5"
        components = {c["name"]: c for c in sbom["components"]}
        assert set(vendored) <= set(components)
        assert components["highway"]["version"] == "1.3.0"
        assert libs and all(
            components[n]["hashes"] == [{"alg": "SHA-256", "content": sha}]
            for n, sha in libs.items()
        )
        for n in libs:
            (ancestor,) = components[n]["pedigree"]["ancestors"]
            assert (
                ancestor["name"] == "scipy-openblas64"
                and ancestor["version"] == openblas["version"]
            )
            assert ancestor["externalReferences"][0]["hashes"][0]["content"] == openblas["sha256"]
        linked = [c for c in sbom["components"] if c["bom-ref"].startswith("linked:")]
        assert linked == []
        # What the build ran with, apart from what the wheel ships: the root file system of
        # Debian's CPython (every package by sha256); nothing for the host's CPython 3.12.
        built_with = {
            c["bom-ref"]: c for c in sbom["components"] if c["bom-ref"].startswith("build:")
        }
        if py == "3.12":
            assert built_with == {}
        else:
            root = built_with["build:root-file-system"]
            rooted = peeked[f"3rdparty/python:cpython-{py}-x86_64"]
            # The musllinux wheel's root adds its interpreter's C library loader.
            runtime = (
                peeked["3rdparty/python:cpython-3.13-x86_64-musl"]["runtime_packages"]
                if directory is musl
                else []
            )
            assert (
                root["scope"] == "excluded" and root["version"] == f"CPython {rooted_versions[py]}"
            )
            assert sorted(
                (
                    c["externalReferences"][0]["url"],
                    c["externalReferences"][0]["hashes"][0]["content"],
                )
                for c in root["components"]
            ) == sorted((p["filename"], p["sha256"]) for p in [*rooted["root_packages"], *runtime])
            assert not {r for r in built_with if r.startswith("build:target:")}
        if py == "3.12":
            # pip installs it (RECORD valid). The aarch64 wheels install under qemu, and the
            # cp313 and cp314 ones in their root file systems (no host CPython of theirs), in
            # their wheel_tests.
            python = fresh_venv(tmp_path / f"venv-{py}", cpython(py))
            subprocess.run(
                [
                    str(python),
                    "-m",
                    "pip",
                    "install",
                    "--no-index",
                    "--no-deps",
                    "--quiet",
                    str(wheel),
                ],
                check=True,
            )
        statement = json.loads((directory / f"{wheel.name}.intoto.jsonl").read_text())
        _check_recorded_pins(
            _recorded_pins(statement), _graph_pins(clone, deps[target], peeked), py, manifest
        )

    def pinned_names(target: str) -> set[str]:
        """The file names of every pinned input of `target`'s graph."""
        return {name for _, _, name, _ in _graph_pins(clone, deps[target], peeked)}

    # The musllinux wheel's inputs include the CPython source and C libraries it was built
    # for, by sha256, with the signed source index that vouched for them.
    musl_pins = pinned_names("numpy_src:wheel-cp313-musllinux-x86_64")
    source_pins = {
        "python3.13_3.13.5.orig.tar.xz",
        # Upstream's signature, and Debian's packaging that carries the key it is checked with.
        "python3.13_3.13.5.orig.tar.xz.asc",
        "python3.13_3.13.5-2+deb13u5.debian.tar.xz",
        "libffi_3.4.8.orig.tar.gz",
        "gpgv_2.4.7-21+deb13u1+b5_amd64.deb",
        "trixie/main/source/Sources.xz",
    }
    assert {*source_pins, "musl_1.2.5-3.1~deb13u1_amd64.deb"} <= musl_pins
    # The aarch64 one: the same sources, and arm64's musl (the loader its interpreter names).
    musl_arm64_pins = pinned_names("numpy_src:wheel-cp313-musllinux-aarch64")
    assert {
        *source_pins,
        "musl_1.2.5-3.1~deb13u1_arm64.deb",
        "libgcc-14-dev_14.2.0-19_arm64.deb",
        "scipy_openblas64-0.3.34.237.2-py3-none-musllinux_1_2_aarch64.whl",
    } <= musl_arm64_pins
    # The wheels built in Debian CPythons' roots (not built here): each root's packages.
    for target, package in (
        ("numpy_src:wheel-cp313", "python3.13-minimal_3.13.5-2+deb13u5_amd64.deb"),
        ("numpy_src:wheel-cp314", "python3.14-minimal_3.14.8-1_amd64.deb"),
    ):
        assert package in pinned_names(target)
    # The cross build's inputs include each Debian package it builds from, libgcc among them.
    cross_pins = pinned_names("numpy_src:wheel-cp313-aarch64")
    assert {n for n in cross_pins if n.endswith("_arm64.deb")} == {
        "libgcc-14-dev_14.2.0-19_arm64.deb",
        "libpython3.13-dev_3.13.5-2+deb13u5_arm64.deb",
        "libpython3.13-minimal_3.13.5-2+deb13u5_arm64.deb",
    }
    # ... the x86_64 root it ran in (trixie's CPython 3.13.5: no host CPython took part) ...
    assert "python3.13-minimal_3.13.5-2+deb13u5_amd64.deb" in cross_pins
    # ... and the signed indexes that vouched for them (Debian's chain, docs/pins-and-bumping.md).
    assert {"trixie/main/binary-arm64/Packages.xz", "trixie/main/binary-amd64/Packages.xz"} <= (
        cross_pins
    )
    # The cp314 cross build: forky's arm64 headers, and the x86_64 root it ran in.
    rooted_pins = pinned_names("numpy_src:wheel-cp314-aarch64")
    assert {
        "libpython3.14-dev_3.14.8-1_arm64.deb",
        "python3.14-minimal_3.14.8-1_amd64.deb",
        "libgcc-14-dev_14.2.0-19_arm64.deb",
        "forky/main/binary-arm64/Packages.xz",
        "forky/main/binary-amd64/Packages.xz",
    } <= rooted_pins
    sdist_statement = loose / f"{sdist}.intoto.jsonl"
    assert _recorded_pins(json.loads(sdist_statement.read_text())) == _graph_pins(
        clone, deps["numpy_src:sdist"], peeked
    )
