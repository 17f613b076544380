"""Debian packages as pinned artifacts: find apt's mirror, read a suite's package index,
and resolve a set of packages (optionally with everything they depend on) to pinned files.

A set in `3rdparty/artifacts.json` is a Debian set when it has a `"debian"` entry:

    "debian": {"suite": "trixie", "architecture": "arm64",
               "packages": ["libpython3.13-dev"], "closure": false, "exclude": []}

A set of source packages names `"sources"` instead of `"architecture"` and `"packages"`:

    "debian": {"suite": "trixie", "sources": {"python3.13": ["orig.tar.xz", "orig.tar.xz.asc"]}}

Each source package's files whose names end in one of the listed suffixes are pinned (upstream's
archive, its signature), found through the suite's `Sources` index the same way.

`pin.py` resolves it through `resolve_set` (each package's `Filename`, `SHA256` and `Size`
from the suite's `Packages` index, read only once it matches the suite's signed `InRelease`:
`debian_release.py`); `store.py` fetches each file from the mirror apt is
configured to use, verified against its pin like every other artifact. No mirror is
written in the repository: `NUMPY_RELEASE_DEBIAN_MIRROR`, else the first `URIs:` of
`/etc/apt/sources.list.d/*.sources`, else the first `deb` line of `/etc/apt/sources.list`.

A mirror keeps only each suite's current version of a package: when Debian updates one,
its old file leaves the pool, and its pin must be renewed (`pin.py SET`) or the mirror
pointed at a snapshot of the archive. Standard library only, like the rest of the bootstrap.
"""

from __future__ import annotations

import glob
import lzma
import os
import re
import urllib.request
from dataclasses import dataclass
from pathlib import Path

try:
    from .debian_release import Trust, VerifiedRelease, check_index, verify_inrelease
except ImportError:  # run as a script's sibling, before any venv exists
    # Pants reads each imported name's own line: every one says it is not a dependency.
    from debian_release import (  # type: ignore[no-redef]  # isort: skip
        Trust,  # pants: no-infer-dep
        VerifiedRelease,  # pants: no-infer-dep
        check_index,  # pants: no-infer-dep
        verify_inrelease,  # pants: no-infer-dep
    )

MIRROR_ENV = "NUMPY_RELEASE_DEBIAN_MIRROR"


class DebianError(Exception):
    pass


def _deb822_uris(text: str) -> list[str]:
    return [
        line.split(":", 1)[1].split()[0] for line in text.splitlines() if line.startswith("URIs:")
    ]


def _one_line_uris(text: str) -> list[str]:
    uris = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if words[:1] == ["deb"]:
            words = [w for w in words[1:] if not w.startswith("[")]
            if words:
                uris.append(words[0])
    return uris


def mirror(apt_dir: str = "/etc/apt") -> str:
    """The Debian mirror apt uses (its security mirror carries no main archive: skipped)."""
    if os.environ.get(MIRROR_ENV):
        return os.environ[MIRROR_ENV].rstrip("/") + "/"
    uris = []
    for path in sorted(glob.glob(f"{apt_dir}/sources.list.d/*.sources")):
        uris += _deb822_uris(Path(path).read_text())
    if os.path.exists(f"{apt_dir}/sources.list"):
        uris += _one_line_uris(Path(f"{apt_dir}/sources.list").read_text())
    uris = [u for u in uris if "security" not in u]
    if not uris:
        raise DebianError(
            f"no Debian mirror is configured: apt has none under {apt_dir}; set {MIRROR_ENV} "
            "to the mirror's base (the directory that holds dists/ and pool/)."
        )
    return uris[0].rstrip("/") + "/"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    architecture: str
    filename: str  # the pool path
    sha256: str
    size: int
    depends: str
    provides: str


def _stanzas(text: str) -> list[dict[str, str]]:
    """Deb822 stanzas; a continuation line is kept on its own line."""
    out = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields:
            out.append(fields)
    return out


def parse_packages(text: str) -> dict[str, Package]:
    """A `Packages` index, by package name (the last stanza of a name wins)."""
    out: dict[str, Package] = {}
    for fields in _stanzas(text):
        if "Package" not in fields or "Filename" not in fields:
            continue
        relations = (fields.get("Pre-Depends"), fields.get("Depends"))
        out[fields["Package"]] = Package(
            name=fields["Package"],
            version=fields["Version"],
            architecture=fields["Architecture"],
            filename=fields["Filename"],
            sha256=fields["SHA256"],
            size=int(fields["Size"]),
            depends=", ".join(" ".join(v.split()) for v in relations if v),
            provides=" ".join(fields.get("Provides", "").split()),
        )
    return out


@dataclass(frozen=True)
class SourcePackage:
    name: str
    version: str
    directory: str  # the pool directory of its files
    files: tuple[tuple[str, str, int], ...]  # (filename, sha256, size)


def parse_sources(text: str) -> dict[str, SourcePackage]:
    """A `Sources` index, by source package name. A suite can list one name twice (its point
    release and a security update of it); the later stanza wins, as in `parse_packages`."""
    out: dict[str, SourcePackage] = {}
    for fields in _stanzas(text):
        if "Package" not in fields or "Checksums-Sha256" not in fields:
            continue
        files = []
        for line in fields["Checksums-Sha256"].splitlines():
            words = line.split()
            if len(words) == 3:
                files.append((words[2], words[0], int(words[1])))
        out[fields["Package"]] = SourcePackage(
            fields["Package"], fields["Version"], fields["Directory"], tuple(files)
        )
    return out


def source_entries(name: str, spec: dict, index: dict[str, SourcePackage]) -> list[dict]:
    """The manifest entries of a source set: each listed package's files with a listed suffix."""
    entries = []
    for package, suffixes in sorted(spec["debian"]["sources"].items()):
        if package not in index:
            raise DebianError(
                f"{name}: source package {package} is not in {spec['debian']['suite']}"
            )
        chosen = [f for f in index[package].files if f[0].endswith(tuple(suffixes))]
        missing = [s for s in suffixes if not any(f[0].endswith(s) for f in chosen)]
        if missing:
            raise DebianError(
                f"{name}: source package {package} {index[package].version} has no file ending "
                f"in {', '.join(missing)} (it has {', '.join(f[0] for f in index[package].files)})"
            )
        entries += [
            {
                "project": package,
                "filename": filename,
                "sha256": sha256,
                "size": size,
                "sets": [name],
                "platforms": list(spec["platforms"]),
                "debian_path": f"{index[package].directory}/{filename}",
                "debian_version": index[package].version,
            }
            for filename, sha256, size in chosen
        ]
    return entries


def _names(relation: str) -> list[list[str]]:
    """`a (>= 1) | b, c:any` -> [["a", "b"], ["c"]]: versions are the archive's business,
    one suite holds one version of each package."""
    groups = []
    for group in relation.split(","):
        alts = [
            re.sub(r"\s*\(.*?\)|\s*\[.*?\]|\s*<.*?>", "", alt).strip().split(":")[0]
            for alt in group.split("|")
        ]
        alts = [a for a in alts if a]
        if alts:
            groups.append(alts)
    return groups


def closure(index: dict[str, Package], roots: list[str], exclude: list[str]) -> list[Package]:
    """`roots` and everything they depend on (first alternative the index holds, a real
    package before a virtual one), less `exclude` and what only they pull in."""
    provided: dict[str, str] = {}
    for pkg in index.values():
        for group in _names(pkg.provides):
            provided.setdefault(group[0], pkg.name)
    chosen: dict[str, Package] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in chosen or name in exclude:
            continue
        if name not in index:
            raise DebianError(f"package {name} is not in the suite's index")
        chosen[name] = index[name]
        for alts in _names(index[name].depends):
            if any(a in chosen or a in exclude for a in alts):
                continue
            pick = next((a for a in alts if a in index), None) or next(
                (provided[a] for a in alts if a in provided), None
            )
            if pick is None:
                raise DebianError(
                    f"{name} depends on {' | '.join(alts)}, which the suite's index does not hold"
                )
            todo.append(pick)
    return sorted(chosen.values(), key=lambda p: p.name)


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as resp:
        return resp.read()


def verified_release(
    base: str, suite: str, trust: Trust | None = None, *, allow_expired: bool = False
) -> VerifiedRelease:
    """The suite's `InRelease` from the mirror, its signature verified (`debian_release.py`)."""
    try:
        data = _get(f"{base}dists/{suite}/InRelease")
    except OSError as e:
        raise DebianError(f"reading {suite}'s InRelease from apt's mirror failed: {e}") from e
    return verify_inrelease(data, suite, trust or Trust.debian(suite), allow_expired=allow_expired)


def verified_index(
    base: str, suite: str, path: str, *, trust: Trust | None = None, allow_expired: bool = False
) -> tuple[str, dict]:
    """An index file of a suite (`main/binary-arm64/Packages.xz`, `main/source/Sources.xz`),
    decompressed, read only once it matches its line in the verified `InRelease`; with the
    record of that chain, for the manifest. Every reader of a Debian index goes through here."""
    release = verified_release(base, suite, trust, allow_expired=allow_expired)
    try:
        data = _get(f"{base}dists/{suite}/{path}")
    except OSError as e:
        raise DebianError(f"reading {suite}'s {path} from apt's mirror failed: {e}") from e
    index_sha256 = check_index(release, path, data)
    return lzma.decompress(data).decode("utf-8"), release.record(path, index_sha256)


def fetch_index(
    base: str,
    suite: str,
    architecture: str,
    component: str = "main",
    *,
    trust: Trust | None = None,
    allow_expired: bool = False,
) -> tuple[dict[str, Package], dict]:
    """A suite's binary `Packages` index, through the signed chain."""
    text, record = verified_index(
        base,
        suite,
        f"{component}/binary-{architecture}/Packages.xz",
        trust=trust,
        allow_expired=allow_expired,
    )
    return parse_packages(text), record


def resolve_set(
    name: str, spec: dict, *, trust: Trust | None = None, allow_expired: bool = False
) -> tuple[list[dict], dict]:
    """The manifest entries of a Debian set (one per .deb, with its pool path), and the
    record of the signed index they were read from."""
    deb = spec["debian"]
    if "sources" in deb:
        text, record = verified_index(
            mirror(),
            deb["suite"],
            "main/source/Sources.xz",
            trust=trust,
            allow_expired=allow_expired,
        )
        return source_entries(name, spec, parse_sources(text)), record
    index, record = fetch_index(
        mirror(), deb["suite"], deb["architecture"], trust=trust, allow_expired=allow_expired
    )
    if deb.get("closure"):
        packages = closure(index, deb["packages"], deb.get("exclude", []))
    else:
        missing = [p for p in deb["packages"] if p not in index]
        if missing:
            raise DebianError(f"{name}: {missing} not in {deb['suite']}/{deb['architecture']}")
        packages = [index[p] for p in deb["packages"]]
    entries = [
        {
            "project": p.name,
            "filename": p.filename.rsplit("/", 1)[1],
            "sha256": p.sha256,
            "size": p.size,
            "sets": [name],
            "platforms": list(spec["platforms"]),
            "debian_path": p.filename,
            "debian_version": p.version,
        }
        for p in packages
    ]
    return entries, record
