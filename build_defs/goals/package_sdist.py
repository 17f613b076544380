"""`pants package` for `release_sdist`: the pinned, verified source distribution into dist/,
with its provenance."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.addresses import Addresses, UnparsedAddressInputs
from pants.engine.fs import Digest, DigestContents, MergeDigests
from pants.engine.internals.selectors import Get
from pants.engine.rules import collect_rules, rule
from pants.engine.target import WrappedTarget, WrappedTargetRequest
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from build_defs.evidence.provenance import ArtifactProvenance, ProvenanceRequest
from build_defs.goals.package_wheel import logged_artifact
from build_defs.goals.target_types import ReleaseSdistSourceField
from build_defs.inputs.store_artifact import StoreArtifact, StoreArtifactRequest
from build_defs.inputs.target_types import SourceReleaseDateEpochField


@dataclass(frozen=True)
class ReleaseSdistFieldSet(PackageFieldSet):
    required_fields = (ReleaseSdistSourceField,)

    source: ReleaseSdistSourceField


class SdistSourceError(Exception):
    pass


@rule(desc="Package a release sdist", level=LogLevel.DEBUG)
async def package_release_sdist(field_set: ReleaseSdistFieldSet) -> BuiltPackage:
    (source_address,) = await Get(
        Addresses,
        UnparsedAddressInputs(
            (field_set.source.value,),
            owning_address=field_set.address,
            description_of_origin=f"the `source` field of {field_set.address}",
        ),
    )
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(source_address, description_of_origin=str(field_set.address)),
    )
    tgt = wrapped.target
    if not tgt.has_field(SourceReleaseDateEpochField):
        raise SdistSourceError(
            f"{field_set.address}: {source_address} is not a `source_release` target."
        )
    artifact = await Get(StoreArtifact, StoreArtifactRequest.pinned_by(tgt))
    (sdist,) = await Get(DigestContents, Digest, artifact.digest)
    sha256 = hashlib.sha256(sdist.content).hexdigest()
    provenance = await Get(
        ArtifactProvenance,
        ProvenanceRequest(
            field_set.address,
            sdist.path,
            sha256,
            "release_sdist",
            json.dumps({"target": field_set.address.spec, "source": source_address.spec}),
            json.dumps({"operation": "copy of the pinned, verified source archive"}),
            json.dumps({}),
        ),
    )
    return BuiltPackage(
        await Get(Digest, MergeDigests([artifact.digest, provenance.digest])),
        (
            logged_artifact(sdist.path, sha256, len(sdist.content)),
            BuiltPackageArtifact(provenance.statement),
            BuiltPackageArtifact(provenance.host_record),
        ),
    )


def rules():
    return [
        *collect_rules(),
        UnionRule(PackageFieldSet, ReleaseSdistFieldSet),
    ]
