"""`cc_toolchain`: the host's C/C++ compilers and the utilities a build calls, each
fingerprinted (path, `--version`, sha256, and what the drivers really run), so an upgraded
compiler rebuilds everything and an unchanged one nothing."""

from __future__ import annotations

from dataclasses import dataclass

from pants.engine.internals.selectors import Get
from pants.engine.rules import collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.toolchains.cc_toolchain import CcToolchain, CcToolchainFieldSet
from build_defs.toolchains.host_programs import FingerprintRequest, HostPrograms
from build_defs.toolchains.target_types import (
    CcToolchainCcField,
    CcToolchainCxxField,
    CcToolchainToolsField,
)


@dataclass(frozen=True)
class HostCcToolchainFieldSet(CcToolchainFieldSet):
    required_fields = (CcToolchainCcField, CcToolchainCxxField)

    cc: CcToolchainCcField
    cxx: CcToolchainCxxField
    tools: CcToolchainToolsField


@rule(desc="Fingerprint a host C/C++ toolchain", level=LogLevel.DEBUG)
async def host_toolchain(field_set: HostCcToolchainFieldSet) -> CcToolchain:
    programs = {
        "cc": field_set.cc.value,
        "cxx": field_set.cxx.value,
        **dict(field_set.tools.value or {}),
    }
    host = await Get(HostPrograms, FingerprintRequest(field_set.address, FrozenDict(programs)))
    return CcToolchain(
        address=host.address,
        digest=host.digest,
        programs=host.programs,
        host_programs=tuple(sorted(host.programs)),
    )


def rules():
    return [*collect_rules(), UnionRule(CcToolchainFieldSet, HostCcToolchainFieldSet)]
