"""`pants verify -- PATH...`: check release artifacts and their evidence, offline.

PATH is a release directory (as `pants package` writes it, or as downloaded from a CI
run) or single artifacts. For each artifact it checks the sha256 against `SHA256SUMS`,
a wheel's RECORD, that the SBOM inside the wheel validates and describes this wheel,
that the provenance statement beside it names this file and this sha256, and that every
input the provenance records is still pinned, with the same digest, by this checkout.
Nothing is built and nothing is fetched.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from pants.base.build_root import BuildRoot
from pants.build_graph.address import Address, AddressInput
from pants.core.target_types import LockfileSourceField
from pants.engine.console import Console
from pants.engine.fs import CreateDigest, Digest, DigestContents, FileContent, PathGlobs
from pants.engine.goal import Goal, GoalSubsystem
from pants.engine.internals.selectors import Get
from pants.engine.process import FallibleProcessResult
from pants.engine.rules import collect_rules, goal_rule
from pants.engine.target import (
    HydratedSources,
    HydrateSourcesRequest,
    WrappedTarget,
    WrappedTargetRequest,
)
from pants.option.option_types import ArgsListOption
from pants.util.strutil import softwrap

from build_defs.evidence.checks import (
    CurrentPins,
    check_sbom_names_wheel,
    check_statement_subject,
    check_sums,
    compare_pins,
    is_artifact,
    parse_statement,
    parse_sums,
    recorded_inputs,
    wheel_sboms,
)
from build_defs.evidence.pinned_inputs import (
    ENGINE,
    LOCKED_DISTRIBUTION,
    PINNED_FILE,
    PinnedInput,
    build_debian_packages,
    built_from_sources,
    parse_hashed_requirements,
    parse_lockfile,
)
from build_defs.evidence.provenance import STATEMENT_SUFFIX
from build_defs.evidence.tool import EvidenceProcessRequest
from build_defs.inputs.subsystem import ArtifactStore
from build_defs.inputs.target_types import PinnedFilenameField, PinnedSha256Field


class VerifySubsystem(GoalSubsystem):
    name = "verify"
    help = softwrap(
        """
        Check release artifacts offline: `pants verify -- dist/release` (a directory with
        SHA256SUMS) or `pants verify -- path/to/artifact.whl`. Exits 1 naming each
        difference: a sha256 that is not the one in SHA256SUMS, a RECORD that does not
        match the wheel, an SBOM or provenance for another artifact, or an input whose
        pin changed since the build.
        """
    )

    args = ArgsListOption(
        example="dist/release",
        extra_help="Release directories or artifact files to verify (after `--`).",
        passthrough=True,
    )


class Verify(Goal):
    subsystem_cls = VerifySubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


@dataclass(frozen=True)
class _Group:
    """One directory's files to check: artifacts, their statements and the index."""

    directory: str
    artifacts: tuple[str, ...]
    whole_directory: bool


def _groups(paths: tuple[str, ...], root: str) -> tuple[list[_Group], list[str]]:
    groups, problems = [], []
    for path in paths:
        full = path if os.path.isabs(path) else os.path.join(root, path)
        if os.path.isdir(full):
            names = sorted(n for n in os.listdir(full) if os.path.isfile(os.path.join(full, n)))
            artifacts = tuple(n for n in names if is_artifact(n))
            if not artifacts:
                problems.append(f"{path}: no artifacts in this directory")
            groups.append(_Group(full, artifacts, True))
        elif os.path.isfile(full) and is_artifact(os.path.basename(full)):
            groups.append(_Group(os.path.dirname(full), (os.path.basename(full),), False))
        else:
            problems.append(f"{path}: not a release directory or an artifact file")
    return groups, problems


def _read(directory: str, name: str) -> bytes | None:
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as f:
        return f.read()


async def _current_pins(recorded: list[PinnedInput], manifest_path: str) -> CurrentPins:
    """Today's pins for every `pinnedBy` the statements name."""
    by_source: dict = {}
    for source in sorted(
        {p.pinned_by for p in recorded if p.kind in (PINNED_FILE, LOCKED_DISTRIBUTION)}
    ):
        if source == manifest_path:
            # Files the manifest itself pins (a tool venv made in a root file system).
            contents = await Get(DigestContents, PathGlobs([source]))
            by_source[source] = (
                {
                    a["filename"]: {"sha256": a["sha256"]}
                    for a in json.loads(contents[0].content)["artifacts"]
                }
                if contents
                else None
            )
            continue
        try:
            address = await Get(
                Address,
                AddressInput,
                AddressInput.parse(source, description_of_origin="a provenance statement"),
            )
            wrapped = await Get(
                WrappedTarget,
                WrappedTargetRequest(address, description_of_origin="a provenance statement"),
            )
        except Exception:
            by_source[source] = None
            continue
        tgt = wrapped.target
        # A target may pin a file and Debian packages both (a toolchain and its runtime), or
        # Debian source files (a CPython built from source).
        debian = {
            p["filename"]: {"sha256": p["sha256"]}
            for p in (*build_debian_packages(tgt), *built_from_sources(tgt))
        }
        if tgt.has_field(PinnedSha256Field) and tgt.has_field(PinnedFilenameField):
            by_source[source] = {
                tgt[PinnedFilenameField].value: {"sha256": tgt[PinnedSha256Field].value},
                **debian,
            }
        elif debian:
            by_source[source] = debian
        elif tgt.has_field(LockfileSourceField):
            hydrated = await Get(HydratedSources, HydrateSourcesRequest(tgt[LockfileSourceField]))
            pins: dict = {}
            for fc in await Get(DigestContents, Digest, hydrated.snapshot.digest):
                for p in parse_lockfile(fc.content.decode("utf-8"), source):
                    pins.setdefault(p.name, dict(p.digest))
            by_source[source] = pins
        else:
            by_source[source] = None
    for source in sorted({p.pinned_by for p in recorded if p.kind == ENGINE}):
        contents = await Get(DigestContents, PathGlobs([source]))
        if not contents:
            by_source[source] = None
            continue
        pins = {}
        for project in sorted({p.name.split("==")[0] for p in recorded if p.pinned_by == source}):
            try:
                # One hash per platform's file: the recorded one must be among them.
                for p in parse_hashed_requirements(
                    contents[0].content.decode("utf-8"), (project,), source
                ):
                    pins.setdefault(p.name, []).append(dict(p.digest))
            except ValueError:
                pass
        by_source[source] = pins
    return CurrentPins(by_source)


@goal_rule
async def verify(
    console: Console, subsystem: VerifySubsystem, build_root: BuildRoot, store: ArtifactStore
) -> Verify:
    if not subsystem.args:
        console.print_stderr("verify: name what to check, e.g. `pants verify -- dist/release`.")
        return Verify(exit_code=2)
    groups, general = _groups(tuple(subsystem.args), build_root.path)
    problems: dict[str, list[str]] = {}
    notes: dict[str, list[str]] = {}
    recorded_by_artifact: dict[str, list[PinnedInput]] = {}
    sboms_to_validate: list[tuple[str, str, bytes]] = []
    for group in groups:
        sums_text = _read(group.directory, "SHA256SUMS")
        present = {}
        for artifact in group.artifacts:
            for name in (artifact, artifact + STATEMENT_SUFFIX):
                data = _read(group.directory, name)
                if data is not None:
                    present[name] = data
        if sums_text is None:
            if group.whole_directory:
                general.append(f"{group.directory}: no SHA256SUMS (a release directory has one)")
            else:
                for artifact in group.artifacts:
                    notes.setdefault(artifact, []).append(
                        f"{artifact}: no SHA256SUMS beside it; checked against its provenance only"
                    )
        else:
            sums = parse_sums(sums_text.decode("utf-8", "replace"))
            if not group.whole_directory:
                sums = {k: v for k, v in sums.items() if k in present or k in group.artifacts}
            for problem in check_sums(sums, present):
                problems.setdefault(
                    problem.split(":", 1)[0].removesuffix(STATEMENT_SUFFIX), []
                ).append(problem)
        for artifact in group.artifacts:
            found = problems.setdefault(artifact, [])
            data = present.get(artifact)
            if data is None:
                continue
            statement_name = artifact + STATEMENT_SUFFIX
            if statement_name not in present:
                found.append(f"{artifact}: no provenance ({statement_name}) beside it")
            else:
                parse_problems, statement = parse_statement(
                    statement_name, present[statement_name].decode("utf-8", "replace")
                )
                found.extend(parse_problems)
                if statement:
                    found.extend(check_statement_subject(artifact, data, statement_name, statement))
                    recorded_by_artifact[artifact] = recorded_inputs(statement)
            if artifact.endswith(".whl"):
                sbom_problems, sboms = wheel_sboms(artifact, data)
                found.extend(sbom_problems)
                for path, sbom in sorted(sboms.items()):
                    found.extend(check_sbom_names_wheel(artifact, data, path, sbom))
                    sboms_to_validate.append((artifact, path, sbom))

    all_recorded = [p for pins in recorded_by_artifact.values() for p in pins]
    current = await _current_pins(all_recorded, store.manifest)
    for artifact, recorded in recorded_by_artifact.items():
        pin_problems, pin_notes = compare_pins(artifact, recorded, current)
        problems[artifact].extend(pin_problems)
        notes.setdefault(artifact, []).extend(pin_notes)

    if sboms_to_validate:
        files = [
            FileContent(f"sboms/{i}.cdx.json", sbom)
            for i, (_, _, sbom) in enumerate(sboms_to_validate)
        ]
        result = await Get(
            FallibleProcessResult,
            EvidenceProcessRequest(
                "validate_sbom.py",
                tuple(f.path for f in files),
                await Get(Digest, CreateDigest(files)),
                f"Validate {len(files)} SBOM(s) against the CycloneDX schema",
            ),
        )
        lines = result.stdout.decode().splitlines()
        for (artifact, path, _), file in zip(sboms_to_validate, files):
            line = next((l for l in lines if l.split(" ", 2)[1:2] == [file.path]), None)
            if line is None or not line.startswith("ok "):
                reason = line.split(": ", 1)[-1] if line else result.stderr.decode()[-500:]
                problems[artifact].append(
                    f"{artifact}: {path} does not validate as CycloneDX: {reason}"
                )

    for problem in general:
        console.print_stdout(f"✕ {problem}")
    failed = bool(general)
    for artifact in sorted(problems):
        if problems[artifact]:
            failed = True
            console.print_stdout(f"✕ {artifact}")
            for p in problems[artifact]:
                console.print_stdout(
                    f"    {p.split(': ', 1)[-1] if p.startswith(artifact + ':') else p}"
                )
        else:
            what = (
                "sha256, RECORD, SBOM, provenance"
                if artifact.endswith(".whl")
                else "sha256, provenance"
            )
            console.print_stdout(f"✓ {artifact}: {what} verified; every recorded pin is current")
        for n in notes.get(artifact, ()):
            console.print_stdout(f"    · {n.split(': ', 1)[-1]}")
    return Verify(exit_code=1 if failed else 0)


def rules():
    return collect_rules()
