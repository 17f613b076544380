"""Repair a built wheel in its own process, with the tool its platform needs (auditwheel
for Linux wheels, delocate for macOS wheels: `build_defs/platforms/`), and check that
every library the tool bundled is a declared native dependency."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from textwrap import dedent

from pants.core.util_rules.system_binaries import BashBinary
from pants.engine.addresses import Address
from pants.engine.fs import (
    AddPrefix,
    CreateDigest,
    Digest,
    DigestContents,
    FileContent,
    MergeDigests,
    RemovePrefix,
    Snapshot,
)
from pants.engine.internals.selectors import Get
from pants.engine.process import Process, ProcessResult
from pants.engine.rules import collect_rules, rule
from pants.util.logging import LogLevel

from build_defs.inputs.native_library import NativeLibrary
from build_defs.platforms import registry
from build_defs.platforms.bundled_libraries import bundled_library_matches
from build_defs.platforms.wheel_platform import RepairCommand, RepairTool
from build_defs.toolchains.interpreter import Interpreter
from build_defs.toolchains.tool_env import ToolEnvRequest
from build_defs.wheels.archive_modes import normalize_zip_modes
from build_defs.wheels.build_wheel import (
    BUILD_OUT,
    BuiltWheel,
    MesonWheelFieldSet,
    keyed_env,
    process_extras,
    process_script,
    single_wheel,
)
from build_defs.wheels.root_fs import root_fs_for
from build_defs.wheels.root_tools import tool_env_for

REPAIR_OUT = "repaired"


@dataclass(frozen=True)
class RepairWheelRequest:
    field_set: MesonWheelFieldSet
    wheel: BuiltWheel
    nonce: str = ""


@dataclass(frozen=True)
class RepairedWheel:
    """The repaired wheel, alone under `repaired/`."""

    digest: Digest
    filename: str
    # The distributions installed into the repair tool's venv (none for a pure wheel).
    installed: tuple[str, ...] = ()


def wheel_platform(fs: MesonWheelFieldSet) -> str:
    """The platform the wheel is for: its `platform` field, else this machine's."""
    return fs.platform.value or registry.host_wheel_platform()


def repair_env_request(fs: MesonWheelFieldSet, interpreter: Interpreter) -> ToolEnvRequest:
    """The repair tools' environment for a wheel built with `interpreter`: one request, so
    the one prepared while the wheel builds (`finished_wheel`) is the one the repair uses."""
    return ToolEnvRequest(
        tuple(fs.repair_requirements.value or ()), fs.address, interpreter, "wheel-repair"
    )


@rule(desc="Repair a wheel for its platform", level=LogLevel.DEBUG)
async def repair_wheel(request: RepairWheelRequest, bash: BashBinary) -> RepairedWheel:
    fs = request.field_set
    if request.wheel.filename.endswith("-any.whl"):
        # A pure wheel has nothing to repair (the tools refuse it); only its modes change.
        unprefixed = await Get(Digest, RemovePrefix(request.wheel.digest, BUILD_OUT))
        moved = await Get(Digest, AddPrefix(unprefixed, REPAIR_OUT))
        name = request.wheel.filename.split("/", 1)[1]
        return await _with_normal_modes(RepairedWheel(moved, f"{REPAIR_OUT}/{name}"))
    platform = wheel_platform(fs)
    tool = registry.repair_tool_for(platform)
    interpreter, isolation = request.wheel.interpreter, request.wheel.isolation
    env = await tool_env_for(repair_env_request(fs, interpreter))
    root = await root_fs_for(interpreter)
    command = RepairCommand(
        wheel=request.wheel.filename,
        out_dir=REPAIR_OUT,
        platform=platform,
        policy=fs.repair_policy.value,
        library_dirs=tuple(n.library_dir for n in request.wheel.native_libraries),
    )
    script = process_script(
        "repair_wheel.sh",
        isolation,
        dedent(
            f"""\
            {env.activate()}
            export PATH="$TOOL_PREFIX/bin" SOURCE_DATE_EPOCH={request.wheel.source_date_epoch} LC_ALL=C TZ=UTC
            """
        )
        + tool.script(command),
        # In a root file system, the tools' venv lives at the fixed build root.
        fixed_root=bool(root.packages),
        in_root=bool(root.packages),
    )
    script_digest = await Get(
        Digest, CreateDigest([FileContent("repair_wheel.sh", script.encode())])
    )
    input_digest = await Get(
        Digest,
        MergeDigests(
            [
                request.wheel.digest,
                env.digest,
                script_digest,
                *(n.digest for n in request.wheel.native_libraries),
            ]
        ),
    )
    result = await Get(
        ProcessResult,
        Process(
            argv=(bash.path, "repair_wheel.sh"),
            input_digest=input_digest,
            append_only_caches=env.append_only_caches,
            immutable_input_digests=root.immutable_inputs,
            output_directories=(REPAIR_OUT,),
            description=f"Repair wheel {fs.address} with {tool.name}",
            level=LogLevel.INFO,
            **process_extras(request.nonce, keyed_env(isolation, interpreter, root)),
        ),
    )
    snapshot = await Get(Snapshot, Digest, result.output_digest)
    filename = single_wheel(snapshot, tool.name, fs.address)
    contents = await Get(DigestContents, Digest, result.output_digest)
    check_bundled_libraries(fs.address, contents[0].content, request.wheel.native_libraries, tool)
    return await _with_normal_modes(RepairedWheel(result.output_digest, filename, env.installed))


async def _with_normal_modes(wheel: RepairedWheel) -> RepairedWheel:
    """The wheel with 0644/0755 modes in every entry, whatever umask built it."""
    (content,) = await Get(DigestContents, Digest, wheel.digest)
    normal = normalize_zip_modes(content.content)
    if normal == content.content:
        return wheel
    digest = await Get(Digest, CreateDigest([FileContent(content.path, normal)]))
    return RepairedWheel(digest, wheel.filename, wheel.installed)


def check_bundled_libraries(
    address: Address, wheel: bytes, native: tuple[NativeLibrary, ...], tool: RepairTool
) -> None:
    """Every library the repair tool bundled must come from a declared native dependency,
    whose license the wheel then carries."""
    patterns = [p for lib in native for p in lib.bundled_libraries]
    with zipfile.ZipFile(io.BytesIO(wheel)) as zf:
        bundled = [n.rsplit("/", 1)[1] for n in zf.namelist() if tool.is_bundled(n)]
    undeclared = [name for name in bundled if not bundled_library_matches(name, patterns)]
    if undeclared:
        raise ValueError(
            f"The repaired wheel of {address} bundles {undeclared}, which no `native_deps` entry "
            "declares in `bundled_libraries`: its license would be missing from the wheel."
        )


def rules():
    return collect_rules()
