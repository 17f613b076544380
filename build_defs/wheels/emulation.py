"""Running the tests of a wheel of another architecture here, under qemu-user.

The target's own interpreter comes from a root file system unpacked from pinned Debian
packages (the target interpreter's `test_packages`), in the test's sandbox, offline. qemu
is called explicitly (`-L` the root file system): this host has no binfmt_misc
registration, so an emulated process cannot start another target program, and tests that
need to are run as separate selections by the harness instead. The emulated CPU is pinned
(`wheel_test.emulated_cpu`) and printed; the qemu program is fingerprinted like a compiler.

A target interpreter built in the graph (`source_interpreter.py`) has its tree put in the
sandbox: for this host's CPU (a musl CPython on a glibc host) it needs no emulator and runs
directly, inside the root file system that holds its C library's loader; for another CPU
qemu runs it, the root file system of its `test_packages` holding that loader.
"""

from __future__ import annotations

import pkgutil
import shlex
from dataclasses import dataclass

from pants.engine.addresses import Address
from pants.engine.fs import (
    EMPTY_DIGEST,
    AddPrefix,
    CreateDigest,
    Digest,
    FileContent,
    MergeDigests,
    Snapshot,
)
from pants.engine.internals.selectors import Get, MultiGet
from pants.engine.rules import collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.inputs.debian_package import DebianFilesRequest
from build_defs.inputs.store_artifact import StoreArtifact, StoreArtifactRequest
from build_defs.toolchains.host_programs import FingerprintRequest, HostPrograms
from build_defs.toolchains.interpreter import CrossTarget, host_machine

ROOTFS = "rootfs"
DEBS_DIR = "rootfs-debs"
TARGET_SITE = "target-site"
TARGET_PYTHON = "target-python"
TARGET_TREE = "target-tree"
EMULATOR_DIR = "emulator"


def rootfs_unpacker() -> dict[str, bytes]:
    """The root file system's unpacker and the `.deb` reader it imports, by file name."""
    return {
        "unpack_rootfs.py": pkgutil.get_data("build_defs.wheels", "scripts/unpack_rootfs.py")
        or b"",
        "deb_archive.py": pkgutil.get_data("build_defs.inputs", "deb_archive.py") or b"",
    }


async def unpacker_inputs(
    packages: tuple[FrozenDict, ...], owner: Address, debs_dir: str
) -> Digest:
    """The pinned `.deb` files of `packages` under `debs_dir`, with the unpacker beside them."""
    debs = await MultiGet(
        Get(StoreArtifact, StoreArtifactRequest(p["filename"], p["sha256"], p["size"], owner))
        for p in packages
    )
    debs_digest = await Get(
        Digest, AddPrefix(await Get(Digest, MergeDigests(d.digest for d in debs)), debs_dir)
    )
    script = await Get(
        Digest,
        CreateDigest([FileContent(name, data) for name, data in sorted(rootfs_unpacker().items())]),
    )
    return await Get(Digest, MergeDigests([debs_digest, script]))


@dataclass(frozen=True)
class EmulatedPythonRequest:
    owner: Address
    cross: CrossTarget
    version: str  # MAJOR.MINOR of the target interpreter
    cpu: str  # qemu's -cpu
    emulator: str | None  # the qemu-user program; None: Debian's qemu-<arch>-static
    wheel: str  # the wheel under test, relative to the sandbox root
    # Whether the test runs inside the root file system of its build interpreter.
    in_root: bool = False


@dataclass(frozen=True)
class EmulatedPython:
    """Inputs and shell lines that give a test script `$PYTHON`, the target's interpreter
    under qemu, with the wheel installed for it into `$ROOT/target-site`."""

    digest: Digest
    # Shell lines (after the test tools are activated): unpack the root file system,
    # install the wheel for the target and write `$ROOT/target-python`.
    setup: str
    # The emulator's fingerprint and the emulated CPU, for the process environment.
    env: FrozenDict[str, str]


class EmulationError(Exception):
    pass


def _install_for_target(request: EmulatedPythonRequest) -> str:
    """Shell lines: the build interpreter's own pip installs the wheel for the target into
    `$ROOT/target-site` (the tool venv has none), by the wheel's most specific platform tag."""
    platform_tag = request.wheel[: -len(".whl")].rsplit("-", 1)[1].split(".")[-1]
    if request.in_root:
        # In a root file system: the pip wheel its Debian packages ship (its CPython has no
        # pip module), loading no CA certificates for an install from a local file.
        pip = '"$TOOL_PREFIX/bin/python" "$(echo /usr/share/python-wheels/pip-*.whl)/pip"'
        pip_options = "--use-deprecated=legacy-certs "
    else:
        pip = """"$("$TOOL_PREFIX/bin/python" -c 'import os, sys; print(os.path.realpath(sys.executable))')" -m pip"""
        pip_options = ""
    return f"""\
{pip} install {pip_options}\\
  --isolated --quiet --root-user-action=ignore --no-index --no-deps --no-cache-dir --disable-pip-version-check \\
  --target "$ROOT/{TARGET_SITE}" --only-binary=:all: --implementation cp --python-version {request.version} \\
  --platform {platform_tag} "$ROOT/{request.wheel}"
"""


# The build interpreter's venv's site-packages (the test tools, pure Python), for the target.
_TOOL_SITE = """$("$TOOL_PREFIX/bin/python" -c 'import sys; print(":".join(p for p in sys.path if p.endswith("site-packages")))')"""


# pip writes its own interpreter into the scripts it installs for the target: name the target's.
_RESHEBANG = (
    "import sys; path, python = sys.argv[1:]; text = open(path).read()\n"
    "if text.startswith('#!'): open(path, 'w').write('#!' + python + text[text.index(chr(10)):])"
)


async def _native_python(request: EmulatedPythonRequest) -> EmulatedPython:
    """A target interpreter built in the graph for this host's CPU (another C library): its
    tree in the sandbox, run directly (the root holds its loader), subprocesses included."""
    cross = request.cross
    assert cross.interpreter_tree is not None
    tree = await Get(Digest, AddPrefix(cross.interpreter_tree, TARGET_TREE))
    setup = f"""\
{_install_for_target(request)}/bin/cat > "$ROOT/{TARGET_PYTHON}" <<EOF
#!/bin/sh
export PYTHONPATH="$ROOT/{TARGET_SITE}:{_TOOL_SITE}"
exec "$ROOT/{TARGET_TREE}/{cross.interpreter_path}" "\\$@"
EOF
/bin/chmod +x "$ROOT/{TARGET_PYTHON}"
# The wheel's scripts (e.g. numpy-config) run by the target's interpreter, and on PATH.
for script in "$ROOT/{TARGET_SITE}"/bin/*; do
  [ -f "$script" ] || continue
  "$TOOL_PREFIX/bin/python" -c {shlex.quote(_RESHEBANG)} "$script" "$ROOT/{TARGET_PYTHON}"
done
export PATH="$ROOT/{TARGET_SITE}/bin${{PATH:+:$PATH}}"
PYTHON="$ROOT/{TARGET_PYTHON}"
export WHEEL_TEST_SITE="$ROOT/{TARGET_SITE}"
echo "wheel-test: {cross.triplet}, natively: $("$PYTHON" -c 'import platform, sys; print(platform.machine(), sys.version.split()[0], sys.implementation._multiarch)')" >&2
"""
    return EmulatedPython(digest=tree, setup=setup, env=FrozenDict())


@rule(desc="Prepare an emulated target interpreter", level=LogLevel.DEBUG)
async def emulated_python(request: EmulatedPythonRequest) -> EmulatedPython:
    cross = request.cross
    if cross.runs_natively_on(host_machine()):
        return await _native_python(request)
    if not cross.test_packages:
        raise EmulationError(
            f"{request.owner} runs under emulation, but the target interpreter for {cross.triplet} "
            "declares no `test_packages` (a root file system with the interpreter) to run it from."
        )
    if cross.emulator_packages and request.emulator:
        raise EmulationError(
            f"{request.owner} sets `emulator` {request.emulator}, but the target interpreter for "
            f"{cross.triplet} pins its own (`emulator_packages`): remove one of them."
        )
    if cross.emulator_packages:
        # A pinned, statically linked qemu from Debian packages (runs inside a root too).
        inside = f"usr/bin/qemu-{cross.cpu}"
        packages = " ".join(f"{p['filename']}:{p['sha256']}" for p in cross.emulator_packages)
        emulator = f"/{inside} of {' '.join(p['filename'] for p in cross.emulator_packages)}"
        emulator_digest = await Get(
            Digest,
            DebianFilesRequest(
                cross.emulator_packages,
                FrozenDict({inside: f"{EMULATOR_DIR}/bin/qemu"}),
                request.owner,
            ),
        )
        emulator_bin = f"{EMULATOR_DIR}/bin"
        emulator_id = f"{packages} {inside}"
        # Unpacked without its mode: made executable by the test script.
        make_executable = f'/bin/chmod +x "$ROOT/{emulator_bin}/qemu"\n'
        if not (await Get(Snapshot, Digest, emulator_digest)).files:
            raise EmulationError(
                f"{request.owner}: the `emulator_packages` of the target interpreter for "
                f"{cross.triplet} hold no {inside}: pin Debian's qemu-user (static) there."
            )
    else:
        emulator = request.emulator or f"/usr/bin/qemu-{cross.cpu}-static"
        fingerprint = await Get(
            HostPrograms,
            FingerprintRequest(
                request.owner,
                FrozenDict({"qemu": emulator}),
                remedy=f"Install Debian's qemu-user-static (`apt-get install qemu-user-static`), or set the "
                f"`emulator` field of {request.owner} to a qemu-user program for {cross.cpu}.",
            ),
        )
        # Its wrapper under emulator/, apart from the wheel's own toolchain/.
        emulator_digest = await Get(Digest, AddPrefix(fingerprint.digest, EMULATOR_DIR))
        emulator_bin = f"{EMULATOR_DIR}/{fingerprint.bin_dir}"
        emulator_id = fingerprint.programs["qemu"]
        make_executable = ""
    unpacker = await unpacker_inputs(cross.test_packages, request.owner, DEBS_DIR)
    deb_args = " ".join(f'"$ROOT/{DEBS_DIR}/{p["filename"]}"' for p in cross.test_packages)
    if cross.interpreter_tree is not None:
        # Built in the graph: its tree in the sandbox; the root file system holds its loader.
        tree = await Get(Digest, AddPrefix(cross.interpreter_tree, TARGET_TREE))
        python, precompile = f"$ROOT/{TARGET_TREE}/{cross.interpreter_path}", "-"
    else:
        tree = EMPTY_DIGEST
        python, precompile = f"$ROOT/{ROOTFS}/usr/bin/python{request.version}", request.version
    setup = f"""\
{make_executable}"$TOOL_PREFIX/bin/python" "$ROOT/unpack_rootfs.py" "$ROOT/{ROOTFS}" {precompile} {deb_args}
{_install_for_target(request)}# The target's interpreter under qemu, with the emulated CPU pinned; the installed wheel and
# the (pure Python) test tools on its path.
/bin/cat > "$ROOT/{TARGET_PYTHON}" <<EOF
#!/bin/sh
export QEMU_CPU={shlex.quote(request.cpu)} QEMU_LD_PREFIX="$ROOT/{ROOTFS}"
export PYTHONPATH="$ROOT/{TARGET_SITE}:{_TOOL_SITE}"
exec "$ROOT/{emulator_bin}/qemu" "{python}" "\\$@"
EOF
/bin/chmod +x "$ROOT/{TARGET_PYTHON}"
PYTHON="$ROOT/{TARGET_PYTHON}"
export PATH="$ROOT/{emulator_bin}" WHEEL_TEST_SITE="$ROOT/{TARGET_SITE}"
echo "wheel-test: {cross.triplet} under {emulator} with QEMU_CPU={request.cpu}; $("$PYTHON" -c 'import platform, sys; print(platform.machine(), sys.version.split()[0])')" >&2
"""
    return EmulatedPython(
        digest=await Get(Digest, MergeDigests([unpacker, emulator_digest, tree])),
        setup=setup,
        env=FrozenDict({"EMULATOR": f"{emulator_id} cpu={request.cpu}"}),
    )


def rules():
    return collect_rules()
