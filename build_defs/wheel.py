"""Build a meson-python wheel in a sandbox, then repair it with auditwheel in its own process."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from textwrap import dedent

from pants.core.util_rules.system_binaries import BashBinary
from pants.engine.addresses import Address, Addresses, UnparsedAddressInputs
from pants.engine.fs import CreateDigest, Digest, Directory, FileContent, MergeDigests, Snapshot
from pants.engine.internals.selectors import Get, MultiGet
from pants.engine.process import Process, ProcessResult
from pants.engine.rules import collect_rules, rule
from pants.engine.target import FieldSet
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.project_source import SOURCE_DIR, ProjectTree, ProjectTreeRequest
from build_defs.target_types import (
    MesonWheelBuildRequirementsField,
    MesonWheelConfigSettingsField,
    MesonWheelPlatField,
    MesonWheelPythonField,
    MesonWheelRepairRequirementsField,
    MesonWheelSetupArgsField,
    MesonWheelSourceField,
    MesonWheelToolchainField,
)
from build_defs.tool_env import ToolEnv, ToolEnvRequest
from build_defs.toolchain import CcToolchain, CcToolchainRequest

BUILD_OUT = "built"
REPAIR_OUT = "repaired"
# meson-python's build directory, relative to the project root: fixed, so paths are stable.
BUILD_DIR = "build"


@dataclass(frozen=True)
class MesonWheelFieldSet(FieldSet):
    required_fields = (MesonWheelSourceField, MesonWheelPythonField, MesonWheelToolchainField)

    source: MesonWheelSourceField
    python: MesonWheelPythonField
    build_requirements: MesonWheelBuildRequirementsField
    repair_requirements: MesonWheelRepairRequirementsField
    toolchain: MesonWheelToolchainField
    setup_args: MesonWheelSetupArgsField
    config_settings: MesonWheelConfigSettingsField
    plat: MesonWheelPlatField


@dataclass(frozen=True)
class BuildWheelRequest:
    field_set: MesonWheelFieldSet


@dataclass(frozen=True)
class BuiltWheel:
    """The unrepaired wheel, alone under `built/`."""

    digest: Digest
    filename: str
    source_date_epoch: int


@dataclass(frozen=True)
class RepairWheelRequest:
    field_set: MesonWheelFieldSet
    wheel: BuiltWheel


@dataclass(frozen=True)
class RepairedWheel:
    """The repaired wheel, alone under `repaired/`."""

    digest: Digest
    filename: str


def _driver(lines: str) -> str:
    return "set -euo pipefail\nROOT=\"$PWD\"\n" + dedent(lines)


def _single_wheel(snapshot: Snapshot, what: str, address: Address) -> str:
    wheels = [f for f in snapshot.files if f.endswith(".whl")]
    if len(wheels) != 1:
        raise ValueError(f"{what} of {address} produced {len(wheels)} wheels: {wheels}")
    return wheels[0]


@rule(desc="Build a meson-python wheel", level=LogLevel.DEBUG)
async def build_wheel(request: BuildWheelRequest, bash: BashBinary) -> BuiltWheel:
    fs = request.field_set
    python = fs.python.value
    source_address, toolchain_address = await Get(
        Addresses,
        UnparsedAddressInputs(
            (fs.source.value, fs.toolchain.value),
            owning_address=fs.address,
            description_of_origin=f"the `source` and `toolchain` fields of {fs.address}",
        ),
    )
    tree, toolchain, env = await MultiGet(
        Get(ProjectTree, ProjectTreeRequest(source_address)),
        Get(CcToolchain, CcToolchainRequest(toolchain_address)),
        Get(
            ToolEnv,
            ToolEnvRequest(tuple(fs.build_requirements.value or ()), fs.address, python, "meson-build"),
        ),
    )
    config = [f"-Csetup-args={arg}" for arg in fs.setup_args.value or ()]
    config += [f"-C{k}={v}" for k, v in sorted((fs.config_settings.value or {}).items())]
    script = _driver(
        f"""\
        {env.activate()}
        TC="$ROOT/{toolchain.bin_dir}"
        # A deliberate PATH: the locked build tools and the fingerprinted toolchain, nothing else.
        export PATH="$TOOL_PREFIX/bin:$TC"
        export CC="$TC/cc" CXX="$TC/cxx" NINJA="$TOOL_PREFIX/bin/ninja" CYTHON="$TOOL_PREFIX/bin/cython"
        [ -x "$TC/ar" ] && export AR="$TC/ar"
        [ -x "$TC/ranlib" ] && export RANLIB="$TC/ranlib"
        [ -x "$TC/strip" ] && export STRIP="$TC/strip"
        [ -x "$TC/pkg-config" ] && export PKG_CONFIG="$TC/pkg-config"
        # No host .pc file may be found: only the build's own pkg-config directory.
        export PKG_CONFIG_LIBDIR="$ROOT/pkgconfig" PKG_CONFIG_PATH="$ROOT/pkgconfig"
        export SOURCE_DATE_EPOCH={tree.source_date_epoch} PYTHONHASHSEED=0 LC_ALL=C TZ=UTC
        # Keep the sandbox path out of the binaries.
        export CFLAGS="-ffile-prefix-map=$ROOT=. ${{CFLAGS:-}}" CXXFLAGS="-ffile-prefix-map=$ROOT=. ${{CXXFLAGS:-}}"
        export HOME="$ROOT/.home" XDG_CACHE_HOME="$ROOT/.home/cache"
        cd "$ROOT/{SOURCE_DIR}"
        "$TOOL_PREFIX/bin/python" -m build --wheel --no-isolation --skip-dependency-check \\
          --outdir "$ROOT/{BUILD_OUT}" -Cbuild-dir={BUILD_DIR} {" ".join(shlex.quote(c) for c in config)}
        """
    )
    script_digest = await Get(
        Digest,
        CreateDigest(
            [FileContent("build_wheel.sh", script.encode()), Directory("pkgconfig"), Directory(".home")]
        ),
    )
    input_digest = await Get(
        Digest, MergeDigests([tree.digest, toolchain.digest, env.venv.digest, script_digest])
    )
    result = await Get(
        ProcessResult,
        Process(
            argv=(bash.path, "build_wheel.sh"),
            input_digest=input_digest,
            append_only_caches=env.venv.append_only_caches or FrozenDict(),
            output_directories=(BUILD_OUT,),
            description=f"Build wheel {fs.address} (CPython {python})",
            level=LogLevel.INFO,
        ),
    )
    snapshot = await Get(Snapshot, Digest, result.output_digest)
    return BuiltWheel(
        result.output_digest, _single_wheel(snapshot, "The build", fs.address), tree.source_date_epoch
    )


@rule(desc="Repair a wheel with auditwheel", level=LogLevel.DEBUG)
async def repair_wheel(request: RepairWheelRequest, bash: BashBinary) -> RepairedWheel:
    fs = request.field_set
    env = await Get(
        ToolEnv,
        ToolEnvRequest(
            tuple(fs.repair_requirements.value or ()), fs.address, fs.python.value, "wheel-repair"
        ),
    )
    plat = f"--plat {shlex.quote(fs.plat.value)}" if fs.plat.value else ""
    script = _driver(
        f"""\
        {env.activate()}
        export PATH="$TOOL_PREFIX/bin" SOURCE_DATE_EPOCH={request.wheel.source_date_epoch} LC_ALL=C TZ=UTC
        "$TOOL_PREFIX/bin/auditwheel" repair {plat} -w "$ROOT/{REPAIR_OUT}" "$ROOT/{request.wheel.filename}"
        """
    )
    script_digest = await Get(Digest, CreateDigest([FileContent("repair_wheel.sh", script.encode())]))
    input_digest = await Get(
        Digest, MergeDigests([request.wheel.digest, env.venv.digest, script_digest])
    )
    result = await Get(
        ProcessResult,
        Process(
            argv=(bash.path, "repair_wheel.sh"),
            input_digest=input_digest,
            append_only_caches=env.venv.append_only_caches or FrozenDict(),
            output_directories=(REPAIR_OUT,),
            description=f"Repair wheel {fs.address} with auditwheel",
            level=LogLevel.INFO,
        ),
    )
    snapshot = await Get(Snapshot, Digest, result.output_digest)
    return RepairedWheel(result.output_digest, _single_wheel(snapshot, "auditwheel", fs.address))


def rules():
    return collect_rules()
