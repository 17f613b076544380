"""Every place a pin is written agrees with 3rdparty/artifacts.json, the store's manifest."""

from __future__ import annotations

import json
import re
from pathlib import Path

from build_defs.bootstrap import requirement_sets, store

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


def resolve_problems(root: Path) -> list[str]:
    """What is missing or wrong among the five places of each locked requirement set
    (`build_defs/bootstrap/requirement_sets.py`), one line each, naming the place and the
    command that writes it."""
    import toml  # pants: no-infer-dep
    from packaging.specifiers import SpecifierSet  # pants: no-infer-dep

    sets = json.loads((root / "3rdparty/artifacts.json").read_text())["sets"]
    marked = {name for name, spec in sets.items() if spec.get("pants_resolve")}
    python = toml.loads((root / "pants.toml").read_text())["python"]
    build_text = (root / "3rdparty/python/BUILD").read_text()
    targets = dict(
        re.findall(
            r'python_requirements\(\s*name="([^"]+)",\s*source="[^"]+",\s*resolve="([^"]+)"',
            build_text,
        )
    )
    problems = []
    if build_text.count("python_requirements(") != len(targets):
        problems.append("3rdparty/python/BUILD: a python_requirements target in another form")
    fix = "run `pin.py requirements {name} --python ...` (docs/pins-and-bumping.md)"
    places = {
        f"pants.toml [{table}]": set(python.get(table.split(".", 1)[1], {}))
        for table in requirement_sets.TOML_TABLES
    }
    places["3rdparty/python/BUILD python_requirements"] = {
        name for name, resolve in targets.items() if name == resolve
    }
    for place, names in places.items():
        for name in sorted(marked - names):
            problems.append(f"{name}: missing from {place}; {fix.format(name=name)}")
        for name in sorted(names - marked):
            problems.append(f"{name}: in {place} but not a pants_resolve set of artifacts.json")
    for name in sorted(marked):
        spec = sets[name]
        expected = {
            "resolves": f"3rdparty/python/{name}.lock",
            "resolves_to_constraints_file": f"3rdparty/python/{name}.constraints.txt",
        }
        for table, path in expected.items():
            if python.get(table, {}).get(name, path) != path:
                problems.append(f"{name}: [python.{table}] names {python[table][name]}, not {path}")
            if not (root / path).is_file():
                problems.append(f"{name}: {path} does not exist; {fix.format(name=name)}")
        if spec["requirements"] != f"3rdparty/python/{name}.in":
            problems.append(f"{name}: its requirements are not 3rdparty/python/{name}.in")
        constraints = [
            SpecifierSet(c.replace("CPython", ""))
            for c in python.get("resolves_to_interpreter_constraints", {}).get(name, ())
        ]
        for version in spec["pythons"]:
            if not any(f"{version}.0" in c for c in constraints):
                problems.append(f"{name}: CPython {version} is outside its interpreter constraints")
    return problems


def test_every_requirement_set_is_a_complete_pants_resolve_and_vice_versa() -> None:
    """A set marked `pants_resolve` in artifacts.json has all five places, and every resolve
    is such a set."""
    assert resolve_problems(ROOT) == []


def test_a_missing_place_is_named_with_the_command_that_writes_it(tmp_path: Path) -> None:
    """The check fails on each place, here the constraints file entry of pants.toml."""
    for path in ("pants.toml", "3rdparty/artifacts.json", "3rdparty/python/BUILD"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text((ROOT / path).read_text())
    for lock in (ROOT / "3rdparty/python").glob("*.lock"):
        (tmp_path / "3rdparty/python" / lock.name).write_text("")
    for constraints in (ROOT / "3rdparty/python").glob("*.constraints.txt"):
        (tmp_path / "3rdparty/python" / constraints.name).write_text("")
    assert resolve_problems(tmp_path) == []
    toml_path = tmp_path / "pants.toml"
    toml_path.write_text(
        toml_path.read_text().replace('build = "3rdparty/python/build.constraints.txt"\n', "")
    )
    assert resolve_problems(tmp_path) == [
        "build: missing from pants.toml [python.resolves_to_constraints_file]; "
        "run `pin.py requirements build --python ...` (docs/pins-and-bumping.md)"
    ]


def test_declaring_a_set_writes_every_place_and_again_changes_nothing(tmp_path: Path) -> None:
    for path in ("pants.toml", "3rdparty/artifacts.json", "3rdparty/python/BUILD"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text((ROOT / path).read_text())
    changed = requirement_sets.declare(
        tmp_path, "my-set", ["3.12", "3.13"], ["pybind11==3.0.1"], ["linux_x86_64"]
    )
    assert sorted(changed) == [
        "3rdparty/artifacts.json",
        "3rdparty/python/BUILD",
        "3rdparty/python/my-set.in",
        "pants.toml",
    ]
    for path in ("3rdparty/python/my-set.lock", "3rdparty/python/my-set.constraints.txt"):
        (tmp_path / path).write_text("")
    for lock in (ROOT / "3rdparty/python").glob("*.lock"):
        (tmp_path / "3rdparty/python" / lock.name).write_text("")
    for constraints in (ROOT / "3rdparty/python").glob("*.constraints.txt"):
        (tmp_path / "3rdparty/python" / constraints.name).write_text("")
    assert resolve_problems(tmp_path) == []
    text = (tmp_path / "pants.toml").read_text()
    assert 'my-set = ["CPython>=3.12,<3.14"]' in text
    assert "pybind11==3.0.1" in (tmp_path / "3rdparty/python/my-set.in").read_text()
    # Again, with the same arguments: nothing to write. With other requirements: the .in only.
    assert (
        requirement_sets.declare(
            tmp_path, "my-set", ["3.12", "3.13"], ["pybind11==3.0.1"], ["linux_x86_64"]
        )
        == []
    )
    assert requirement_sets.declare(
        tmp_path, "my-set", ["3.12", "3.13"], ["pybind11==3.1.0"], ["linux_x86_64"]
    ) == ["3rdparty/python/my-set.in"]
    assert (tmp_path / "pants.toml").read_text() == text
