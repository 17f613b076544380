"""A root file system assembled from pinned Debian packages, and the shell lines that run a
process inside it: the build environment of an interpreter that cannot run on the host
(a CPython whose glibc is newer than the host's).

The root is a Pants digest, unpacked once from the packages' pinned `.deb` files by a small
standard-library script and cached like any process output: the same packages give the
same digest on every machine. A process enters it through `Isolation.wrap(..., root=...)`:
private mount, network and PID namespaces; a fresh tmpfs as `/`, with the root's `/usr`,
`/etc` and `/var` bound read-only and its merged-/usr links copied; the sandbox bound at the
fixed build root; a private `/proc`, `/tmp` and a `/dev` of five device files. The host
contributes the kernel and the Pants-managed inputs the sandbox links to (the pinned zig
tree and its caches), nothing else: `/usr/include` in there is the root's, not the host's.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from textwrap import dedent

from pants.engine.addresses import Address, Addresses, UnparsedAddressInputs
from pants.engine.fs import (
    EMPTY_DIGEST,
    Digest,
    RemovePrefix,
)
from pants.engine.internals.selectors import Get
from pants.engine.process import Process, ProcessCacheScope, ProcessResult
from pants.engine.rules import collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.toolchains.cc_toolchain import CcToolchain
from build_defs.toolchains.interpreter import Interpreter, InterpreterRequest
from build_defs.wheels.emulation import unpacker_inputs
from build_defs.wheels.subsystem import MesonWheelSubsystem

# Where a process finds the root's tree (an immutable input: materialised once per run).
ROOT_FS_DIR = ".root-fs"
_DEBS = "root-debs"
_OUT = "rootfs"
# The root's directories bound into the new `/`; everything else there is made fresh.
ROOT_DIRS = ("usr", "etc", "var", "opt")


@dataclass(frozen=True)
class RootFsRequest:
    packages: tuple[FrozenDict, ...]  # dicts of filename, sha256, size
    owner: Address
    # Set by `repro-check`: a fresh, uncached assembly (the value changes nothing else).
    nonce: str = ""


@dataclass(frozen=True)
class RootFs:
    """The unpacked root, at the top of `digest`; processes take it as the immutable input
    `ROOT_FS_DIR`."""

    digest: Digest
    packages: tuple[FrozenDict, ...]

    @property
    def immutable_inputs(self) -> FrozenDict[str, Digest]:
        return FrozenDict({ROOT_FS_DIR: self.digest} if self.packages else {})

    @property
    def env(self) -> dict[str, str]:
        """Keys every process that runs inside the root on the packages it is made of."""
        if not self.packages:
            return {}
        return {"ROOT_FS": " ".join(f"{p['filename']}:{p['sha256']}" for p in self.packages)}

    def compile_env(self, interpreter: Interpreter) -> str:
        """Shell lines (`$ROOT` set) for compiling against `interpreter` inside the root.
        Debian's `pyconfig.h` includes `<TRIPLET/pythonX.Y/pyconfig.h>`, which only a
        `-I/usr/include` would find, and that would put the root's C library headers before
        the toolchain's: so only that one directory is made findable, after all others."""
        if not self.packages or interpreter.cross:
            # A cross build reads the target's own headers (`CrossTarget`), not the root's.
            return ""
        triplet, version = interpreter.facts["target_triplet"], interpreter.version
        arch = f'"$ROOT/.multiarch-include/{triplet}"'
        return (
            f"/bin/mkdir -p {arch} && /bin/ln -sfn /usr/include/{triplet}/python{version} {arch}/\n"
            'export CFLAGS="-idirafter $ROOT/.multiarch-include ${CFLAGS:-}" '
            'CXXFLAGS="-idirafter $ROOT/.multiarch-include ${CXXFLAGS:-}"\n'
        )

    def check_toolchain(self, owner: Address, where: str, toolchain: CcToolchain) -> None:
        """A toolchain that names host programs cannot serve a build in the root (`where`
        names it): those paths are the root's programs there, not the fingerprinted host
        ones it would record."""
        if self.packages and toolchain.host_programs:
            raise RootFsError(
                f"{owner} runs in {where}, which holds none of "
                f"the host programs its toolchain {toolchain.address} names "
                f"({', '.join(toolchain.host_programs)}): use a toolchain without host programs "
                "(a `zig_toolchain` without `tools`, e.g. 3rdparty/toolchains:zig-in-root)."
            )

    @property
    def path_suffix(self) -> str:
        """Appended to a process's PATH: the root's own (pinned) programs."""
        return ":/usr/bin" if self.packages else ""


NO_ROOT = RootFs(EMPTY_DIGEST, ())


async def root_fs_for(interpreter: Interpreter) -> RootFs:
    """The root file system `interpreter` runs in; `NO_ROOT` for a host interpreter."""
    if not interpreter.root_packages:
        return NO_ROOT
    return await Get(RootFs, RootFsRequest(interpreter.root_packages, interpreter.address))


class RootFsError(Exception):
    pass


@rule(desc="Assemble a root file system from pinned Debian packages", level=LogLevel.DEBUG)
async def assemble_root_fs(request: RootFsRequest, settings: MesonWheelSubsystem) -> RootFs:
    if not request.packages:
        raise RootFsError(f"{request.owner}: a root file system needs at least one package.")
    (host_address,) = await Get(
        Addresses,
        UnparsedAddressInputs(
            (settings.host_interpreter,),
            owning_address=None,
            description_of_origin="the `[meson-build].host_interpreter` option",
        ),
    )
    host = await Get(Interpreter, InterpreterRequest(host_address))
    inputs = await unpacker_inputs(request.packages, request.owner, _DEBS)
    result = await Get(
        ProcessResult,
        Process(
            # "-": no precompiling (the root's CPython is not the host's).
            argv=(
                host.path,
                # No user site or PYTHON* variables; the script's own directory stays importable.
                "-E",
                "-s",
                "unpack_rootfs.py",
                _OUT,
                "-",
                *(f"{_DEBS}/{p['filename']}" for p in request.packages),
            ),
            input_digest=inputs,
            output_directories=(_OUT,),
            env=FrozenDict(
                {**host.env, **({"REPRO_CHECK_NONCE": request.nonce} if request.nonce else {})}
            ),
            cache_scope=(
                ProcessCacheScope.PER_SESSION if request.nonce else ProcessCacheScope.SUCCESSFUL
            ),
            description=f"Assemble the root file system of {request.owner} ({len(request.packages)} Debian packages)",
            level=LogLevel.INFO,
        ),
    )
    # The tree itself, without the `rootfs/` prefix.
    tree = await Get(Digest, RemovePrefix(result.output_digest, _OUT))
    return RootFs(tree, request.packages)


def enter_root_script(fixed_root: str) -> str:
    """The script (run by the host's bash inside fresh mount, network and PID namespaces,
    with the sandbox as its working directory) that builds the new `/` from `ROOT_FS_DIR`
    and execs `$1` there, from the sandbox bound at `fixed_root`."""
    root = shlex.quote(fixed_root)
    binds = " ".join(ROOT_DIRS)
    return dedent(
        f"""\
        set -eu
        S="$PWD"; R="$S/.new-root"; src="$(/bin/readlink -f "$S/{ROOT_FS_DIR}")"
        /bin/mkdir -p "$R" && /bin/mount -t tmpfs -o mode=0755 new-root "$R"
        for name in {binds}; do
          [ -d "$src/$name" ] || continue
          /bin/mkdir "$R/$name" && /bin/mount --rbind "$src/$name" "$R/$name"
          /bin/mount -o remount,bind,ro "$R/$name"
        done
        for link in "$src"/*; do [ -L "$link" ] && /bin/cp -P "$link" "$R/"; done
        /bin/mkdir -p "$R/dev" "$R/proc" "$R/tmp"
        /bin/mount -t tmpfs -o mode=0755 dev "$R/dev"
        for node in null zero full random urandom; do
          : > "$R/dev/$node" && /bin/mount --bind "/dev/$node" "$R/dev/$node"
        done
        /bin/ln -s /proc/self/fd "$R/dev/fd"
        /bin/mkdir "$R/dev/shm" && /bin/mount -t tmpfs -o mode=1777 shm "$R/dev/shm"
        /bin/mount -t proc proc "$R/proc"
        /bin/mount -t tmpfs -o mode=1777 tmp "$R/tmp"
        # The sandbox's links to Pants-managed inputs (immutable inputs, named caches) point
        # at host paths: the same paths, and only those, are bound inside.
        for link in "$S"/* "$S"/.[!.]*; do
          [ -L "$link" ] || continue
          target="$(/bin/readlink "$link")"
          case "$target" in /*) ;; *) continue ;; esac
          case "$target" in "$S"/*) continue ;; esac
          [ -e "$target" ] || continue
          /bin/mkdir -p "$R$target" && /bin/mount --bind "$target" "$R$target"
        done
        /bin/mkdir -p "$R"{root} && /bin/mount --bind "$S" "$R"{root}
        exec /usr/sbin/chroot "$R" /bin/bash -c 'cd "$1" && exec /bin/bash "$2"' _ {root} "$1"
        """
    )


def rules():
    return collect_rules()
