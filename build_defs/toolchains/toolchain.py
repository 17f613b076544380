"""Fingerprint a host C/C++ toolchain so that it becomes a keyed input of every build.

The fingerprint process runs once per Pants run (it is never cached): it resolves each
program, records its `--version` line and sha256, and writes small wrapper scripts under
`toolchain/bin/`. Builds take the resulting digest as input, so their cache keys change
exactly when a program of the toolchain changes.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Mapping
from textwrap import dedent

from pants.core.util_rules.system_binaries import BashBinary
from pants.engine.addresses import Address
from pants.engine.fs import CreateDigest, Digest, DigestContents, FileContent, MergeDigests
from pants.engine.internals.selectors import Get
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.engine.rules import collect_rules, rule
from pants.engine.target import WrappedTarget, WrappedTargetRequest
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.inputs.store_artifact import StoreArtifact, StoreArtifactRequest
from build_defs.target_types import (
    CcToolchainCcField,
    CcToolchainCxxField,
    CcToolchainToolsField,
    PinnedFilenameField,
    PinnedSha256Field,
    SourceVersionField,
    ZigCompileFlagsField,
    ZigLinkFlagsField,
    ZigTargetField,
)

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
class CcToolchainRequest:
    address: Address


@dataclass(frozen=True)
class CcToolchain:
    """A fingerprinted toolchain: `toolchain/bin/<name>` wrappers plus `fingerprint.tsv`.

    Processes that use it merge `digest` into their input, and pass `immutable_inputs`
    (large read-only trees, e.g. the extracted zig wheel, symlinked rather than copied)
    and `append_only_caches` (e.g. zig's compiled libc++ cache) through.
    """

    address: Address
    digest: Digest
    programs: FrozenDict[str, str]  # name -> "realpath sha256:<hex> version"
    immutable_inputs: FrozenDict[str, Digest] = FrozenDict()
    append_only_caches: FrozenDict[str, str] = FrozenDict()
    # Shell lines a process runs (in its sandbox root, before it uses the toolchain).
    setup: str = ""

    @property
    def bin_dir(self) -> str:
        return f"{TOOLCHAIN_DIR}/bin"

    def caches_with(self, other: Mapping[str, str] | None) -> FrozenDict[str, str]:
        """The append-only caches of a process that uses this toolchain and `other`'s."""
        return FrozenDict({**(other or {}), **self.append_only_caches})


class ToolchainError(Exception):
    pass


@dataclass(frozen=True)
class FingerprintRequest:
    address: Address
    programs: FrozenDict[str, str]  # name on PATH -> host path


@rule(desc="Fingerprint host programs", level=LogLevel.DEBUG)
async def fingerprint_programs(request: FingerprintRequest, bash: BashBinary) -> CcToolchain:
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
            f"{result.stderr.decode().strip()}\nInstall the program or fix the path in the "
            f"`cc_toolchain` target."
        )
    contents = await Get(DigestContents, Digest, result.output_digest)
    table = "".join(fc.content.decode() for fc in contents if fc.path == FINGERPRINT_FILE)
    fingerprint = {}
    for line in table.splitlines():
        name, real, sha, version = line.split("\t", 3)
        fingerprint[name] = f"{real} sha256:{sha} {version}"
    return CcToolchain(
        address=request.address,
        digest=result.output_digest,
        programs=FrozenDict(fingerprint),
    )


ZIG_DIR = "zig"
# Where the pinned zig tree arrives (an immutable input, new inodes every Pants run).
ZIG_PINNED_DIR = ".zig-pinned"
# zig links libc++/libc++abi/libunwind statically; keep their symbols out of the dynamic
# symbol table (C symbols a module exports on purpose, e.g. for ctypes, stay exported).
# Only glob patterns: lld rejects an exact name the link does not define.
HIDE_CXX_RUNTIME = """\
{
  local:
    extern "C++" {
      *std::*;
      operator?new*;
      operator?delete*;
      *__cxxabiv1::*;
    };
    __cxa_*;
    __gxx_personality_*;
    __dynamic_cast*;
    _Unwind_*;
    __unw_*;
};
"""
ZIG_CACHE = ".zig-cache"
# zig keys its cache of runtime libraries (libc++, libunwind, glibc stubs) on the identity
# of its own files, not only their content: a fresh copy of the same tree (which Pants
# materialises anew every run) rebuilt them every run. So the build sees one tree per pin,
# kept beside zig's caches, copied once from the pinned input and compared with it byte for
# byte before every use: what the cache holds can never change what is compiled.
_ZIG_TREE_SETUP = """\
zig_tree="$ROOT/{cache}/tree/{sha256}"
if [ ! -e "$zig_tree/.complete" ]; then
  zig_tmp="$ROOT/{cache}/tree/.tmp.$$"
  /bin/rm -rf "$zig_tmp" && /bin/mkdir -p "$zig_tmp"
  /bin/cp -a "$ROOT/{pinned}/." "$zig_tmp/" && : > "$zig_tmp/.complete"
  # Another build may have kept the same tree meanwhile: then use that one.
  /bin/mv -T "$zig_tmp" "$zig_tree" 2>/dev/null || /bin/rm -rf "$zig_tmp"
fi
if ! /usr/bin/diff -rq --exclude=.complete "$ROOT/{pinned}" "$zig_tree" >&2; then
  echo "the kept zig tree $zig_tree differs from the pinned {filename}; delete it and build again" >&2
  exit 72
fi
/bin/ln -s "$zig_tree" "$ROOT/{zig_dir}"
"""
_ZIG_WRAPPER = """\
#!/bin/sh
# {what}, generated from {address}.
here="${{0%/*}}"
export ZIG_GLOBAL_CACHE_DIR="$here/../../{cache}/global" ZIG_LOCAL_CACHE_DIR="$here/../../{cache}/local"
# zig finds its lib dir from its own real path (a per-run temporary directory); name it
# through the sandbox instead, so paths compiled into zig's runtime are the same every run.
export ZIG_LIB_DIR="$here/../../{zig_dir}/ziglang/lib"
{link}exec "$here/../../{zig_dir}/ziglang/zig" {command} "$@"
"""
# Link-only flags go on calls that link (no -c/-S/-E), so compiles get no unused-flag noise.
_LINK_ONLY = """\
link={flags}
for arg in "$@"; do case "$arg" in -c|-S|-E|-M|-MM) link=;; esac; done
"""


def _double_quoted(text: str) -> str:
    """`text` as a double-quoted shell word in which only `$here` (added later) expands."""
    for ch in ("\\", '"', "`", "$"):
        text = text.replace(ch, "\\" + ch)
    return f'"{text}"'


async def _zig_toolchain(tgt, tools: dict[str, str]) -> CcToolchain:
    for name in ("cc", "cxx", "ar", "ranlib"):
        if name in tools:
            raise ToolchainError(f"{tgt.address}: `{name}` comes from zig; remove it from `tools`.")
    host = await Get(CcToolchain, FingerprintRequest(tgt.address, FrozenDict(tools)))
    zig = await Get(StoreArtifact, StoreArtifactRequest.pinned_by(tgt, extract_as=".zip"))
    target = tgt[ZigTargetField].value
    compile_flags = " ".join(shlex.quote(f) for f in (tgt[ZigCompileFlagsField].value or ()))
    link_flags = _double_quoted(
        " ".join(tgt[ZigLinkFlagsField].value or ()).replace("{toolchain_dir}", "\x00")
    ).replace("\x00", "$here/..")
    wrappers = []
    for name, command, link in (
        ("cc", f"cc -target {target} {compile_flags}", True),
        ("cxx", f"c++ -target {target} {compile_flags}", True),
        ("ar", "ar", False),
        ("ranlib", "ranlib", False),
    ):
        text = _ZIG_WRAPPER.format(
            what=f"zig {command}",
            address=tgt.address,
            cache=ZIG_CACHE,
            zig_dir=ZIG_DIR,
            command=command + (" $link" if link else ""),
            link=_LINK_ONLY.format(flags=link_flags) if link else "",
        )
        wrappers.append(FileContent(f"{TOOLCHAIN_DIR}/bin/{name}", text.encode(), is_executable=True))
    wrappers.append(FileContent(f"{TOOLCHAIN_DIR}/hide-cxx-runtime.map", HIDE_CXX_RUNTIME.encode()))
    wrapper_digest = await Get(Digest, CreateDigest(wrappers))
    digest = await Get(Digest, MergeDigests([host.digest, wrapper_digest]))
    zig_id = (
        f"zig {tgt[SourceVersionField].value} from {tgt[PinnedFilenameField].value} "
        f"sha256:{tgt[PinnedSha256Field].value} -target {target}"
    )
    return CcToolchain(
        address=tgt.address,
        digest=digest,
        programs=FrozenDict(
            {
                **host.programs,
                "cc": f"{zig_id} cc {compile_flags} (link: {' '.join(tgt[ZigLinkFlagsField].value or ())})",
                "cxx": f"{zig_id} c++ {compile_flags}",
                "ar": f"{zig_id} ar",
                "ranlib": f"{zig_id} ranlib",
            }
        ),
        immutable_inputs=FrozenDict({ZIG_PINNED_DIR: zig.digest}),
        append_only_caches=FrozenDict({"zig_cache": ZIG_CACHE}),
        setup=_ZIG_TREE_SETUP.format(
            cache=ZIG_CACHE, sha256=tgt[PinnedSha256Field].value, pinned=ZIG_PINNED_DIR,
            zig_dir=ZIG_DIR, filename=tgt[PinnedFilenameField].value,
        ),
    )


@rule(desc="Prepare a C/C++ toolchain", level=LogLevel.DEBUG)
async def prepare_toolchain(request: CcToolchainRequest) -> CcToolchain:
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(request.address, description_of_origin="a toolchain field"),
    )
    tgt = wrapped.target
    tools = dict(tgt[CcToolchainToolsField].value or {}) if tgt.has_field(CcToolchainToolsField) else {}
    if tgt.has_field(CcToolchainCcField):
        programs = {"cc": tgt[CcToolchainCcField].value, "cxx": tgt[CcToolchainCxxField].value, **tools}
        return await Get(CcToolchain, FingerprintRequest(request.address, FrozenDict(programs)))
    if tgt.has_field(ZigTargetField):
        return await _zig_toolchain(tgt, tools)
    raise ToolchainError(
        f"{request.address} is not a toolchain: use a `cc_toolchain` or `zig_toolchain` target."
    )


def rules():
    return collect_rules()
