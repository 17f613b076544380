"""`pants package` of a `source_cpython`: its installed prefix under
`dist/cpython-<version>-<triplet>/` (bin/, lib/, include/ and `BUILD-INFO.json`)."""

from __future__ import annotations

from dataclasses import dataclass

from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.fs import AddPrefix, Digest, RemovePrefix
from pants.engine.internals.selectors import Get
from pants.engine.rules import collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from build_defs.toolchains.target_types import SourceCPythonSourceField
from build_defs.wheels.source_cpython import PREFIX, SourceCPython, SourceCPythonRequest


@dataclass(frozen=True)
class SourceCPythonFieldSet(PackageFieldSet):
    required_fields = (SourceCPythonSourceField,)

    source: SourceCPythonSourceField


def dist_dir(built: SourceCPython) -> str:
    return f"cpython-{built.version}-{built.host_triplet}"


@rule(desc="Package a CPython built from source", level=LogLevel.DEBUG)
async def package_source_cpython(field_set: SourceCPythonFieldSet) -> BuiltPackage:
    built = await Get(SourceCPython, SourceCPythonRequest(field_set.address))
    tree = await Get(Digest, RemovePrefix(built.digest, PREFIX.lstrip("/")))
    name = dist_dir(built)
    return BuiltPackage(
        await Get(Digest, AddPrefix(tree, name)), (BuiltPackageArtifact(f"{name}/"),)
    )


def rules():
    return [*collect_rules(), UnionRule(PackageFieldSet, SourceCPythonFieldSet)]
