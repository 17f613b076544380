"""Maintainer tool: resolve a requirement set and pin every file it needs.

    python build_defs/bootstrap/pin.py [--upgrade] [--allow-expired-debian-index] [SET ...]
    python build_defs/bootstrap/pin.py sdist NAME==VERSION
    python build_defs/bootstrap/pin.py requirements SET --python 3.12 [--python 3.13]
        [--platform all | --platform linux_x86_64 ...] [REQUIREMENT ...]

`requirements SET ...` creates (or updates) a locked requirement set end to end: its `.in`
file, its entry in the manifest, its three `pants.toml` entries and its
`python_requirements` target (`requirement_sets.py` says why five places), then pins it,
fetches every platform's files and writes its Pants lockfile. Without requirements it keeps
the `.in` file and re-pins it.

`sdist NAME==VERSION` pins a project's source archive: it adds a set `<name>-source` to
the manifest, fetches and verifies the file into the store, and prints a ready-to-paste
`source_release(...)` whose `source_date_epoch` is the file's upload time on the index.

For each set declared in `3rdparty/artifacts.json` ("sets"), this resolves the
set's `.in` file with pip (binary wheels only, for each CPython version the set
targets, on this platform), then completes it for every other platform the set lists
("platforms"): the same versions, each platform-specific wheel replaced by the index's
best wheel of that version for the platform (a source archive only for projects in
the set's "sdist_fallback", fetched only there). It writes the hashed requirement file
next to the `.in` file and records every file (name, sha256, size) in the manifest's
"artifacts". Single files (e.g. an sdist) are pinned through the index's JSON simple API.

Run it with CPython 3.9, the interpreter `./pants` runs on: pip decides environment
markers differently under other versions, and the pins would move. After pinning,
`store.py ensure --platform all` fetches every platform's files, so that
`pants generate-lockfiles` writes lockfiles for all of them.

Only pip's index is consulted (PIP_INDEX_URL or pip's configuration); local
find-links and extra indexes are ignored so that every pinned file can be
fetched again by `store.py` on another machine.

It is one maintainer tool of about 460 lines: Python sets, single files and Debian sets
are three commands of it that share the manifest's reading and writing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import debian  # noqa: E402  # pants: no-infer-dep (a sibling script; BUILD names it)
import debian_release  # noqa: E402  # pants: no-infer-dep (a sibling script; BUILD names it)
import requirement_sets  # noqa: E402  # pants: no-infer-dep (a sibling script; BUILD names it)
import store  # noqa: E402  # pants: no-infer-dep (a sibling script; BUILD names it)
import wheel_tags  # noqa: E402  # pants: no-infer-dep (a sibling script; BUILD names it)

ROOT = Path(__file__).resolve().parents[2]
UPGRADE = False  # `--upgrade`: let pip move the versions the `.in` files do not pin
ALLOW_EXPIRED = False  # `--allow-expired-debian-index`: apt's Check-Valid-Until=no
MANIFEST = ROOT / "3rdparty" / "artifacts.json"


def set_pythons(spec: dict) -> list[str]:
    """The CPythons a requirement set is pinned for: its `pythons` (which its Pants lockfile
    covers) and its `root_pythons` (CPythons run in a root file system, newer than the pinned
    pex can lock for: they install the set's pinned files directly)."""
    return [*spec["pythons"], *spec.get("root_pythons", [])]


def name_version(filename: str) -> tuple[str, str]:
    """(normalised project, version) of a wheel or source archive, from its file name."""
    if filename.endswith(".whl"):
        name, version = filename.split("-")[:2]
    else:
        m = re.match(r"(.+)-([0-9][^-]*)\.(tar\.gz|zip)$", filename)
        if not m:
            raise SystemExit(f"cannot parse sdist name {filename}")
        name, version = m.group(1), m.group(2)
    return store.normalize(name), version


def _requirements_for(path: Path, plat: wheel_tags.Platform) -> str:
    """The set's requirements with their `sys_platform` / `platform_machine` markers
    decided for `plat` (other markers are left to pip). Only top-level markers are
    decided: a dependency that exists only on another platform must be listed there."""
    from pip._vendor.packaging.requirements import (
        Requirement,  # type: ignore  # pants: no-infer-dep (pip comes with CPython)
    )

    env = plat.marker_env()
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        if req.marker is not None and any(k in str(req.marker) for k in env):
            if not req.marker.evaluate(env):
                continue
            req.marker = None
        lines.append(str(req))
    return "\n".join(lines) + "\n"


def _constraints(spec: dict, requirements: str) -> str:
    """The versions the set's hashed file pins today, for every project its `.in` does
    not name: re-pinning (e.g. to add a platform) moves nothing else. `--upgrade` drops them."""
    out = ROOT / spec["output"]
    if UPGRADE or not out.is_file():
        return ""
    named = {
        store.normalize(re.split(r"[\s;=<>!~\[]", line, 1)[0])
        for line in requirements.splitlines()
        if line
    }
    pins = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", out.read_text(), re.M)
    return "".join(f"{p}=={v}\n" for p, v in pins if store.normalize(p) not in named)


def _download(
    name: str, requirements: str, py: str, index: str, dest: Path, constraints: str = ""
) -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL")
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    req_file = dest.with_suffix(".in")
    req_file.write_text(requirements)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--index-url",
        index,
        "--only-binary=:all:",
        "--python-version",
        py,
        "--implementation",
        "cp",
        "-d",
        str(dest),
        "-r",
        str(req_file),
    ]
    if constraints:
        constraints_file = dest.with_suffix(".constraints")
        constraints_file.write_text(constraints)
        cmd += ["-c", str(constraints_file)]
    print(f"pin: resolving {name} for CPython {py}", file=sys.stderr)
    subprocess.run(cmd, check=True, env=env)


def _index_entry(filename: str, project: str, entry: dict) -> dict:
    size = int(entry.get("size") or 0)
    if not size:
        raise SystemExit(f"pin: the index gives no size for {filename}")
    return {
        "project": store.normalize(project),
        "version": name_version(filename)[1],
        "filename": filename,
        "sha256": entry["hashes"]["sha256"],
        "size": size,
    }


def complete_for_platform(
    name: str,
    spec: dict,
    plat: wheel_tags.Platform,
    closure: dict[str, Path],
    fetcher: store.Fetcher,
) -> list[dict]:
    """The files `plat` needs for a closure resolved on this host: pure wheels as they
    are, and for each platform-specific one the best wheel of the same version the index
    has for `plat` and each CPython of the set, or (for projects the set allows, e.g.
    ones that publish no such wheel) the source archive, fetched only on `plat`."""
    entries = []
    fallback = set(spec.get("sdist_fallback", ()))
    by_project: dict[tuple[str, str], list[str]] = {}
    for filename in closure:
        by_project.setdefault(name_version(filename), []).append(filename)
    for (project, version), filenames in sorted(by_project.items()):
        if not any(wheel_tags.is_platform_specific(f) for f in filenames):
            continue
        _, page = fetcher.project_page(project)
        files = [
            e
            for e in page.get("files", [])
            if not e.get("yanked")
            and e["filename"].endswith((".whl", ".tar.gz", ".zip"))
            and name_version(e["filename"]) == (project, version)
        ]
        for py in set_pythons(spec):
            ranked = [
                (wheel_tags.rank_on(e["filename"], plat, py), e)
                for e in files
                if e["filename"].endswith(".whl")
            ]
            ranked = [(r, e) for r, e in ranked if r is not None]
            if ranked:
                best = max(ranked, key=lambda re_: (re_[0], re_[1]["filename"]))[1]
                entries.append({**_index_entry(best["filename"], project, best), "sets": [name]})
                continue
            sdists = [e for e in files if not e["filename"].endswith(".whl")]
            if project in fallback and sdists:
                entries.append(
                    {
                        **_index_entry(sdists[0]["filename"], project, sdists[0]),
                        "sets": [name],
                        "platforms": [plat.name],
                    }
                )
                continue
            raise SystemExit(
                f"pin: {project} {version} has no wheel for {plat.name} and CPython {py} on the index.\n"
                f"  Pin another version in {spec['requirements']}, or (if it builds from source there) "
                f"add {project!r} to the set's sdist_fallback in 3rdparty/artifacts.json."
            )
    return entries


def resolve_set(
    name: str,
    spec: dict,
    index: str,
    platforms: dict[str, wheel_tags.Platform],
    fetcher: store.Fetcher,
) -> list[dict]:
    """Resolve on this host (binary wheels, each CPython of the set), then complete the
    closure for every other platform the set is pinned for."""
    host = wheel_tags.host_store_platform_name()
    wanted = spec.get("platforms", [host])
    unknown = [p for p in wanted if p not in platforms]
    if unknown:
        raise SystemExit(
            f"pin: set {name} names undeclared platform(s) {unknown}; declared: {sorted(platforms)}"
        )
    found: dict[str, Path] = {}
    extra: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for plat_name in sorted(set(wanted) | {host}, key=lambda p: p != host):
            plat = platforms[plat_name]
            closure: dict[str, Path] = {}
            requirements = _requirements_for(ROOT / spec["requirements"], plat)
            for py in set_pythons(spec):
                # Platforms whose markers select the same requirements share one download.
                key = hashlib.sha256(f"{py}\n{requirements}".encode()).hexdigest()[:16]
                dest = Path(tmp) / key
                if not dest.is_dir():
                    _download(name, requirements, py, index, dest, _constraints(spec, requirements))
                for f in dest.iterdir():
                    if f.suffix == ".whl":
                        closure.setdefault(f.name, f)
            if plat_name == host:
                if host in wanted:
                    found.update(closure)
            else:
                extra += complete_for_platform(name, spec, plat, closure, fetcher)
                found.update(
                    {f: p for f, p in closure.items() if not wheel_tags.is_platform_specific(f)}
                )
        entries = []
        for filename, path in sorted(found.items()):
            digest, size = store.sha256_of(path)
            project, version = name_version(filename)
            entries.append(
                {
                    "project": project,
                    "version": version,
                    "filename": filename,
                    "sha256": digest,
                    "size": size,
                    "sets": [name],
                }
            )
    seen = {e["filename"]: e for e in entries}
    for e in extra:
        if e["filename"] not in seen:
            seen[e["filename"]] = e
            entries.append(e)
        elif "platforms" in e and "platforms" in seen[e["filename"]]:
            seen[e["filename"]]["platforms"] = sorted(
                set(seen[e["filename"]]["platforms"]) | set(e["platforms"])
            )
    versions: dict[str, str] = {}
    for e in entries:
        if versions.setdefault(e["project"], e["version"]) != e["version"]:
            raise SystemExit(
                f"pin: set {name} resolves {e['project']} to {versions[e['project']]} "
                f"and {e['version']} on different platforms; pin one version in {spec['requirements']}"
            )
    out = ROOT / spec["output"]
    by_req: dict[tuple[str, str], list[str]] = {}
    for e in entries:
        by_req.setdefault((e["project"], e["version"]), []).append(e["sha256"])
    lines = [
        f"# Generated by build_defs/bootstrap/pin.py from {spec['requirements']}"
        f" (CPython {', '.join(set_pythons(spec))}; {', '.join(wanted)}). Do not edit.",
    ]
    for (project, version), hashes in sorted(by_req.items()):
        lines.append(f"{project}=={version} \\")
        hashes = sorted(hashes)
        lines.extend(
            f"    --hash=sha256:{h}" + (" \\" if i < len(hashes) - 1 else "")
            for i, h in enumerate(hashes)
        )
    out.write_text("\n".join(lines) + "\n")
    if spec.get("pants_resolve"):
        # pip refuses hashes in a constraints file (they turn on --require-hashes), so
        # `pants generate-lockfiles` gets the versions alone.
        constraints = out.with_name(out.name.replace(".txt", ".constraints.txt"))
        constraints.write_text(
            f"# Generated by build_defs/bootstrap/pin.py: the versions of {out.name}, for "
            f"[python.resolves_to_constraints_file]. Do not edit.\n"
            + "".join(f"{p}=={v}\n" for p, v in sorted(by_req))
        )
    return entries


def pin_file(name: str, spec: dict, fetcher: store.Fetcher) -> list[dict]:
    """One distribution file (e.g. an sdist) chosen by its exact filename."""
    page_url, page = fetcher.project_page(spec["project"], spec["filename"])
    for entry in page.get("files", []):
        if entry["filename"] == spec["filename"]:
            art = store.Artifact(
                spec["project"],
                spec["filename"],
                entry["hashes"]["sha256"],
                int(entry.get("size") or 0),
                (name,),
            )
            if not art.size:
                raise SystemExit(f"the index gives no size for {spec['filename']}")
            return [
                {
                    "project": store.normalize(art.project),
                    "version": spec.get("version", ""),
                    "filename": art.filename,
                    "sha256": art.sha256,
                    "size": art.size,
                    "sets": [name],
                }
            ]
    raise SystemExit(f"{spec['filename']} is not listed by the index")


def find_sdist(requirement: str, fetcher: store.Fetcher) -> dict:
    """The index's entry for the source archive of `NAME==VERSION`."""
    name, sep, version = requirement.partition("==")
    if not sep or not name or not version:
        raise SystemExit(f"pin: give the source as NAME==VERSION, not {requirement!r}")
    _, page = fetcher.project_page(name)
    for entry in page.get("files", []):
        filename = entry.get("filename", "")
        if filename.endswith((".tar.gz", ".zip")) and name_version(filename) == (
            store.normalize(name),
            version,
        ):
            return entry
    raise SystemExit(f"pin: the index lists no source archive of {name} {version}")


def _epoch(upload_time: str) -> int:
    return int(datetime.fromisoformat(upload_time.replace("Z", "+00:00")).timestamp())


def pin_sdist(
    requirement: str, manifest_path: Path, fetcher: store.Fetcher, target: store.Store
) -> str:
    """Pin, fetch and verify a source archive; return the BUILD snippet that declares it."""
    entry = find_sdist(requirement, fetcher)
    name, _, version = requirement.partition("==")
    filename, sha256, size = (
        entry["filename"],
        entry["hashes"]["sha256"],
        int(entry.get("size") or 0),
    )
    if not size or not entry.get("upload-time"):
        raise SystemExit(f"pin: the index gives no size or upload time for {filename} (PEP 700)")
    manifest = json.loads(manifest_path.read_text())
    set_name = f"{store.normalize(name)}-source"
    manifest["sets"][set_name] = {
        "project": store.normalize(name),
        "version": version,
        "filename": filename,
    }
    record = {
        "project": store.normalize(name),
        "version": version,
        "filename": filename,
        "sha256": sha256,
        "size": size,
        "sets": [set_name],
    }
    manifest["artifacts"] = sorted(
        [a for a in manifest["artifacts"] if a["filename"] != filename] + [record],
        key=lambda a: (a["project"], a["filename"]),
    )
    target.ensure([store.Artifact.from_json(record)], fetcher=fetcher)
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    q = json.dumps
    return (
        f"source_release(\n"
        f"    name={q(store.normalize(name))},\n"
        f"    version={q(version)},\n"
        f"    filename={q(filename)},\n"
        f"    sha256={q(sha256)},\n"
        f"    size={size},\n"
        f"    # {entry['upload-time']}, when the index received it: every archive carries this time.\n"
        f"    source_date_epoch={_epoch(entry['upload-time'])},\n"
        f")\n"
    )


def requirements_command(argv: list[str]) -> int:
    """`pin.py requirements SET --python X [--platform P | all] [REQUIREMENT ...]`."""
    usage = (
        "usage: pin.py requirements SET --python 3.12 [--python 3.13] "
        "[--platform all | --platform NAME ...] [REQUIREMENT ...]"
    )
    if not argv or argv[0].startswith("-"):
        raise SystemExit(usage)
    name, rest = argv[0], argv[1:]
    pythons: list[str] = []
    platforms: list[str] = []
    requirements: list[str] = []
    while rest:
        arg = rest.pop(0)
        if arg in ("--python", "--platform"):
            if not rest:
                raise SystemExit(f"pin: {arg} needs a value\n{usage}")
            (pythons if arg == "--python" else platforms).append(rest.pop(0))
        elif arg.startswith("-"):
            raise SystemExit(f"pin: unknown option {arg}\n{usage}")
        else:
            requirements.append(arg)
    if not pythons:
        raise SystemExit(f"pin: name the CPython versions of the set with --python\n{usage}")
    declared = sorted(store.platforms_of(json.loads(MANIFEST.read_text())))
    if platforms == ["all"]:
        platforms = declared
    unknown = [p for p in platforms if p not in declared]
    if unknown:
        raise SystemExit(f"pin: unknown platform(s) {unknown}; declared: {declared}")
    try:
        changed = requirement_sets.declare(ROOT, name, pythons, requirements or None, platforms)
    except ValueError as e:
        raise SystemExit(f"pin: {e}")
    for path in changed:
        print(f"pin: wrote {path}", file=sys.stderr)
    main([name])
    # Every platform's files, so that the lockfile lists all of them; then the lockfile.
    subprocess.run(
        [sys.executable, str(Path(store.__file__)), "ensure", "--manifest", str(MANIFEST)]
        + ["--set", name, "--platform", "all"],
        check=True,
    )
    subprocess.run([str(ROOT / "pants"), "generate-lockfiles", f"--resolve={name}"], check=True)
    print(
        f'pin: set {name} is ready: depend on "3rdparty/python:{name}" (its requirements are '
        f'"3rdparty/python:{name}#<project>")',
        file=sys.stderr,
    )
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["requirements"]:
        return requirements_command(argv[1:])
    if argv[:1] == ["sdist"]:
        if len(argv) != 2:
            raise SystemExit("usage: pin.py sdist NAME==VERSION")
        snippet = pin_sdist(
            argv[1], MANIFEST, store.Fetcher(), store.Store(store.default_store_dir())
        )
        print("pin: pinned and fetched; add this to the project's BUILD file:\n", file=sys.stderr)
        print(snippet, end="")
        return 0
    global UPGRADE, ALLOW_EXPIRED
    if sys.version_info[:2] != (3, 9):
        raise SystemExit(
            "pin: run this with CPython 3.9, as ./pants does (pip's marker decisions depend on it)"
        )
    if "--upgrade" in argv:
        UPGRADE = True
        argv = [a for a in argv if a != "--upgrade"]
    if debian_release.EXPIRED_FLAG in argv:
        ALLOW_EXPIRED = True
        argv = [a for a in argv if a != debian_release.EXPIRED_FLAG]
    manifest = json.loads(MANIFEST.read_text())
    sets = manifest["sets"]
    wanted = argv or sorted(sets)
    unknown = [w for w in wanted if w not in sets]
    if unknown:
        raise SystemExit(f"unknown set(s) {unknown}; known: {sorted(sets)}")
    index = store.index_url()
    fetcher = store.Fetcher(index)
    platforms = store.platforms_of(manifest)
    arts = []
    for a in manifest["artifacts"]:
        a["sets"] = [s for s in a["sets"] if s not in wanted]
        if a["sets"]:
            arts.append(a)
    for name in wanted:
        spec = sets[name]
        if "filename" in spec:
            new = pin_file(name, spec, fetcher)
        elif "debian" in spec:
            try:
                new, record = debian.resolve_set(name, spec, allow_expired=ALLOW_EXPIRED)
            except (debian.DebianError, debian_release.ReleaseError) as e:
                raise SystemExit(f"pin: set {name}: {e}")
            # Which signed index vouched for these pins (and whether it had expired).
            spec["signed_index"] = record
            # Fetched now, so a pin that the mirror cannot serve fails here, not in a build.
            store.Store(store.default_store_dir()).ensure(
                [store.Artifact.from_json(e) for e in new], fetcher
            )
        else:
            new = resolve_set(name, spec, index, platforms, fetcher)
        # One file can belong to several sets: merge by sha256.
        for e in new:
            same = next((a for a in arts if a["sha256"] == e["sha256"]), None)
            if same:
                same["sets"] = sorted(set(same["sets"]) | set(e["sets"]))
                if "platforms" in same:
                    if "platforms" in e:
                        same["platforms"] = sorted(set(same["platforms"]) | set(e["platforms"]))
                    else:
                        del same["platforms"]
            else:
                arts.append(e)
    manifest["artifacts"] = sorted(arts, key=lambda a: (a["project"], a["filename"]))
    MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    print(
        f"pin: {len(manifest['artifacts'])} artifacts in {MANIFEST.relative_to(ROOT)}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
