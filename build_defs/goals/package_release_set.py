"""`pants package` for `release_set`: the artifacts, SHA256SUMS and a JSON manifest.

Both index files cover only what is the same on every machine that builds the same
bytes: the artifacts and their provenance statements (`*.intoto.jsonl`). The host
records (`*.build-host.json`) are written beside them and listed in neither.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.addresses import Addresses
from pants.engine.fs import (
    AddPrefix,
    CreateDigest,
    Digest,
    DigestContents,
    FileContent,
    MergeDigests,
)
from pants.engine.internals.selectors import Get, MultiGet
from pants.engine.rules import collect_rules, rule
from pants.engine.target import (
    FieldSetsPerTarget,
    FieldSetsPerTargetRequest,
    InferredDependencies,
    Targets,
)
from pants.engine.unions import UnionRule
from pants.option.global_options import GlobalOptions
from pants.util.logging import LogLevel

from build_defs.evidence.provenance import HOST_SUFFIX, STATEMENT_SUFFIX
from build_defs.goals.package_wheel import logged_artifact
from build_defs.goals.target_types import ReleaseSetArtifactsField
from build_defs.inputs.address_fields import AddressFieldsRequest
from build_defs.wheels.build_wheel import MesonWheelFieldSet, check_buildable
from build_defs.wheels.isolation import Isolation


@dataclass(frozen=True)
class ReleaseSetFieldSet(PackageFieldSet):
    required_fields = (ReleaseSetArtifactsField,)

    artifacts: ReleaseSetArtifactsField


class ReleaseSetError(Exception):
    pass


def artifact_kind(name: str) -> dict:
    """What a release file is: a wheel (with its tag), an sdist, or a provenance statement."""
    if name.endswith(STATEMENT_SUFFIX):
        return {"kind": "provenance", "subject": name[: -len(STATEMENT_SUFFIX)]}
    if name.endswith(".whl"):
        # name-version(-build)?-python-abi-platform.whl
        parts = name[: -len(".whl")].split("-")
        return (
            {"kind": "wheel", "tag": "-".join(parts[-3:])} if len(parts) >= 5 else {"kind": "wheel"}
        )
    if name.endswith((".tar.gz", ".zip")):
        return {"kind": "sdist"}
    return {"kind": "file"}


def manifest_files(entries: list[dict]) -> tuple[str, str]:
    """SHA256SUMS (sha256sum's format) and manifest.json, both sorted by file name and
    made of machine-independent facts only: name, size, sha256, kind/tag, target address."""
    entries = sorted(({**e, **artifact_kind(e["name"])} for e in entries), key=lambda e: e["name"])
    sums = "".join(f"{e['sha256']}  {e['name']}\n" for e in entries)
    return sums, json.dumps({"artifacts": entries}, indent=2, sort_keys=True) + "\n"


def refuse_remote_cache(address, read: bool, write: bool) -> None:
    """A release is built from nothing but its pins: never with results from (or into) a
    shared cache, whose entries no one here built."""
    if read or write:
        raise ReleaseSetError(
            f"{address}: refusing to build a release set with a remote cache "
            f"(remote_cache_read={read}, remote_cache_write={write}). Release builds start from "
            "an empty cache on a clean runner; drop `--pants-config-files=3rdparty/remote-cache/pants.toml` "
            "(or `--remote-cache-read`/`--remote-cache-write`) for this command."
        )


@rule(desc="Package a release set", level=LogLevel.DEBUG)
async def package_release_set(
    field_set: ReleaseSetFieldSet, isolation: Isolation, global_options: GlobalOptions
) -> BuiltPackage:
    refuse_remote_cache(
        field_set.address, global_options.remote_cache_read, global_options.remote_cache_write
    )
    if not isolation.isolated:
        raise ReleaseSetError(
            f"{field_set.address}: refusing to release artifacts built without sandbox isolation "
            f'({isolation.effective}). Release builds need `[meson-build].isolation = "strict"` '
            "on a host that allows mount and network namespaces."
        )
    inferred = await Get(
        InferredDependencies,
        AddressFieldsRequest,
        AddressFieldsRequest.of(field_set.address, field_set.artifacts.value),
    )
    targets = await Get(Targets, Addresses(inferred.include))
    per_target = await Get(FieldSetsPerTarget, FieldSetsPerTargetRequest(PackageFieldSet, targets))
    for tgt, field_sets in zip(targets, per_target.collection):
        # A release is this platform's: a wheel for another one is an error, not a skip.
        if MesonWheelFieldSet.is_applicable(tgt):
            await check_buildable(MesonWheelFieldSet.create(tgt))
        if len(field_sets) != 1:
            raise ReleaseSetError(
                f"{field_set.address}: {tgt.address} is not one packageable target "
                f"({len(field_sets)} ways to package it)."
            )
    packages = await MultiGet(
        Get(BuiltPackage, PackageFieldSet, fss[0]) for fss in per_target.collection
    )
    entries = []
    for tgt, package in zip(targets, packages):
        for fc in await Get(DigestContents, Digest, package.digest):
            if fc.path.endswith(HOST_SUFFIX):
                continue
            entries.append(
                {
                    "name": fc.path,
                    "size": len(fc.content),
                    "sha256": hashlib.sha256(fc.content).hexdigest(),
                    "address": tgt.address.spec,
                }
            )
    names = [e["name"] for e in entries]
    if len(set(names)) != len(names):
        raise ReleaseSetError(
            f"{field_set.address}: two artifacts share a file name: {sorted(names)}"
        )
    sums, manifest = manifest_files(entries)
    index = await Get(
        Digest,
        CreateDigest(
            [
                FileContent("SHA256SUMS", sums.encode()),
                FileContent("manifest.json", manifest.encode()),
            ]
        ),
    )
    merged = await Get(Digest, MergeDigests([*(p.digest for p in packages), index]))
    out_dir = field_set.address.target_name
    digest = await Get(Digest, AddPrefix(merged, out_dir))
    return BuiltPackage(
        digest,
        tuple(
            logged_artifact(f"{out_dir}/{e['name']}", e["sha256"], e["size"])
            for e in sorted(entries, key=lambda e: e["name"])
        )
        + tuple(
            BuiltPackageArtifact(f"{out_dir}/{a.relpath}")
            for p in packages
            for a in p.artifacts
            if a.relpath and a.relpath.endswith(HOST_SUFFIX)
        )
        + (
            BuiltPackageArtifact(f"{out_dir}/SHA256SUMS"),
            BuiltPackageArtifact(f"{out_dir}/manifest.json"),
        ),
    )


def rules():
    return [*collect_rules(), UnionRule(PackageFieldSet, ReleaseSetFieldSet)]
