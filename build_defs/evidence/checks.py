"""Offline checks of release artifacts and their evidence, for `pants verify`.

Pure functions over bytes and parsed JSON: each returns the problems it found, as
sentences that name the file and the cause (an empty list means the check passed).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass

from pants.util.frozendict import FrozenDict

from build_defs.evidence.pinned_inputs import (
    ENGINE,
    INTERPRETER,
    LOCKED_DISTRIBUTION,
    PINNED_FILE,
    REPOSITORY,
    SIGNED_INDEX,
    PinnedInput,
    normalize_project,
)
from build_defs.evidence.provenance import HOST_SUFFIX, STATEMENT_SUFFIX
from build_defs.evidence.wheel_record import check_record, dist_info_dir

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
INDEX_FILES = ("SHA256SUMS", "manifest.json")


def is_artifact(name: str) -> bool:
    """A release file that is neither evidence nor an index."""
    return not name.endswith((STATEMENT_SUFFIX, HOST_SUFFIX)) and name not in INDEX_FILES


def parse_sums(text: str) -> dict[str, str]:
    sums = {}
    for line in text.splitlines():
        m = re.fullmatch(r"([0-9a-f]{64}) [ *](.+)", line.strip())
        if m:
            sums[m.group(2)] = m.group(1)
    return sums


def check_sums(sums: dict[str, str], present: dict[str, bytes]) -> list[str]:
    """Every file SHA256SUMS lists exists with that sha256, and every artifact is listed."""
    problems = []
    for name, expected in sorted(sums.items()):
        if name not in present:
            problems.append(f"{name}: listed in SHA256SUMS but missing")
        elif hashlib.sha256(present[name]).hexdigest() != expected:
            problems.append(
                f"{name}: sha256 {hashlib.sha256(present[name]).hexdigest()} differs from SHA256SUMS ({expected})"
            )
    problems.extend(
        f"{name}: not listed in SHA256SUMS"
        for name in sorted(present)
        if name not in sums and (is_artifact(name) or name.endswith(STATEMENT_SUFFIX))
    )
    return problems


def wheel_sboms(name: str, wheel: bytes) -> tuple[list[str], dict[str, bytes]]:
    """RECORD problems, and the wheel's SBOMs (path -> JSON bytes)."""
    problems = [f"{name}: {p}" for p in check_record(wheel)]
    sboms: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(wheel)) as zf:
            prefix = f"{dist_info_dir(zf.namelist())}/sboms/"
            for member in zf.namelist():
                if member.startswith(prefix) and member.endswith(".json"):
                    sboms[member] = zf.read(member)
    except Exception as e:  # a damaged archive is reported, not raised
        problems.append(f"{name}: cannot read the SBOM: {e}")
    if not sboms and not problems:
        problems.append(f"{name}: no SBOM under .dist-info/sboms/")
    return problems, sboms


def check_sbom_names_wheel(name: str, wheel: bytes, sbom_path: str, sbom: bytes) -> list[str]:
    """The SBOM describes this wheel: its project and version, and the bundled files' hashes."""
    try:
        doc = json.loads(sbom)
    except ValueError as e:
        return [f"{name}: {sbom_path} is not JSON ({e})"]
    project, version = name.split("-")[:2]
    component = doc.get("metadata", {}).get("component", {})
    problems = []
    if (
        normalize_project(component.get("name", "")) != normalize_project(project)
        or component.get("version") != version
    ):
        problems.append(
            f"{name}: {sbom_path} describes {component.get('name')} {component.get('version')}, "
            f"not {project} {version}"
        )
    with zipfile.ZipFile(io.BytesIO(wheel)) as zf:
        members = set(zf.namelist())
        for c in doc.get("components", ()):
            if c.get("type") == "file" and c.get("name") in members:
                actual = hashlib.sha256(zf.read(c["name"])).hexdigest()
                recorded = {h.get("alg"): h.get("content") for h in c.get("hashes", ())}.get(
                    "SHA-256"
                )
                if recorded != actual:
                    problems.append(
                        f"{name}: {sbom_path} gives {c['name']} sha256 {recorded}, the wheel has {actual}"
                    )
            elif c.get("type") == "file":
                problems.append(
                    f"{name}: {sbom_path} lists {c.get('name')}, which is not in the wheel"
                )
    return problems


def parse_statement(name: str, text: str) -> tuple[list[str], dict]:
    try:
        statement = json.loads(text.strip().splitlines()[0])
    except (ValueError, IndexError) as e:
        return [f"{name}: not an in-toto statement ({e})"], {}
    problems = []
    if statement.get("_type") != STATEMENT_TYPE:
        problems.append(f"{name}: `_type` is {statement.get('_type')!r}, not {STATEMENT_TYPE}")
    if statement.get("predicateType") != SLSA_PROVENANCE_V1:
        problems.append(
            f"{name}: `predicateType` is {statement.get('predicateType')!r}, not {SLSA_PROVENANCE_V1}"
        )
    return problems, statement


def check_statement_subject(
    artifact: str, data: bytes, statement_name: str, statement: dict
) -> list[str]:
    sha256 = hashlib.sha256(data).hexdigest()
    subjects = [
        (s.get("name"), s.get("digest", {}).get("sha256")) for s in statement.get("subject", ())
    ]
    if (artifact, sha256) in subjects:
        return []
    return [
        f"{artifact}: its provenance {statement_name} is for {subjects}, not for this file "
        f"({artifact}, sha256 {sha256})"
    ]


def recorded_inputs(statement: dict) -> list[PinnedInput]:
    """The resolved dependencies a statement records, as `PinnedInput`s."""
    out = []
    deps = statement.get("predicate", {}).get("buildDefinition", {}).get("resolvedDependencies", ())
    for d in deps:
        annotations = dict(d.get("annotations", {}))
        kind, pinned_by = annotations.pop("kind", ""), annotations.pop("pinnedBy", "")
        out.append(
            PinnedInput(
                d.get("name", ""),
                FrozenDict(d.get("digest", {})),
                kind,
                pinned_by,
                FrozenDict(annotations),
            )
        )
    return out


@dataclass(frozen=True)
class CurrentPins:
    """Today's pins, per `pinnedBy`: name -> digest, or None where that pin no longer exists."""

    # pinned_by -> {name: digest, or a list of digests where a pin has one file per platform} | None
    by_source: dict


def compare_pins(
    artifact: str, recorded: list[PinnedInput], current: CurrentPins
) -> tuple[list[str], list[str]]:
    """(problems, notes): each recorded pin that changed, and what is not a pin (host facts)."""
    problems, notes = [], []
    for pin in recorded:
        if pin.kind == INTERPRETER and "targetTriplet" in pin.annotations:
            notes.append(
                f"{artifact}: built for {pin.name} on {pin.annotations['targetTriplet']} ({pin.pinned_by}), "
                "from the pinned Debian packages recorded with it"
            )
            continue
        if pin.kind == INTERPRETER and "rootFileSystem" in pin.annotations:
            notes.append(
                f"{artifact}: built with {pin.name} ({pin.pinned_by}), run in the root file system "
                f"of its pinned {pin.annotations['rootFileSystem']} recorded with it"
            )
            continue
        if pin.kind == INTERPRETER:
            notes.append(
                f"{artifact}: built with {pin.name} ({pin.pinned_by}); interpreters are found on the host, not pinned"
            )
            continue
        if pin.kind == REPOSITORY:
            state = pin.annotations.get("worktree", "")
            notes.append(
                f"{artifact}: built from commit {pin.digest.get('gitCommit')} ({state} worktree)"
            )
            continue
        if pin.kind == SIGNED_INDEX:
            expired = pin.annotations.get("expiredAccepted")
            notes.append(
                f"{artifact}: its Debian pins were read from {pin.name} (sha256 "
                f"{pin.digest.get('sha256')}), vouched for by the InRelease dated "
                f"{pin.annotations.get('inreleaseDate')}, signed by {pin.annotations.get('signedBy')}"
                + (f"; taken although expired ({expired})" if expired else "")
            )
            continue
        if pin.kind not in (PINNED_FILE, LOCKED_DISTRIBUTION, ENGINE):
            problems.append(f"{artifact}: unknown kind of input {pin.kind!r} for {pin.name}")
            continue
        pins = current.by_source.get(pin.pinned_by)
        if pins is None:
            problems.append(
                f"{artifact}: {pin.name} was pinned by {pin.pinned_by}, which no longer exists"
            )
            continue
        now = pins.get(pin.name)
        if now is None:
            instead = (
                f" (it pins {', '.join(sorted(pins))} now)"
                if pin.kind != LOCKED_DISTRIBUTION
                else ""
            )
            problems.append(
                f"{artifact}: pin changed since the build: {pin.name} is no longer pinned by {pin.pinned_by}{instead}"
            )
            continue
        current_digests = [dict(d) for d in (now if isinstance(now, list) else [now])]
        if dict(pin.digest) not in current_digests:
            is_now = " or ".join(_digest(d) for d in current_digests)
            problems.append(
                f"{artifact}: pin changed since the build: {pin.name} ({pin.pinned_by}) was "
                f"{_digest(pin.digest)}, is now {is_now}"
            )
    return problems, notes


def _digest(d) -> str:
    return ", ".join(f"{k}:{v}" for k, v in sorted(dict(d).items()))
