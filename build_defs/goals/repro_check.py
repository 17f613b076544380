"""`pants repro-check`: build each target twice, uncached, and demand the same bytes.

Each build runs in a new sandbox (a different random path) with a distinct cache key and
nothing read from or written to the process cache. On a difference the goal names the
differing archive members, keeps both artifacts under dist/repro-check/, and shows a
diffoscope report when `diffoscope` is installed.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from dataclasses import dataclass

from pants.core.util_rules.distdir import DistDir
from pants.core.util_rules.system_binaries import BinaryPathRequest, BinaryPaths
from pants.engine.console import Console
from pants.engine.fs import (
    AddPrefix,
    Digest,
    DigestContents,
    DigestEntries,
    FileEntry,
    MergeDigests,
    Workspace,
)
from pants.engine.goal import Goal, GoalSubsystem
from pants.engine.internals.selectors import Get, MultiGet
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.engine.rules import collect_rules, goal_rule, rule
from pants.engine.target import Targets
from pants.option.option_types import BoolOption
from pants.util.logging import LogLevel

from build_defs.evidence.sbom import FinishedWheel, FinishedWheelRequest
from build_defs.goals.package_sdist import ReleaseSdistFieldSet
from build_defs.toolchains.target_types import DebianRootPackagesField, SourceCPythonSourceField
from build_defs.wheels.build_wheel import MesonWheelFieldSet
from build_defs.wheels.root_fs import RootFs, RootFsRequest
from build_defs.wheels.source_cpython import SourceCPython, SourceCPythonRequest


class ReproCheckSubsystem(GoalSubsystem):
    name = "repro-check"
    help = (
        "Build each target twice with the process cache bypassed and in different sandboxes, "
        "and fail unless both builds give byte-identical artifacts."
    )

    keep = BoolOption(
        default=False,
        help="Keep both builds under dist/repro-check/ even when they are identical.",
    )


class ReproCheck(Goal):
    subsystem_cls = ReproCheckSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


@dataclass(frozen=True)
class ReproBuildRequest:
    field_set: MesonWheelFieldSet
    nonce: str


@dataclass(frozen=True)
class ReproBuild:
    digest: Digest
    filename: str


@rule(desc="Build a wheel without the cache", level=LogLevel.DEBUG)
async def repro_build(request: ReproBuildRequest) -> ReproBuild:
    wheel = await Get(FinishedWheel, FinishedWheelRequest(request.field_set, request.nonce))
    return ReproBuild(wheel.digest, wheel.filename)


def archive_members(name: str, data: bytes) -> dict[str, str]:
    """member name -> sha256 (plus mode and time), for wheels (zip) and sdists (tar)."""
    out: dict[str, str] = {}
    if name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                digest = hashlib.sha256(zf.read(info)).hexdigest()
                out[info.filename] = (
                    f"{digest} mode={info.external_attr >> 16:o} time={info.date_time}"
                )
    elif name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
            for member in tf.getmembers():
                f = tf.extractfile(member)
                digest = hashlib.sha256(f.read()).hexdigest() if f else "-"
                out[member.name] = f"{digest} mode={member.mode:o} mtime={member.mtime}"
    return out


def differing_members(name: str, first: bytes, second: bytes) -> list[str]:
    a, b = archive_members(name, first), archive_members(name, second)
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


@goal_rule
async def repro_check(
    console: Console,
    targets: Targets,
    workspace: Workspace,
    dist_dir: DistDir,
    subsystem: ReproCheckSubsystem,
) -> ReproCheck:
    wheels = [MesonWheelFieldSet.create(t) for t in targets if MesonWheelFieldSet.is_applicable(t)]
    sdists = [
        ReleaseSdistFieldSet.create(t) for t in targets if ReleaseSdistFieldSet.is_applicable(t)
    ]
    roots = [t for t in targets if t.get(DebianRootPackagesField).value]
    interpreters = [t for t in targets if t.has_field(SourceCPythonSourceField)]
    skipped = [
        t.address.spec
        for t in targets
        if not (
            MesonWheelFieldSet.is_applicable(t)
            or ReleaseSdistFieldSet.is_applicable(t)
            or t.get(DebianRootPackagesField).value
            or t.has_field(SourceCPythonSourceField)
        )
    ]
    if skipped:
        console.print_stderr(
            f"repro-check: skipping targets that build nothing: {', '.join(skipped)}"
        )
    builds = await MultiGet(
        Get(ReproBuild, ReproBuildRequest(fs, nonce))
        for fs in wheels
        for nonce in ("first", "second")
    )
    failures = 0
    diffoscope = await Get(
        BinaryPaths,
        BinaryPathRequest(binary_name="diffoscope", search_path=("/usr/bin", "/usr/local/bin")),
    )
    for i, fs in enumerate(wheels):
        first, second = builds[2 * i], builds[2 * i + 1]
        (a,), (b,) = await MultiGet(
            Get(DigestContents, Digest, first.digest), Get(DigestContents, Digest, second.digest)
        )
        sha_a, sha_b = hashlib.sha256(a.content).hexdigest(), hashlib.sha256(b.content).hexdigest()
        same = sha_a == sha_b and a.path == b.path
        if same:
            console.print_stdout(
                f"✓ {fs.address}: reproducible, sha256 {sha_a}  {a.path.split('/')[-1]}"
            )
            if not subsystem.keep:
                continue
        else:
            failures += 1
            members = differing_members(a.path, a.content, b.content)
            console.print_stdout(f"✕ {fs.address}: the two builds differ ({sha_a} vs {sha_b})")
            for m in members[:50]:
                console.print_stdout(f"    differs: {m}")
            if len(members) > 50:
                console.print_stdout(f"    ... and {len(members) - 50} more members")
        first_kept, second_kept = await MultiGet(
            Get(Digest, AddPrefix(first.digest, "first")),
            Get(Digest, AddPrefix(second.digest, "second")),
        )
        both = await Get(Digest, MergeDigests([first_kept, second_kept]))
        prefix = f"repro-check/{fs.address.path_safe_spec}"
        workspace.write_digest(both, path_prefix=f"{dist_dir.relpath}/{prefix}")
        console.print_stdout(f"    both builds kept under {dist_dir.relpath}/{prefix}/")
        if diffoscope.first_path and not same:
            report = await Get(
                FallibleProcessResult,
                Process(
                    argv=(
                        diffoscope.first_path.path,
                        "--text",
                        "-",
                        f"first/{a.path}",
                        f"second/{b.path}",
                    ),
                    input_digest=both,
                    description=f"diffoscope {fs.address}",
                    cache_scope=ProcessCacheScope.PER_SESSION,
                ),
            )
            console.print_stdout(report.stdout.decode(errors="replace")[-20000:])
    for fs in sdists:
        console.print_stdout(
            f"✓ {fs.address}: the pinned sdist, verified against its sha256 on every read"
        )
    # A root file system: two uncached assemblies from its packages must give one digest.
    assemblies = await MultiGet(
        Get(RootFs, RootFsRequest(tuple(t[DebianRootPackagesField].value), t.address, nonce))
        for t in roots
        for nonce in ("first", "second")
    )
    for i, tgt in enumerate(roots):
        first, second = assemblies[2 * i].digest, assemblies[2 * i + 1].digest
        if first == second:
            console.print_stdout(
                f"✓ {tgt.address}: root file system reproducible, digest "
                f"{first.fingerprint} ({first.serialized_bytes_length} bytes of tree)"
            )
        else:
            failures += 1
            console.print_stdout(
                f"✕ {tgt.address}: two assemblies of its root file system differ "
                f"({first.fingerprint} vs {second.fingerprint})"
            )
    # A CPython built from source: two uncached builds (each with an empty zig cache and a
    # fresh root file system) must give one tree.
    for tgt in interpreters:
        first, second = await MultiGet(
            Get(SourceCPython, SourceCPythonRequest(tgt.address, nonce))
            for nonce in ("first", "second")
        )
        if first.digest == second.digest:
            console.print_stdout(
                f"✓ {tgt.address}: CPython {first.version} reproducible, digest "
                f"{first.digest.fingerprint} ({first.digest.serialized_bytes_length} bytes of tree)"
            )
            continue
        failures += 1
        a, b = await MultiGet(
            Get(DigestEntries, Digest, first.digest), Get(DigestEntries, Digest, second.digest)
        )
        files_a = {e.path: e.file_digest for e in a if isinstance(e, FileEntry)}
        files_b = {e.path: e.file_digest for e in b if isinstance(e, FileEntry)}
        members = sorted(
            k for k in files_a.keys() | files_b.keys() if files_a.get(k) != files_b.get(k)
        )
        console.print_stdout(
            f"✕ {tgt.address}: the two builds differ ({first.digest.fingerprint} vs "
            f"{second.digest.fingerprint})"
        )
        for m in members[:50]:
            console.print_stdout(f"    differs: {m}")
        both = await Get(
            Digest,
            MergeDigests(
                await MultiGet(
                    Get(Digest, AddPrefix(first.digest, "first")),
                    Get(Digest, AddPrefix(second.digest, "second")),
                )
            ),
        )
        prefix = f"{dist_dir.relpath}/repro-check/{tgt.address.path_safe_spec}"
        workspace.write_digest(both, path_prefix=prefix)
        console.print_stdout(f"    both builds kept under {prefix}/")
    if not wheels and not sdists and not roots and not interpreters:
        console.print_stderr(
            "repro-check: no `meson_wheel`, `release_sdist`, `source_cpython` or "
            "`debian_cpython` with `root_packages` given."
        )
        return ReproCheck(exit_code=1)
    return ReproCheck(exit_code=1 if failures else 0)


def rules():
    return collect_rules()
