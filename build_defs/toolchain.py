"""Fingerprint a host C/C++ toolchain so that it becomes a keyed input of every build.

The fingerprint process runs once per Pants run (it is never cached): it resolves each
program, records its `--version` line and sha256, and writes small wrapper scripts under
`toolchain/bin/`. Builds take the resulting digest as input, so their cache keys change
exactly when a program of the toolchain changes.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from textwrap import dedent

from pants.core.util_rules.system_binaries import BashBinary
from pants.engine.addresses import Address
from pants.engine.fs import CreateDigest, Digest, DigestContents, FileContent
from pants.engine.internals.selectors import Get
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.engine.rules import collect_rules, rule
from pants.engine.target import WrappedTarget, WrappedTargetRequest
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.target_types import CcToolchainCcField, CcToolchainCxxField, CcToolchainToolsField

TOOLCHAIN_DIR = "toolchain"
FINGERPRINT_FILE = f"{TOOLCHAIN_DIR}/fingerprint.tsv"

_FINGERPRINT_SCRIPT = dedent(
    """\
    set -euo pipefail
    export PATH=/usr/bin:/bin LC_ALL=C
    mkdir -p {dir}/bin
    for spec in "$@"; do
      name="${{spec%%=*}}"; path="${{spec#*=}}"
      if ! real="$(readlink -f -- "$path")" || [ ! -f "$real" ] || [ ! -x "$real" ]; then
        echo "tool '$name' ($path) was not found or is not executable" >&2
        exit 3
      fi
      sha="$(sha256sum -- "$real" | cut -d' ' -f1)"
      version="$("$real" --version 2>&1 </dev/null | head -n 1 || true)"
      printf '%s\\t%s\\t%s\\t%s\\n' "$name" "$real" "$sha" "$version" >> {fingerprint}
      printf '#!/bin/sh\\nexec %s "$@"\\n' "$real" > "{dir}/bin/$name"
      chmod 0755 "{dir}/bin/$name"
    done
    """
).format(dir=TOOLCHAIN_DIR, fingerprint=FINGERPRINT_FILE)


@dataclass(frozen=True)
class CcToolchainRequest:
    address: Address


@dataclass(frozen=True)
class CcToolchain:
    """A fingerprinted toolchain: `toolchain/bin/<name>` wrappers plus `fingerprint.tsv`."""

    address: Address
    digest: Digest
    programs: FrozenDict[str, str]  # name -> "realpath sha256 version"

    @property
    def bin_dir(self) -> str:
        return f"{TOOLCHAIN_DIR}/bin"


class ToolchainError(Exception):
    pass


@rule(desc="Fingerprint a C/C++ toolchain", level=LogLevel.DEBUG)
async def fingerprint_toolchain(request: CcToolchainRequest, bash: BashBinary) -> CcToolchain:
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(request.address, description_of_origin="a toolchain field"),
    )
    tgt = wrapped.target
    if not tgt.has_field(CcToolchainCcField):
        raise ToolchainError(f"{request.address} is not a `cc_toolchain` target.")
    programs = {
        "cc": tgt[CcToolchainCcField].value,
        "cxx": tgt[CcToolchainCxxField].value,
        **dict(tgt[CcToolchainToolsField].value or {}),
    }
    script = await Get(
        Digest, CreateDigest([FileContent("fingerprint.sh", _FINGERPRINT_SCRIPT.encode())])
    )
    result = await Get(
        FallibleProcessResult,
        Process(
            argv=(bash.path, "fingerprint.sh", *(f"{k}={v}" for k, v in sorted(programs.items()))),
            input_digest=script,
            output_directories=(TOOLCHAIN_DIR,),
            description=f"Fingerprint toolchain {request.address}",
            # Re-read the host on every run; downstream caching keys on the output digest.
            cache_scope=ProcessCacheScope.PER_SESSION,
            level=LogLevel.DEBUG,
        ),
    )
    if result.exit_code != 0:
        raise ToolchainError(
            f"The toolchain {request.address} is not usable on this machine: "
            f"{result.stderr.decode().strip()}\nInstall the program or fix the path in the "
            f"`cc_toolchain` target."
        )
    contents = await Get(DigestContents, Digest, result.output_digest)
    table = next(fc for fc in contents if fc.path == FINGERPRINT_FILE).content.decode()
    fingerprint = {}
    for line in table.splitlines():
        name, real, sha, version = line.split("\t", 3)
        fingerprint[name] = f"{real} sha256:{sha} {version}"
    return CcToolchain(
        address=request.address,
        digest=result.output_digest,
        programs=FrozenDict(fingerprint),
    )


def describe(toolchain: CcToolchain) -> str:
    return "\n".join(f"  {name}: {shlex.quote(v)}" for name, v in sorted(toolchain.programs.items()))


def rules():
    return collect_rules()
