"""Every place a pin is written agrees with 3rdparty/artifacts.json, the store's manifest."""

from __future__ import annotations

import json
import re
from pathlib import Path

from build_defs.bootstrap import store

ROOT = Path.cwd()


def _manifest() -> dict[str, str]:
    return {a.filename: a.sha256 for a in store.load_manifest(ROOT / "3rdparty/artifacts.json")}


def _lock_entries(lockfile: Path) -> list[tuple[str, str]]:
    """(file name, sha256) of every artifact a Pants lockfile pins."""
    text = "\n".join(
        line for line in lockfile.read_text().splitlines() if not line.startswith("//")
    )
    entries = []
    for resolve in json.loads(text)["locked_resolves"]:
        for requirement in resolve["locked_requirements"]:
            for artifact in requirement["artifacts"]:
                assert artifact["algorithm"] == "sha256"
                assert artifact["url"].startswith("file://${WHEELHOUSE}/"), artifact["url"]
                entries.append((artifact["url"].rsplit("/", 1)[-1], artifact["hash"]))
    return entries


def test_every_lockfile_hash_matches_the_manifest() -> None:
    manifest = _manifest()
    lockfiles = sorted((ROOT / "3rdparty/python").glob("*.lock"))
    assert len(lockfiles) >= 4
    for lockfile in lockfiles:
        entries = _lock_entries(lockfile)
        assert entries, lockfile
        for filename, sha256 in entries:
            assert filename in manifest, f"{lockfile.name}: {filename} is not in artifacts.json"
            assert manifest[filename] == sha256, f"{lockfile.name}: {filename} has another sha256"


_PIN = re.compile(r'filename="([^"]+)",\s*sha256="([0-9a-f]{64})",\s*size=(\d+)')


def test_every_pin_in_a_build_file_matches_the_manifest() -> None:
    artifacts = {a.filename: a for a in store.load_manifest(ROOT / "3rdparty/artifacts.json")}
    pins = []
    for build_file in sorted(ROOT.glob("**/BUILD")):
        if "fixtures" in build_file.parts:
            continue
        text = build_file.read_text()
        found = [(build_file, *m.groups()) for m in _PIN.finditer(text)]
        # A pin written any other way would escape this check: refuse it.
        assert len(found) == text.count(
            "sha256="
        ), f"{build_file}: a pin not in filename/sha256/size form"
        pins += found
    # numpy's sdist, scipy-openblas64, ziglang: each declared once.
    assert len(pins) >= 3, pins
    for build_file, filename, sha256, size in pins:
        assert filename in artifacts, f"{build_file}: {filename} is not in artifacts.json"
        assert (artifacts[filename].sha256, artifacts[filename].size) == (
            sha256,
            int(size),
        ), f"{build_file}: {filename} pins another sha256/size than artifacts.json"


def test_every_requirement_set_is_a_complete_pants_resolve_and_vice_versa() -> None:
    """Pants 2.17 needs a resolve in four places; a set marked `pants_resolve` in
    artifacts.json must have all four, and every resolve must be such a set."""
    import toml  # pants: no-infer-dep
    from packaging.specifiers import SpecifierSet  # pants: no-infer-dep

    sets = json.loads((ROOT / "3rdparty/artifacts.json").read_text())["sets"]
    marked = {name for name, spec in sets.items() if spec.get("pants_resolve")}
    python = toml.loads((ROOT / "pants.toml").read_text())["python"]
    build_text = (ROOT / "3rdparty/python/BUILD").read_text()
    targets = dict(
        re.findall(
            r'python_requirements\(\s*name="([^"]+)",\s*source="[^"]+",\s*resolve="([^"]+)"',
            build_text,
        )
    )
    assert build_text.count("python_requirements(") == len(
        targets
    ), "a python_requirements target in another form"
    assert marked == set(python["resolves"]) == set(python["resolves_to_interpreter_constraints"])
    assert set(targets.values()) == marked and all(
        name == resolve for name, resolve in targets.items()
    )
    for name in marked:
        spec = sets[name]
        assert python["resolves"][name] == f"3rdparty/python/{name}.lock"
        assert (ROOT / python["resolves"][name]).is_file(), f"no lockfile for {name}"
        assert spec["requirements"] == f"3rdparty/python/{name}.in"
        constraints = [
            SpecifierSet(c.replace("CPython", ""))
            for c in python["resolves_to_interpreter_constraints"][name]
        ]
        for version in spec["pythons"]:
            assert any(
                f"{version}.0" in c for c in constraints
            ), f"{name}: CPython {version} outside its constraints"
