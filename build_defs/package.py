"""`pants package` for `meson_wheel`: build, repair, write the wheel to dist/ and log its sha256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.fs import Digest, DigestContents, RemovePrefix
from pants.engine.internals.selectors import Get
from pants.engine.rules import collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from build_defs.wheel import (
    REPAIR_OUT,
    BuildWheelRequest,
    BuiltWheel,
    MesonWheelFieldSet,
    RepairedWheel,
    RepairWheelRequest,
)


@dataclass(frozen=True)
class PackageMesonWheelFieldSet(MesonWheelFieldSet, PackageFieldSet):
    pass


@rule(desc="Package a meson-python wheel", level=LogLevel.DEBUG)
async def package_meson_wheel(field_set: PackageMesonWheelFieldSet) -> BuiltPackage:
    built = await Get(BuiltWheel, BuildWheelRequest(field_set))
    repaired = await Get(RepairedWheel, RepairWheelRequest(field_set, built))
    digest = await Get(Digest, RemovePrefix(repaired.digest, REPAIR_OUT))
    contents = await Get(DigestContents, Digest, digest)
    sha256 = hashlib.sha256(contents[0].content).hexdigest()
    return BuiltPackage(
        digest,
        (
            BuiltPackageArtifact(
                contents[0].path,
                extra_log_lines=(f"    sha256 {sha256}  {len(contents[0].content)} bytes",),
            ),
        ),
    )


def rules():
    return [*collect_rules(), UnionRule(PackageFieldSet, PackageMesonWheelFieldSet)]
