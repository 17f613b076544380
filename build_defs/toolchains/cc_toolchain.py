"""Prepare the C/C++ toolchain a `toolchain` field names: a fingerprinted host toolchain
(`cc_toolchain`, `host.py`) or the pinned zig (`zig_toolchain`, `zig.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from pants.engine.addresses import Address
from pants.engine.internals.selectors import Get
from pants.engine.rules import collect_rules, rule
from pants.engine.target import WrappedTarget, WrappedTargetRequest
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.toolchains.host_programs import CcToolchain, FingerprintRequest, ToolchainError
from build_defs.toolchains.target_types import (
    CcToolchainCcField,
    CcToolchainCxxField,
    CcToolchainToolsField,
    ZigTargetField,
)
from build_defs.toolchains.zig import zig_toolchain

__all__ = ["CcToolchain", "CcToolchainRequest", "ToolchainError"]


@dataclass(frozen=True)
class CcToolchainRequest:
    address: Address


@rule(desc="Prepare a C/C++ toolchain", level=LogLevel.DEBUG)
async def prepare_toolchain(request: CcToolchainRequest) -> CcToolchain:
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(request.address, description_of_origin="a toolchain field"),
    )
    tgt = wrapped.target
    tools = (
        dict(tgt[CcToolchainToolsField].value or {}) if tgt.has_field(CcToolchainToolsField) else {}
    )
    if tgt.has_field(CcToolchainCcField):
        programs = {
            "cc": tgt[CcToolchainCcField].value,
            "cxx": tgt[CcToolchainCxxField].value,
            **tools,
        }
        return await Get(CcToolchain, FingerprintRequest(request.address, FrozenDict(programs)))
    if tgt.has_field(ZigTargetField):
        return await zig_toolchain(tgt, tools)
    raise ToolchainError(
        f"{request.address} is not a toolchain: use a `cc_toolchain` or `zig_toolchain` target."
    )


def rules():
    return collect_rules()
