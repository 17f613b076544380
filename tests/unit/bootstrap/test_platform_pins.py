"""Every declared platform has every pinned file its graph needs, read from the files'
wheel tags: for each set pinned for a platform, each CPython of the set, and (for Pants
resolves) each requirement the lockfile reaches there through its markers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from build_defs.bootstrap import pin, store, wheel_tags

ROOT = Path.cwd()
MANIFEST = ROOT / "3rdparty/artifacts.json"


def _platforms() -> dict[str, wheel_tags.Platform]:
    return store.load_platforms(MANIFEST)


def _sets() -> dict[str, dict]:
    return json.loads(MANIFEST.read_text())["sets"]


def _usable(files: list[store.Artifact], plat: wheel_tags.Platform, python: str) -> list[str]:
    """Files of one project version that a `plat` host with CPython `python` can install."""
    out = []
    for art in files:
        if art.filename.endswith((".tar.gz", ".zip")):
            if plat.name in art.platforms:
                out.append(art.filename)
        elif art.used_on(plat) and wheel_tags.runs_on(art.filename, plat, python):
            out.append(art.filename)
    return out


def _marker_env(plat: wheel_tags.Platform, python: str) -> dict[str, str]:
    return {
        **plat.marker_env(),
        "os_name": "posix",
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "extra": "",
    }


def _lockfile(path: Path) -> tuple[list[str], dict[str, dict]]:
    text = "\n".join(line for line in path.read_text().splitlines() if not line.startswith("//"))
    lock = json.loads(text)
    (resolve,) = lock["locked_resolves"]
    return lock["requirements"], {
        store.normalize(r["project_name"]): r for r in resolve["locked_requirements"]
    }


def _reached(roots: list[str], locked: dict[str, dict], env: dict[str, str]) -> set[str]:
    """Projects a lockfile installs for one marker environment, following requires_dists."""
    from packaging.requirements import Requirement  # pants: no-infer-dep

    seen: set[str] = set()
    todo = [(r, "") for r in roots]
    while todo:
        text, extra = todo.pop()
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({**env, "extra": extra}):
            continue
        name = store.normalize(req.name)
        for wanted_extra in req.extras or {""}:
            key = f"{name}[{wanted_extra}]"
            if key in seen:
                continue
            seen.add(key)
            todo += [(dep, wanted_extra) for dep in locked[name]["requires_dists"]]
    return {k.split("[")[0] for k in seen}


def _coverage_problems(
    manifest: list[store.Artifact], sets: dict[str, dict], platforms: dict[str, wheel_tags.Platform]
) -> list[str]:
    by_version: dict[tuple[str, str], list[store.Artifact]] = {}
    for art in manifest:
        if not art.debian_path:  # Debian packages: pinned by name in their sets, not by wheel tags
            by_version.setdefault(pin.name_version(art.filename), []).append(art)
    problems = []
    for set_name, spec in sorted(sets.items()):
        if "requirements" not in spec:
            continue  # a single pinned file (an sdist) is usable everywhere
        for plat_name in spec.get("platforms", ["linux_x86_64"]):
            plat = platforms[plat_name]
            lockfile = ROOT / f"3rdparty/python/{set_name}.lock"
            # CPythons run in a root file system install the set's pinned files, on Linux.
            pythons = spec.get("root_pythons", []) if plat_name.startswith("linux") else []
            if spec.get("pants_resolve"):
                roots, locked = _lockfile(lockfile)
                for python in spec["pythons"]:
                    for project in sorted(_reached(roots, locked, _marker_env(plat, python))):
                        names = [a["url"].rsplit("/", 1)[-1] for a in locked[project]["artifacts"]]
                        arts = [a for a in manifest if a.filename in names]
                        if not _usable(arts, plat, python):
                            problems.append(
                                f"{lockfile.name}: {project} has no file for {plat_name}, CPython {python}"
                            )
                # The lockfile, not the hashed file, is what Pants installs from.
                if not pythons:
                    continue
            else:
                pythons = [*spec["pythons"], *pythons]
            pins = (ROOT / spec["output"]).read_text().splitlines()
            for line in pins:
                if "==" not in line or line.startswith("#"):
                    continue
                project, version = line.split(" ")[0].split("==")
                files = by_version.get((store.normalize(project), version), [])
                if not files:
                    problems.append(
                        f"{spec['output']}: {project}=={version} is not in artifacts.json"
                    )
                    continue
                for python in pythons:
                    if not _usable(files, plat, python):
                        problems.append(
                            f"{spec['output']}: {project}=={version} has no file for {plat_name}, CPython {python}"
                        )
    return problems


def test_each_declared_platform_has_every_file_its_sets_need() -> None:
    platforms = _platforms()
    # The four platforms Pants 2.17 runs on, and the musl ones wheels are built for here.
    pants_platforms = {"linux_x86_64", "linux_arm64", "macos_x86_64", "macos_arm64"}
    assert set(platforms) == pants_platforms | {"musllinux_x86_64", "musllinux_arm64"}
    assert {n for n, p in platforms.items() if p.libc == "musl"} == set(platforms) - pants_platforms
    sets = _sets()
    for name in ("pants-bootstrap", "pex-tool", "build", "repair", "zig", "evidence"):
        assert set(sets[name].get("platforms", ())) == pants_platforms, f"set {name}"
    assert set(sets["openblas"]["platforms"]) == set(platforms), "openblas is not pinned everywhere"
    problems = _coverage_problems(store.load_manifest(MANIFEST), sets, platforms)
    assert not problems, "\n".join(problems)


def test_a_missing_platform_file_is_reported() -> None:
    """The check above can fail: drop the macOS arm64 Pants wheel and it names it."""
    manifest = [
        a
        for a in store.load_manifest(MANIFEST)
        if "macosx_11_0_arm64" not in a.filename or not a.filename.startswith("pantsbuild.pants-")
    ]
    problems = _coverage_problems(manifest, _sets(), _platforms())
    assert any("pantsbuild" in p and "macos_arm64" in p for p in problems), problems
    assert not any("linux_x86_64" in p for p in problems), problems


def test_native_inputs_are_pinned_for_every_platform() -> None:
    """The platform wheels of our native inputs, as ../shared/reference lists them."""
    platforms = _platforms()
    manifest = store.load_manifest(MANIFEST)
    for project in ("pantsbuild.pants", "ziglang", "scipy_openblas64"):
        # Pants and zig run only where Pants runs; OpenBLAS is bundled into every wheel.
        for plat in platforms.values():
            if plat.libc == "musl" and project != "scipy_openblas64":
                continue
            found = [
                a.filename
                for a in manifest
                if a.filename.startswith(project + "-")
                and a.used_on(plat)
                and wheel_tags.is_platform_specific(a.filename)
            ]
            assert len(found) == 1, f"{project} on {plat.name}: {found}"


@pytest.mark.parametrize(
    "filename, plat, python, usable",
    [
        ("ninja-1.13.0-py3-none-macosx_10_9_universal2.whl", "macos_arm64", "3.12", True),
        ("ninja-1.13.0-py3-none-macosx_10_9_universal2.whl", "linux_x86_64", "3.12", False),
        ("cython-3.1.6-cp312-cp312-macosx_11_0_arm64.whl", "macos_arm64", "3.13", False),
        ("cython-3.1.6-cp312-cp312-macosx_11_0_arm64.whl", "macos_x86_64", "3.12", False),
        ("protobuf-6.33.6-cp39-abi3-manylinux2014_aarch64.whl", "linux_arm64", "3.13", True),
        ("ziglang-0.17.1-py3-none-macosx_13_0_arm64.whl", "macos_arm64", "3.12", True),
        (
            "x-1.0-cp312-cp312-macosx_15_0_arm64.whl",
            "macos_arm64",
            "3.12",
            False,
        ),  # newer than macos-14
        (
            "x-1.0-cp312-cp312-manylinux_2_39_x86_64.whl",
            "linux_x86_64",
            "3.12",
            False,
        ),  # newer than 22.04
        ("x-1.0-cp312-cp312-musllinux_1_2_x86_64.whl", "linux_x86_64", "3.12", False),
        ("x-1.0-cp312-cp312-musllinux_1_2_x86_64.whl", "musllinux_x86_64", "3.12", True),
        ("x-1.0-cp312-cp312-musllinux_1_2_aarch64.whl", "musllinux_x86_64", "3.12", False),
        ("x-1.0-cp312-cp312-musllinux_1_3_x86_64.whl", "musllinux_x86_64", "3.12", False),
        ("x-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", "musllinux_x86_64", "3.12", False),
        ("x-1.0-cp312-cp312-manylinux2014_aarch64.whl", "musllinux_arm64", "3.12", False),
        ("x-1.0-py3-none-any.whl", "macos_x86_64", "3.9", True),
    ],
)
def test_wheel_tags_decide_usability(filename: str, plat: str, python: str, usable: bool) -> None:
    assert wheel_tags.runs_on(filename, _platforms()[plat], python) is usable
