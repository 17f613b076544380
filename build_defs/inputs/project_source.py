"""Turn a project source target into a source tree digest rooted at `src/`.

Each kind of source (a tree in this repository, a pinned sdist, later a git commit)
is a member of the `ProjectTreeFieldSet` union; the wheel rules only ask for a
`ProjectTree` and never need to change when a new kind is added.
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.engine.addresses import Address
from pants.engine.environment import EnvironmentName
from pants.engine.fs import AddPrefix, Digest, RemovePrefix, Snapshot
from pants.engine.internals.selectors import Get
from pants.engine.rules import collect_rules, rule
from pants.engine.target import (
    FieldSet,
    HydratedSources,
    HydrateSourcesRequest,
    WrappedTarget,
    WrappedTargetRequest,
)
from pants.engine.unions import UnionMembership, UnionRule, union
from pants.util.logging import LogLevel

from build_defs.inputs.store_artifact import StoreArtifact, StoreArtifactRequest
from build_defs.inputs.target_types import (
    MesonProjectSourcesField,
    PinnedFilenameField,
    PinnedSha256Field,
    PinnedSizeField,
    SourceDateEpochField,
    SourceReleaseDateEpochField,
)

SOURCE_DIR = "src"


@dataclass(frozen=True)
class ProjectTreeRequest:
    address: Address


@dataclass(frozen=True)
class ProjectTree:
    """The project's files under `src/`, and the time stamp its archives must carry."""

    address: Address
    digest: Digest
    source_date_epoch: int


@union(in_scope_types=[EnvironmentName])
@dataclass(frozen=True)
class ProjectTreeFieldSet(FieldSet):
    """A kind of target that can provide a project's source tree."""


@dataclass(frozen=True)
class MesonProjectTreeFieldSet(ProjectTreeFieldSet):
    required_fields = (MesonProjectSourcesField,)

    sources: MesonProjectSourcesField
    source_date_epoch: SourceDateEpochField


@dataclass(frozen=True)
class SourceReleaseTreeFieldSet(ProjectTreeFieldSet):
    required_fields = (PinnedFilenameField, SourceReleaseDateEpochField)

    filename: PinnedFilenameField
    sha256: PinnedSha256Field
    size: PinnedSizeField
    source_date_epoch: SourceReleaseDateEpochField


class UnsupportedSourceError(Exception):
    pass


@rule(desc="Collect a project's source tree", level=LogLevel.DEBUG)
async def project_tree(
    request: ProjectTreeRequest, union_membership: UnionMembership
) -> ProjectTree:
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(request.address, description_of_origin="a `source` field"),
    )
    tgt = wrapped.target
    for member in union_membership.get(ProjectTreeFieldSet):
        if member.is_applicable(tgt):
            return await Get(ProjectTree, ProjectTreeFieldSet, member.create(tgt))
    raise UnsupportedSourceError(
        f"{request.address} (a `{tgt.alias}` target) cannot be used as a project source: "
        "use a `meson_project` or a `source_release` target."
    )


@rule(desc="Collect a source tree from the repository", level=LogLevel.DEBUG)
async def meson_project_tree(field_set: MesonProjectTreeFieldSet) -> ProjectTree:
    hydrated = await Get(HydratedSources, HydrateSourcesRequest(field_set.sources))
    stripped = await Get(
        Digest, RemovePrefix(hydrated.snapshot.digest, field_set.address.spec_path)
    )
    digest = await Get(Digest, AddPrefix(stripped, SOURCE_DIR))
    return ProjectTree(field_set.address, digest, field_set.source_date_epoch.value)


@rule(desc="Extract a pinned source release", level=LogLevel.DEBUG)
async def source_release_tree(field_set: SourceReleaseTreeFieldSet) -> ProjectTree:
    filename = field_set.filename.value
    suffix = ".zip" if filename.endswith(".zip") else ".tar.gz"
    extracted = await Get(
        StoreArtifact,
        StoreArtifactRequest(
            filename, field_set.sha256.value, field_set.size.value, field_set.address, suffix
        ),
    )
    snapshot = await Get(Snapshot, Digest, extracted.digest)
    tops = {path.split("/", 1)[0] for path in snapshot.files}
    if len(tops) != 1 or not snapshot.dirs:
        raise UnsupportedSourceError(
            f"{filename} (pinned by {field_set.address}) must hold a single top-level directory; "
            f"found {sorted(tops)[:5]}"
        )
    stripped = await Get(Digest, RemovePrefix(extracted.digest, tops.pop()))
    digest = await Get(Digest, AddPrefix(stripped, SOURCE_DIR))
    return ProjectTree(field_set.address, digest, field_set.source_date_epoch.value)


def rules():
    return [
        *collect_rules(),
        UnionRule(ProjectTreeFieldSet, MesonProjectTreeFieldSet),
        UnionRule(ProjectTreeFieldSet, SourceReleaseTreeFieldSet),
    ]
