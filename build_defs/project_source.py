"""Turn a project source target into a source tree digest rooted at `src/`."""

from __future__ import annotations

from dataclasses import dataclass

from pants.engine.addresses import Address
from pants.engine.fs import AddPrefix, Digest, RemovePrefix
from pants.engine.internals.selectors import Get
from pants.engine.rules import collect_rules, rule
from pants.engine.target import (
    HydratedSources,
    HydrateSourcesRequest,
    WrappedTarget,
    WrappedTargetRequest,
)
from pants.util.logging import LogLevel

from build_defs.target_types import MesonProjectSourcesField, SourceDateEpochField

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


class UnsupportedSourceError(Exception):
    pass


@rule(desc="Collect a project's source tree", level=LogLevel.DEBUG)
async def project_tree(request: ProjectTreeRequest) -> ProjectTree:
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(request.address, description_of_origin="a `source` field"),
    )
    tgt = wrapped.target
    if tgt.has_field(MesonProjectSourcesField):
        hydrated = await Get(HydratedSources, HydrateSourcesRequest(tgt[MesonProjectSourcesField]))
        stripped = await Get(Digest, RemovePrefix(hydrated.snapshot.digest, request.address.spec_path))
        digest = await Get(Digest, AddPrefix(stripped, SOURCE_DIR))
        return ProjectTree(request.address, digest, tgt[SourceDateEpochField].value)
    raise UnsupportedSourceError(
        f"{request.address} (a `{tgt.alias}` target) cannot be used as a project source: "
        "use a `meson_project` target."
    )


def rules():
    return collect_rules()
