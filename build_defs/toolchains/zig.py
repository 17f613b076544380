"""The hermetic toolchain: `zig cc`/`zig c++` from a pinned `ziglang` wheel, for one target
triple, on any Linux host. Its wrappers carry what zig needs to behave like the GCC that
projects expect (link-only flags, GCC's `-march` spelling for Arm), and the pinned zig
tree is kept once per pin so that zig's caches stay warm across runs.
"""

from __future__ import annotations

import base64
import csv
import shlex
from dataclasses import dataclass

from pants.core.util_rules.system_binaries import UnzipBinary
from pants.engine.fs import EMPTY_DIGEST, CreateDigest, Digest, FileContent, MergeDigests, Snapshot
from pants.engine.internals.selectors import Get, MultiGet
from pants.engine.process import FallibleProcessResult, Process
from pants.engine.rules import collect_rules, rule
from pants.engine.target import Target, WrappedTarget, WrappedTargetRequest
from pants.engine.unions import UnionRule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.bootstrap import wheel_tags
from build_defs.inputs.debian_package import DebianFilesRequest
from build_defs.inputs.store_artifact import StoreArtifact, StoreArtifactRequest
from build_defs.inputs.target_types import (
    PinnedFilenameField,
    PinnedSha256Field,
    SourceVersionField,
)
from build_defs.toolchains.cc_toolchain import CcToolchain, CcToolchainFieldSet
from build_defs.toolchains.host_programs import (
    TOOLCHAIN_DIR,
    FingerprintRequest,
    HostPrograms,
    ToolchainError,
)
from build_defs.toolchains.target_types import (
    CcToolchainToolsField,
    ZigCompileFlagsField,
    ZigLinkFlagsField,
    ZigRuntimeFilesField,
    ZigRuntimeLicenseField,
    ZigRuntimePackagesField,
    ZigTargetField,
)

ZIG_DIR = "zig"
# Where the pinned zig wheel arrives (an immutable input: one file, linked into the sandbox).
ZIG_PINNED_DIR = ".zig-pinned"
# The kept tree's expected contents, from the wheel's own RECORD: `sha256sum -c` manifests
# in two parts of about equal bytes, so two cores check it at once.
ZIG_MANIFEST = f"{TOOLCHAIN_DIR}/zig-tree"
ZIG_MANIFEST_PARTS = 2
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
ZIG_LOCAL_CACHE = ".zig-local-cache"
# zig keys its cache of runtime libraries (libc++, libunwind, glibc stubs) on the identity
# of its own files, not only their content: a fresh copy of the same tree (which Pants
# materialised anew every run) rebuilt them every run. So the build sees one tree per pin,
# kept beside zig's caches. It is unpacked from the pinned wheel once per pin, not once per
# cold process cache (unpacking 19,540 files took 8-10 s of every cold build when Pants
# extracted the wheel as an input), and it is checked before every use against the wheel's
# own RECORD (the sha256 of every file, and not one file more): what the cache holds can
# never change what is compiled.
# The unpacking runs on the host, before the process enters its isolation: a root file
# system has no unzip. The copy is made under a name mktemp makes unique (not `$$`: every
# build in a root file system has its own PID namespace, so two concurrent ones are both
# PID 1) and lands with one rename only when it is whole.
_ZIG_TREE_UNPACK = """\
zig_tree="$PWD/{cache}/tree/{sha256}"
if [ ! -e "$zig_tree/.complete" ]; then
  if [ ! -x /usr/bin/unzip ]; then
    echo "this host has no /usr/bin/unzip, which unpacks the pinned {filename} (once per pin): install unzip" >&2
    exit 72
  fi
  /bin/mkdir -p "$PWD/{cache}/tree"
  zig_tmp="$(/bin/mktemp -d "$PWD/{cache}/tree/.tmp.XXXXXXXX")" && /bin/chmod 755 "$zig_tmp" || exit 72
  if ! /usr/bin/unzip -q "$PWD/{pinned}/{filename}" -d "$zig_tmp" || ! : > "$zig_tmp/.complete"; then
    /bin/rm -rf "$zig_tmp"
    echo "could not unpack the pinned {filename} into $PWD/{cache}/tree (see above)" >&2
    exit 72
  fi
  # A tree left incomplete (by an older version of this script) is never used: replace it.
  if [ -d "$zig_tree" ] && [ ! -e "$zig_tree/.complete" ]; then /bin/rm -rf "$zig_tree"; fi
  # Another build may have kept the same tree meanwhile: then use that one.
  /bin/mv -T "$zig_tmp" "$zig_tree" 2>/dev/null || /bin/rm -rf "$zig_tmp"
fi
"""
# Inside the isolation (and a root file system, whose coreutils check it): the kept tree
# against the manifest, its parts side by side when the process holds two cores.
_ZIG_TREE_SETUP = """\
zig_tree="$ROOT/{cache}/tree/{sha256}"
zig_check() {{  # an empty part (a tree of one file) has nothing to check
  [ ! -s "$ROOT/{manifest}.$1.sha256" ] || (cd "$zig_tree" && /usr/bin/sha256sum --quiet --strict -c "$ROOT/{manifest}.$1.sha256") >&2
}}
zig_ok=1
if [ ! -e "$zig_tree/.complete" ]; then
  echo "the kept zig tree $zig_tree is missing: this process did not unpack it before entering its isolation" >&2
  exit 72
elif [ "${{JOBS:-1}}" -ge 2 ]; then
  zig_check 1 & zig_first=$!
  zig_check 2 || zig_ok=0
  wait "$zig_first" || zig_ok=0
else
  zig_check 1 || zig_ok=0
  zig_check 2 || zig_ok=0
fi
if [ "$zig_ok" = 1 ] && [ "$(/usr/bin/du --inodes -s "$zig_tree" | /usr/bin/cut -f1)" != {inodes} ]; then
  echo "the kept zig tree $zig_tree has other files than the pinned {filename} (want {inodes} files and directories)" >&2
  zig_ok=0
fi
if [ "$zig_ok" != 1 ]; then
  echo "the kept zig tree $zig_tree differs from the pinned {filename}; delete it and build again" >&2
  exit 72
fi
/bin/ln -s "$zig_tree" "$ROOT/{zig_dir}"
"""
# zig keeps two caches: the global one (runtime libraries it builds: libc++, musl, glibc
# stubs) is shared through a named cache; the local one (every C/C++ object it compiles) is the
# process's own, in its sandbox. Two builds at the same fixed root compile the same
# configure test programs at the same paths at once, and zig's cache is not safe for
# identical compilations racing in one directory (ziglang/zig#18989); nothing else is lost,
# since Pants caches whole processes.
_ZIG_WRAPPER = """\
#!/bin/sh
# {what}, generated from {address}.
here="${{0%/*}}"
export ZIG_GLOBAL_CACHE_DIR="$here/../../{cache}/global" ZIG_LOCAL_CACHE_DIR="$here/../../{local_cache}"
# zig finds its lib dir from its own real path (a per-run temporary directory); name it
# through the sandbox instead, so paths compiled into zig's runtime are the same every run.
export ZIG_LIB_DIR="$here/../../{zig_dir}/ziglang/lib"
{rewrite}{link}exec "$here/../../{zig_dir}/ziglang/zig" {command} "$@"
"""
# GCC's names of Arm architecture extensions where LLVM's (and so zig's) differ.
GCC_TO_ZIG_ARM_FEATURES = {"fp16": "fullfp16", "simd": "neon", "fp": "fp_armv8", "rdma": "rdm"}


def march_rewrite(features: dict[str, str] = GCC_TO_ZIG_ARM_FEATURES) -> str:
    """Shell lines that rewrite GCC's `-march=armv<X>[.<Y>]-a[+ext...]` into what zig accepts,
    `-mcpu=generic+v<X>[_<Y>]a[+ext...]` (GCC's `+noext` becomes `-ext`): projects probe
    their Arm dispatch targets with GCC's spelling, which zig rejects, and would otherwise
    build only their baseline. Any other argument passes through unchanged."""
    renames = "".join(f"        {gcc}) ext={zig} ;;\n" for gcc, zig in sorted(features.items()))
    return f"""\
for arg do
  shift
  case "$arg" in
    -march=armv[0-9]*-a|-march=armv[0-9]*-a+*)
      rest="${{arg#-march=armv}}"; version="${{rest%%-a*}}"; exts="${{rest#"$version"-a}}"
      major="${{version%%.*}}"; minor=""
      [ "$major" != "$version" ] && minor="_${{version#*.}}"
      arg="-mcpu=generic+v${{major}}${{minor}}a"
      while [ -n "$exts" ]; do
        exts="${{exts#+}}"; ext="${{exts%%+*}}"; exts="${{exts#"$ext"}}"
        sign=+
        case "$ext" in no*) sign=-; ext="${{ext#no}}" ;; esac
        case "$ext" in
{renames}        esac
        arg="$arg$sign$ext"
      done ;;
  esac
  set -- "$@" "$arg"
done
"""


# Link-only flags go on calls that link (no -c/-S/-E), so compiles get no unused-flag noise.
_LINK_ONLY = """\
link={flags}
for arg in "$@"; do case "$arg" in -c|-S|-E|-M|-MM) link=;; esac; done
"""


def kept_tree_manifest(record: str, parts: int = ZIG_MANIFEST_PARTS) -> tuple[tuple[str, ...], int]:
    """`sha256sum -c` manifests (`parts` of them, of about equal bytes) of the tree a wheel
    unpacks to, from its RECORD, and how many files and directories that tree holds with
    its top directory and the `.complete` mark (what `du --inodes -s` counts), so that a
    file added to the kept tree is caught as well as a changed one."""
    loads: list[int] = [0] * parts
    lines: list[list[str]] = [[] for _ in range(parts)]
    files: set[str] = set()
    dirs: set[str] = set()
    # Rows as (path, hash, size), largest first, so each file goes to the lighter part.
    rows = [tuple((row + ["", ""])[:3]) for row in csv.reader(record.splitlines()) if row]
    for path, digest, size in sorted(rows, key=lambda r: -int(r[2] or 0)):
        if path.startswith("/") or ".." in path.split("/") or "\\" in path or "\n" in path:
            raise ValueError(f"RECORD names a path a wheel may not hold: {path!r}")
        files.add(path)
        dirs.update("/".join(path.split("/")[:n]) for n in range(1, path.count("/") + 1))
        if not digest:  # the RECORD itself (and its signatures) carry no hash
            continue
        algorithm, _, value = digest.partition("=")
        if algorithm != "sha256":
            raise ValueError(f"RECORD hashes {path} with {algorithm}, not sha256")
        hex_digest = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex()
        part = loads.index(min(loads))
        loads[part] += int(size or 0)
        lines[part].append(f"{hex_digest}  ./{path}\n")
    if not any(lines):
        raise ValueError("RECORD lists no file with a sha256")
    return tuple("".join(sorted(part)) for part in lines), 1 + len(files) + len(dirs) + 1


def _double_quoted(text: str) -> str:
    """`text` as a double-quoted shell word in which only `$here` (added later) expands."""
    for ch in ("\\", '"', "`", "$"):
        text = text.replace(ch, "\\" + ch)
    return f'"{text}"'


@dataclass(frozen=True)
class ZigToolchainFieldSet(CcToolchainFieldSet):
    required_fields = (ZigTargetField,)

    zig_target: ZigTargetField
    tools: CcToolchainToolsField


async def _manifest_of(
    tgt: Target, wheel: Digest, unzip: UnzipBinary
) -> tuple[tuple[str, ...], int]:
    """The kept tree's manifest and size, from the RECORD inside the pinned wheel (which the
    wheel's sha256 pins with it)."""
    filename = tgt[PinnedFilenameField].value
    name, version = filename.split("-")[:2]
    record = f"{name}-{version}.dist-info/RECORD"
    result = await Get(
        FallibleProcessResult,
        Process(
            argv=(unzip.path, "-p", filename, record),
            input_digest=EMPTY_DIGEST,
            immutable_input_digests={ZIG_PINNED_DIR: wheel},
            working_directory=ZIG_PINNED_DIR,
            description=f"Read the RECORD of {filename}",
            level=LogLevel.DEBUG,
        ),
    )
    if result.exit_code != 0 or not result.stdout:
        raise ToolchainError(
            f"{tgt.address}: the pinned {filename} has no {record} ({result.stderr.decode().strip()}); "
            "pin a ziglang wheel, whose RECORD lists the sha256 of every file the build checks."
        )
    try:
        return kept_tree_manifest(result.stdout.decode())
    except ValueError as e:
        raise ToolchainError(f"{tgt.address}: the pinned {filename}'s {record}: {e}")


@rule(desc="Prepare the pinned zig toolchain", level=LogLevel.DEBUG)
async def zig_toolchain(field_set: ZigToolchainFieldSet, unzip: UnzipBinary) -> CcToolchain:
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(field_set.address, description_of_origin="a toolchain field"),
    )
    tgt, tools = wrapped.target, dict(field_set.tools.value or {})
    filename = tgt[PinnedFilenameField].value
    try:
        host_platform = wheel_tags.host_store_platform()
    except ValueError as e:
        raise ToolchainError(f"{tgt.address}: {e}")
    if not wheel_tags.runs_on(filename, host_platform):
        # The compiler cross-compiles for any target, but it is itself a host program.
        raise ToolchainError(
            f"{tgt.address}: the pinned zig ({filename}) runs on other hosts, not on this "
            f"{host_platform.name} one (glibc or macOS {'.'.join(map(str, host_platform.os_max))}). Build on a "
            f"host its wheel's tags name, or pin the ziglang wheel for this host in {tgt.address}."
        )
    for name in ("cc", "cxx", "ar", "ranlib"):
        if name in tools:
            raise ToolchainError(f"{tgt.address}: `{name}` comes from zig; remove it from `tools`.")
    host = await Get(HostPrograms, FingerprintRequest(tgt.address, FrozenDict(tools)))
    zig = await Get(StoreArtifact, StoreArtifactRequest.pinned_by(tgt))
    manifest, inodes = await _manifest_of(tgt, zig.digest, unzip)
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
            local_cache=ZIG_LOCAL_CACHE,
            zig_dir=ZIG_DIR,
            command=command + (" $link" if link else ""),
            rewrite=march_rewrite() if link else "",
            link=_LINK_ONLY.format(flags=link_flags) if link else "",
        )
        wrappers.append(
            FileContent(f"{TOOLCHAIN_DIR}/bin/{name}", text.encode(), is_executable=True)
        )
    wrappers.append(FileContent(f"{TOOLCHAIN_DIR}/hide-cxx-runtime.map", HIDE_CXX_RUNTIME.encode()))
    wrappers.extend(
        FileContent(f"{ZIG_MANIFEST}.{n}.sha256", part.encode())
        for n, part in enumerate(manifest, 1)
    )
    wrapper_digest = await Get(Digest, CreateDigest(wrappers))
    runtime_packages = tgt[ZigRuntimePackagesField].value or ()
    runtime_files = dict(tgt[ZigRuntimeFilesField].value or {})
    if bool(runtime_packages) != bool(runtime_files):
        raise ToolchainError(
            f"{tgt.address}: `runtime_packages` and `runtime_files` go together; set both or neither."
        )
    license = tgt[ZigRuntimeLicenseField].value
    if runtime_files and not license:
        raise ToolchainError(
            f"{tgt.address}: set `runtime_license` (an SPDX expression) for its `runtime_files`: they "
            "are linked into every wheel, whose SBOM lists them."
        )
    wanted = FrozenDict(
        {path: f"{TOOLCHAIN_DIR}/runtime/{name}" for path, name in runtime_files.items()}
    )
    # One unpack per package, so each file's SBOM entry names the package it came from.
    per_package = await MultiGet(
        Get(Digest, DebianFilesRequest((package,), wanted, tgt.address))
        for package in runtime_packages
    )
    origin: dict[str, FrozenDict] = {}
    for package, snapshot in zip(
        runtime_packages, await MultiGet(Get(Snapshot, Digest, d) for d in per_package)
    ):
        for path in snapshot.files:
            origin.setdefault(path, package)
    missing = sorted(
        n for n in runtime_files.values() if f"{TOOLCHAIN_DIR}/runtime/{n}" not in origin
    )
    if missing:
        raise ToolchainError(
            f"{tgt.address}: `runtime_files` {missing} are not in its `runtime_packages`."
        )
    runtime = await Get(Digest, MergeDigests(per_package)) if runtime_packages else None
    linked_runtime = tuple(
        FrozenDict(
            {
                "name": name,
                "package": origin[f"{TOOLCHAIN_DIR}/runtime/{name}"]["filename"],
                "sha256": origin[f"{TOOLCHAIN_DIR}/runtime/{name}"]["sha256"],
                "license": license or "",
            }
        )
        for name in sorted(runtime_files.values())
    )
    digest = await Get(
        Digest, MergeDigests([host.digest, wrapper_digest, *([runtime] if runtime else [])])
    )
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
                **(
                    {
                        "runtime": " ".join(
                            f"{p['filename']}:{p['sha256']}" for p in runtime_packages
                        )
                    }
                    if runtime_packages
                    else {}
                ),
                "ranlib": f"{zig_id} ranlib",
            }
        ),
        immutable_inputs=FrozenDict({ZIG_PINNED_DIR: zig.digest}),
        append_only_caches=FrozenDict({"zig_cache": ZIG_CACHE}),
        target=target,
        linked_runtime=linked_runtime,
        host_programs=tuple(sorted(host.programs)),
        prepare=_ZIG_TREE_UNPACK.format(
            cache=ZIG_CACHE,
            sha256=tgt[PinnedSha256Field].value,
            pinned=ZIG_PINNED_DIR,
            filename=filename,
        ),
        setup=_ZIG_TREE_SETUP.format(
            cache=ZIG_CACHE,
            sha256=tgt[PinnedSha256Field].value,
            manifest=ZIG_MANIFEST,
            inodes=inodes,
            zig_dir=ZIG_DIR,
            filename=filename,
        ),
    )


def rules():
    return [*collect_rules(), UnionRule(CcToolchainFieldSet, ZigToolchainFieldSet)]
