"""The fingerprint of host programs (`HostPrograms`), which makes a host compiler, a host
utility or an emulator a keyed input of every process that runs it.

The fingerprint process runs once per Pants run (it is never cached): it resolves each
program, records its `--version` line and sha256, and writes small wrapper scripts under
`toolchain/bin/`. Builds take the resulting digest as input, so their cache keys change
exactly when a program of the toolchain changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from textwrap import dedent

from pants.core.util_rules.system_binaries import BashBinary
from pants.engine.addresses import Address
from pants.engine.fs import CreateDigest, Digest, DigestContents, FileContent
from pants.engine.internals.selectors import Get
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.engine.rules import collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

TOOLCHAIN_DIR = "toolchain"
FINGERPRINT_FILE = f"{TOOLCHAIN_DIR}/fingerprint.tsv"

_FINGERPRINT_SCRIPT = dedent(
    """\
    set -euo pipefail
    export PATH=/usr/bin:/bin LC_ALL=C
    mkdir -p {dir}/bin
    : > {fingerprint}
    record() {{  # name, resolved file, version
      printf '%s\\t%s\\t%s\\t%s\\n' "$1" "$2" "$(sha256sum -- "$2" | cut -d' ' -f1)" "$3" >> {fingerprint}
    }}
    for spec in "$@"; do
      name="${{spec%%=*}}"; path="${{spec#*=}}"
      if ! real="$(readlink -f -- "$path")" || [ ! -f "$real" ] || [ ! -x "$real" ]; then
        echo "tool '$name' ($path) was not found or is not executable" >&2
        exit 3
      fi
      record "$name" "$real" "$("$real" --version 2>&1 </dev/null | head -n 1 || true)"
      printf '#!/bin/sh\\nexec %s "$@"\\n' "$real" > "{dir}/bin/$name"
      chmod 0755 "{dir}/bin/$name"
      # A compiler driver: also what it really runs and links (gcc's cc1, collect2, crt
      # files, libgcc, libstdc++), so a change to any of them changes the fingerprint.
      case "$name" in cc|cxx) ;; *) continue ;; esac
      for prog in cc1 cc1plus collect2 lto-wrapper as ld; do
        found="$("$real" -print-prog-name="$prog" 2>/dev/null || true)"
        case "$found" in /*) ;; "") continue ;; *) found="$(command -v -- "$found" || true)" ;; esac
        if [ -n "$found" ] && resolved="$(readlink -f -- "$found")" && [ -f "$resolved" ]; then
          record "$name:$prog" "$resolved" "$("$resolved" --version 2>&1 </dev/null | head -n 1 || true)"
        fi
      done
      for file in crt1.o Scrt1.o crti.o crtn.o crtbegin.o crtend.o crtbeginS.o crtendS.o \\
          libgcc.a libgcc_s.so.1 libstdc++.so libstdc++.a; do
        found="$("$real" -print-file-name="$file" 2>/dev/null || true)"
        if [ "$found" != "$file" ] && resolved="$(readlink -f -- "$found")" && [ -f "$resolved" ]; then
          record "$name:$file" "$resolved" "-"
        fi
      done
    done
    """
).format(dir=TOOLCHAIN_DIR, fingerprint=FINGERPRINT_FILE)


@dataclass(frozen=True)
class HostPrograms:
    """Host programs, fingerprinted: `toolchain/bin/<name>` wrappers plus `fingerprint.tsv`."""

    address: Address
    digest: Digest
    programs: FrozenDict[str, str]  # name -> "realpath sha256:<hex> version"

    @property
    def bin_dir(self) -> str:
        return f"{TOOLCHAIN_DIR}/bin"


class ToolchainError(Exception):
    """A toolchain (or a host program it needs) cannot be used on this machine."""


@dataclass(frozen=True)
class FingerprintRequest:
    address: Address
    programs: FrozenDict[str, str]  # name on PATH -> host path
    # What to do when a program is missing, for the error: the owner's own remedy.
    remedy: str = "Install the program or fix the path in the `cc_toolchain` target."


@rule(desc="Fingerprint host programs", level=LogLevel.DEBUG)
async def fingerprint_programs(request: FingerprintRequest, bash: BashBinary) -> HostPrograms:
    programs = request.programs
    script = await Get(
        Digest, CreateDigest([FileContent("fingerprint.sh", _FINGERPRINT_SCRIPT.encode())])
    )
    result = await Get(
        FallibleProcessResult,
        Process(
            argv=(bash.path, "fingerprint.sh", *(f"{k}={v}" for k, v in sorted(programs.items()))),
            input_digest=script,
            output_directories=(TOOLCHAIN_DIR,),
            description=f"Fingerprint the host programs of {request.address}",
            # Re-read the host on every run; downstream caching keys on the output digest.
            cache_scope=ProcessCacheScope.PER_SESSION,
            level=LogLevel.DEBUG,
        ),
    )
    if result.exit_code != 0:
        raise ToolchainError(
            f"The toolchain {request.address} is not usable on this machine: "
            f"{result.stderr.decode().strip()}\n{request.remedy}"
        )
    contents = await Get(DigestContents, Digest, result.output_digest)
    table = "".join(fc.content.decode() for fc in contents if fc.path == FINGERPRINT_FILE)
    fingerprint = {}
    for line in table.splitlines():
        name, real, sha, version = line.split("\t", 3)
        fingerprint[name] = f"{real} sha256:{sha} {version}"
    return HostPrograms(
        address=request.address, digest=result.output_digest, programs=FrozenDict(fingerprint)
    )


def rules():
    return collect_rules()
