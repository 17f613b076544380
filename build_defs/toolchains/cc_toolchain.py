"""The C/C++ toolchain a build compiles with (`CcToolchain`), whatever target supplies it.

Each kind of toolchain target is one module that registers a member of the
`CcToolchainFieldSet` union: `host_toolchain.py` (`cc_toolchain`: the host's compilers,
fingerprinted) and `zig.py` (`zig_toolchain`: the pinned zig). This module defines the
result and picks the member; it imports no kind, so a new kind is one new module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from pants.engine.addresses import Address
from pants.engine.environment import EnvironmentName
from pants.engine.fs import Digest, Directory
from pants.engine.internals.selectors import Get
from pants.engine.rules import collect_rules, rule
from pants.engine.target import FieldSet, WrappedTarget, WrappedTargetRequest
from pants.engine.unions import UnionMembership, union
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.toolchains.host_programs import TOOLCHAIN_DIR, ToolchainError

__all__ = ["CcToolchain", "CcToolchainFieldSet", "CcToolchainRequest", "ToolchainError"]


@dataclass(frozen=True)
class CcToolchain:
    """A C/C++ toolchain as a build sees it: `toolchain/bin/<name>` wrappers (`cc`, `cxx`,
    `ar`, ... and the host utilities) plus `fingerprint.tsv`.

    Processes that use it merge `digest` into their input, pass `immutable_inputs`
    (large read-only files, e.g. the zig wheel, linked rather than copied) and
    `append_only_caches` (e.g. zig's compiled libc++ cache) through, run `prepare` before
    they enter their isolation (`process_script(before_isolation=...)`) and `setup` after.
    """

    address: Address
    digest: Digest
    programs: FrozenDict[str, str]  # name -> "realpath sha256:<hex> version"
    immutable_inputs: FrozenDict[str, Digest] = FrozenDict()
    append_only_caches: FrozenDict[str, str] = FrozenDict()
    # Shell lines a process runs (in its sandbox root, before it uses the toolchain).
    setup: str = ""
    # Shell lines run before `setup`, on the host and in the sandbox (`$PWD`), before the
    # process enters its isolation: work that needs a host program a root file system does
    # not have (unpacking zig's kept tree). What they make, `setup` checks.
    prepare: str = ""
    # The target triple it compiles for when that is fixed by the toolchain (zig's
    # `-target`, e.g. `aarch64-linux-gnu.2.28`); empty for a host compiler (the host's).
    target: str = ""
    # Archives from pinned packages linked into everything it links (zig's `runtime_files`):
    # dicts of `name`, `package`, `sha256` (the package's) and `license`, for the SBOM.
    linked_runtime: tuple[FrozenDict[str, str], ...] = ()
    # The programs it takes from the host (fingerprinted, by absolute path): none of them
    # exists inside a root file system, so a build there refuses a toolchain that has any.
    host_programs: tuple[str, ...] = ()

    @property
    def bin_dir(self) -> str:
        return f"{TOOLCHAIN_DIR}/bin"

    def caches_with(self, other: Mapping[str, str] | None) -> FrozenDict[str, str]:
        """The append-only caches of a process that uses this toolchain and `other`'s."""
        return FrozenDict({**(other or {}), **self.append_only_caches})

    def caches_for(
        self, other: Mapping[str, str] | None, *, fresh: bool
    ) -> tuple[FrozenDict[str, str], tuple[Directory, ...]]:
        """`caches_with(other)`, and with `fresh` (a repro-check build) the toolchain's own
        caches left out and given as empty directories instead, so nothing a warm cache
        hides can make two builds agree."""
        if not fresh:
            return self.caches_with(other), ()
        kept = {k: v for k, v in (other or {}).items() if k not in self.append_only_caches}
        return FrozenDict(kept), tuple(Directory(path) for path in self.append_only_caches.values())


@dataclass(frozen=True)
class CcToolchainRequest:
    address: Address


@union(in_scope_types=[EnvironmentName])
@dataclass(frozen=True)
class CcToolchainFieldSet(FieldSet):
    """A kind of target that supplies a C/C++ toolchain."""


@rule(desc="Prepare a C/C++ toolchain", level=LogLevel.DEBUG)
async def prepare_toolchain(
    request: CcToolchainRequest, union_membership: UnionMembership
) -> CcToolchain:
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(request.address, description_of_origin="a toolchain field"),
    )
    for member in union_membership.get(CcToolchainFieldSet):
        if member.is_applicable(wrapped.target):
            return await Get(CcToolchain, CcToolchainFieldSet, member.create(wrapped.target))
    raise ToolchainError(
        f"{request.address} is not a toolchain: use a `cc_toolchain` or `zig_toolchain` target."
    )


def rules():
    return collect_rules()
