"""Build a meson-python wheel in a sandbox (its repair is `repair.py`, in its own process)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from pants.core.util_rules.system_binaries import BashBinary
from pants.engine.addresses import Address, Addresses, UnparsedAddressInputs
from pants.engine.fs import (
    CreateDigest,
    Digest,
    DigestContents,
    DigestSubset,
    Directory,
    FileContent,
    MergeDigests,
    PathGlobs,
    Snapshot,
)
from pants.engine.internals.selectors import Get, MultiGet
from pants.engine.process import Process, ProcessCacheScope, ProcessResult
from pants.engine.rules import collect_rules, rule
from pants.engine.target import FieldSet, WrappedTarget, WrappedTargetRequest
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.inputs.native_library import NativeLibrary, NativeLibraryRequest
from build_defs.inputs.project_source import SOURCE_DIR, ProjectTree, ProjectTreeRequest
from build_defs.platforms import registry
from build_defs.toolchains.cc_toolchain import CcToolchain, CcToolchainRequest
from build_defs.toolchains.interpreter import Interpreter, InterpreterRequest
from build_defs.toolchains.target_types import TargetCPythonPlatformField
from build_defs.toolchains.tool_env import ToolEnv, ToolEnvRequest
from build_defs.wheels.cores import sharing_cores
from build_defs.wheels.cross_file import (
    CROSS_FILE,
    CrossBuildError,
    meson_cross_file,
    toolchain_cpu,
)
from build_defs.wheels.isolation import Isolation, process_script
from build_defs.wheels.root_fs import RootFs, root_fs_for
from build_defs.wheels.root_tools import PlacedToolEnvRequest
from build_defs.wheels.subsystem import MesonWheelSubsystem
from build_defs.wheels.target_types import (
    MesonWheelBuildEnvField,
    MesonWheelBuildRequirementsField,
    MesonWheelConfigSettingsField,
    MesonWheelCrossPropertiesField,
    MesonWheelInterpreterField,
    MesonWheelLicenseFileField,
    MesonWheelLicenseIntroField,
    MesonWheelNativeDepsField,
    MesonWheelPlatformField,
    MesonWheelPythonField,
    MesonWheelRepairPolicyField,
    MesonWheelRepairRequirementsField,
    MesonWheelRunnerField,
    MesonWheelSetupArgsField,
    MesonWheelSourceField,
    MesonWheelToolchainField,
)

BUILD_OUT = "built"
# The build tools' venv, as the build sees it (a symlink in the sandbox).
BUILD_TOOLS = ".build-tools"
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
    interpreter: MesonWheelInterpreterField
    setup_args: MesonWheelSetupArgsField
    config_settings: MesonWheelConfigSettingsField
    build_env: MesonWheelBuildEnvField
    repair_policy: MesonWheelRepairPolicyField
    native_deps: MesonWheelNativeDepsField
    license_file: MesonWheelLicenseFileField
    license_bundle_intro: MesonWheelLicenseIntroField
    platform: MesonWheelPlatformField
    runner: MesonWheelRunnerField
    cross_properties: MesonWheelCrossPropertiesField


@dataclass(frozen=True)
class BuildWheelRequest:
    field_set: MesonWheelFieldSet
    # Set by `repro-check`: forces a fresh, uncached build (the value changes nothing else).
    nonce: str = ""


@dataclass(frozen=True)
class BuiltWheel:
    """The unrepaired wheel, alone under `built/`, and the native libraries it links."""

    digest: Digest
    filename: str
    source_date_epoch: int
    native_libraries: tuple[NativeLibrary, ...]
    interpreter: Interpreter
    isolation: Isolation
    # Archives the toolchain linked into its extensions (`CcToolchain.linked_runtime`).
    linked_runtime: tuple[FrozenDict[str, str], ...] = ()
    # The distributions installed into the build tools' venv (`ToolEnv.installed`).
    installed: tuple[str, ...] = ()


class WrongPlatformError(Exception):
    pass


def check_buildable_here(fs: "MesonWheelFieldSet", cross_platform: str | None = None) -> None:
    """Stop before any work when the wheel is for another platform or interpreter kind.
    `cross_platform`: the platform of the wheel's target interpreter, when it is a target
    interpreter of another architecture (then this host cross-builds for it)."""
    wanted = fs.platform.value
    here = registry.host_wheel_platform()
    if cross_platform and wanted == cross_platform and here.startswith("manylinux"):
        return
    runner_name = registry.runner_for(wanted, fs.runner.value)
    runner = f" on a `{runner_name}` runner" if runner_name else ""
    unsupported = registry.wheel_platform(wanted).unsupported if wanted else None
    if unsupported:
        raise WrongPlatformError(
            f"{fs.address} is a {wanted} wheel: {unsupported}, so these wheels are declared "
            f"but unsupported (upstream builds it{runner})."
        )
    if wanted and wanted != here:
        raise WrongPlatformError(
            f"{fs.address} is a {wanted} wheel and this machine is {here}: build it{runner} "
            f"with `pants package {fs.address}`."
        )
    if fs.python.value.endswith("t"):
        raise WrongPlatformError(
            f"{fs.address} is for free-threaded CPython {fs.python.value}: Pants 2.17's interpreter "
            "selection cannot tell a free-threaded CPython from the default build, so this wheel "
            f"is declared but cannot be built by this repository yet (upstream builds it{runner})."
        )


async def _interpreter_address(fs: "MesonWheelFieldSet") -> Address:
    (address,) = await Get(
        Addresses,
        UnparsedAddressInputs(
            (fs.interpreter.for_python(fs.python.value),),
            owning_address=fs.address,
            description_of_origin=f"the `interpreter` field of {fs.address}",
        ),
    )
    return address


async def interpreter_for(fs: "MesonWheelFieldSet") -> Interpreter:
    """The interpreter target named by the wheel's `interpreter` template, resolved."""
    return await Get(Interpreter, InterpreterRequest(await _interpreter_address(fs)))


async def check_buildable(fs: "MesonWheelFieldSet") -> None:
    """`check_buildable_here`, knowing whether the wheel's interpreter is a target
    interpreter of another platform (read from its target: nothing runs)."""
    try:
        check_buildable_here(fs)
        return
    except WrongPlatformError:
        wrapped = await Get(
            WrappedTarget,
            WrappedTargetRequest(
                await _interpreter_address(fs),
                description_of_origin=f"the `interpreter` field of {fs.address}",
            ),
        )
        if not wrapped.target.has_field(TargetCPythonPlatformField):
            raise
        check_buildable_here(fs, wrapped.target[TargetCPythonPlatformField].value)


def keyed_env(isolation: Isolation, interpreter: Interpreter, root: RootFs) -> dict[str, str]:
    """The environment that keys a build, repair or test process on the isolation it runs in,
    the exact interpreter it uses and the root file system it runs in, if any."""
    return {**isolation.env, **interpreter.env, **root.env}


def process_extras(nonce: str, env: dict[str, str]) -> dict:
    """The process's keyed environment, and for a repro-check build a distinct cache key with
    nothing written to the cache."""
    if not nonce:
        return {"env": FrozenDict(env)}
    return {
        "env": FrozenDict({**env, "REPRO_CHECK_NONCE": nonce}),
        "cache_scope": ProcessCacheScope.PER_SESSION,
    }


def single_wheel(snapshot: Snapshot, what: str, address: Address) -> str:
    wheels = [f for f in snapshot.files if f.endswith(".whl")]
    if len(wheels) != 1:
        raise ValueError(f"{what} of {address} produced {len(wheels)} wheels: {wheels}")
    return wheels[0]


async def _with_bundled_licenses(tree: ProjectTree, fs: MesonWheelFieldSet, native) -> Digest:
    """The source tree, with the native libraries' licenses appended to its license file.

    Upstream appends the bundled libraries' licenses to LICENSE.txt before building, so
    the wheel's `.dist-info/licenses/` carries them; we do the same, from the license
    files inside the pinned native library wheels.
    """
    sections = [lib.license_section for lib in native if lib.bundled_libraries]
    if not sections:
        return tree.digest
    if not fs.license_file.value:
        raise ValueError(
            f"{fs.address} bundles native libraries but has no `license_file` to append "
            "their licenses to."
        )
    path = f"{SOURCE_DIR}/{fs.license_file.value}"
    subset = await Get(Digest, DigestSubset(tree.digest, PathGlobs([path])))
    current = await Get(DigestContents, Digest, subset)
    if not current:
        raise ValueError(
            f"{fs.address}: the license file {fs.license_file.value} is not in the source."
        )
    text = current[0].content.decode("utf-8").rstrip("\n")
    text += "\n\n----\n\n" + fs.license_bundle_intro.value + "\n\n" + "\n\n".join(sections) + "\n"
    rest = await Get(Digest, DigestSubset(tree.digest, PathGlobs(["**", f"!{path}"])))
    license_digest = await Get(Digest, CreateDigest([FileContent(path, text.encode())]))
    return await Get(Digest, MergeDigests([rest, license_digest]))


# Set by the build rule itself: a target's `build_env` may not change them.
# `[meson-build].rebuild_salt`, in the build's environment only to key it.
REBUILD_SALT = "WHEEL_REBUILD_SALT"
_RULE_ENV = frozenset(
    {
        REBUILD_SALT,
        "PATH",
        "HOME",
        "XDG_CACHE_HOME",
        "CC",
        "CXX",
        "AR",
        "RANLIB",
        "STRIP",
        "NINJA",
        "CYTHON",
        "PKG_CONFIG",
        "PKG_CONFIG_LIBDIR",
        "PKG_CONFIG_PATH",
        "SOURCE_DATE_EPOCH",
        "PYTHONHASHSEED",
        "LC_ALL",
        "TZ",
        "TOOL_PREFIX",
        "ROOT",
    }
)


def checked_build_env(fs: "MesonWheelFieldSet") -> list[tuple[str, str]]:
    """The target's `build_env`, sorted; a name the rule sets itself, or not a variable
    name, stops the build naming it."""
    items = sorted((fs.build_env.value or {}).items())
    for name, _ in items:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(
                f"{fs.address}: `build_env` key {name!r} is not an environment variable name."
            )
        if name in _RULE_ENV:
            raise ValueError(
                f"{fs.address}: `build_env` may not set {name}: the build rule sets it "
                f"(its own variables: {', '.join(sorted(_RULE_ENV))})."
            )
    return items


def _cross_build(
    fs: MesonWheelFieldSet, toolchain: CcToolchain, interpreter: Interpreter, root: RootFs
) -> tuple[str, str, list[FileContent]]:
    """For a wheel whose interpreter is of another architecture: the script lines that show
    the build interpreter the target's sysconfig data, the meson-python argument naming
    the cross file, and the cross file itself. Empty for a native build."""
    cross = interpreter.cross
    if not cross:
        return "", "", []
    if toolchain_cpu(toolchain.target) != cross.cpu:
        raise CrossBuildError(
            f"{fs.address} is built for {cross.triplet} (its interpreter {interpreter.address}), but its "
            f"toolchain {toolchain.address} compiles for {toolchain.target or 'this host'}: use a "
            f"`zig_toolchain` whose `zig_target` is {cross.cpu}-linux-gnu.<glibc version>."
        )
    binaries = {"c": "cc", "cpp": "cxx", "ar": "ar", "pkg-config": "pkg-config"}
    programs = {
        name: f"{toolchain.bin_dir}/{program}"
        for name, program in binaries.items()
        if program in toolchain.programs
    }
    if root.packages and "pkg-config" not in programs:
        # Inside a root file system: the root's own (pinned) pkg-config, by absolute path.
        programs["pkg-config"] = "/usr/bin/pkg-config"
    text = meson_cross_file(cross.cpu, programs, dict(fs.cross_properties.value or {}))
    return (
        cross.build_env_lines,
        f' "-Csetup-args=--cross-file=$ROOT/{CROSS_FILE}"',
        [FileContent(CROSS_FILE, text.encode())],
    )


@rule(desc="Build a meson-python wheel", level=LogLevel.DEBUG)
async def build_wheel(
    request: BuildWheelRequest,
    bash: BashBinary,
    isolation: Isolation,
    settings: MesonWheelSubsystem,
) -> BuiltWheel:
    fs = request.field_set
    interpreter = await interpreter_for(fs)
    check_buildable_here(fs, interpreter.cross.wheel_platform if interpreter.cross else None)
    source_address, toolchain_address, *native_addresses = await Get(
        Addresses,
        UnparsedAddressInputs(
            (fs.source.value, fs.toolchain.value, *(fs.native_deps.value or ())),
            owning_address=fs.address,
            description_of_origin=f"the `source`, `toolchain` and `native_deps` fields of {fs.address}",
        ),
    )
    native = await MultiGet(Get(NativeLibrary, NativeLibraryRequest(a)) for a in native_addresses)
    # Side by side: extracting the toolchain (zig's 101 MB wheel when cold) and making the
    # build tools' venv do not wait for each other.
    tree, toolchain, env = await MultiGet(
        Get(ProjectTree, ProjectTreeRequest(source_address)),
        Get(CcToolchain, CcToolchainRequest(toolchain_address)),
        Get(
            ToolEnv,
            PlacedToolEnvRequest(
                ToolEnvRequest(
                    tuple(fs.build_requirements.value or ()), fs.address, interpreter, "meson-build"
                )
            ),
        ),
    )
    root = await root_fs_for(interpreter)
    root.check_toolchain(fs.address, f"the root file system of {interpreter.address}", toolchain)
    source_digest = await _with_bundled_licenses(tree, fs, native)
    pkg_config = "".join(lib.pkg_config_command for lib in native)
    build_env = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in checked_build_env(fs))
    # meson may not download a subproject: every input is in the sandbox already.
    config = [
        f"-Csetup-args={arg}" for arg in ("--wrap-mode=nodownload", *(fs.setup_args.value or ()))
    ]
    config += [f"-C{k}={v}" for k, v in sorted((fs.config_settings.value or {}).items())]
    cross_env, cross_arg, cross_inputs = _cross_build(fs, toolchain, interpreter, root)
    script = process_script(
        "build_wheel.sh",
        isolation,
        f"""\
        # Sources as everyone would check them out, whatever umask wrote the sandbox.
        /bin/chmod -R u+rwX,go+rX,go-w "$ROOT/{SOURCE_DIR}"
        {env.activate()}
        # The locked tools under one fixed name: their venv's own path is named by hashes of
        # the lockfile and would be recorded in the wheel (meson-python hands meson its
        # sys.executable as the project's Python, which NumPy's __config__.py records).
        /bin/ln -s "$TOOL_PREFIX" "$ROOT/{BUILD_TOOLS}"
        TOOL_PREFIX="$ROOT/{BUILD_TOOLS}"
        {toolchain.setup}        TC="$ROOT/{toolchain.bin_dir}"
        # A deliberate PATH: the locked build tools and the fingerprinted toolchain, nothing
        # else (in a root file system, also the root's own pinned programs, e.g. pkg-config).
        export PATH="$TOOL_PREFIX/bin:$TC{root.path_suffix}"
        export CC="$TC/cc" CXX="$TC/cxx" NINJA="$TOOL_PREFIX/bin/ninja" CYTHON="$TOOL_PREFIX/bin/cython"
        [ -x "$TC/ar" ] && export AR="$TC/ar"
        [ -x "$TC/ranlib" ] && export RANLIB="$TC/ranlib"
        [ -x "$TC/strip" ] && export STRIP="$TC/strip"
        [ -x "$TC/pkg-config" ] && export PKG_CONFIG="$TC/pkg-config"
        # No host .pc file may be found: only the build's own pkg-config directory.
        export PKG_CONFIG_LIBDIR="$ROOT/pkgconfig" PKG_CONFIG_PATH="$ROOT/pkgconfig"
        # The native dependencies' pkg-config files, here.
        {pkg_config}{cross_env}{root.compile_env(interpreter)}{build_env}        export SOURCE_DATE_EPOCH={tree.source_date_epoch} PYTHONHASHSEED=0 LC_ALL=C TZ=UTC
        # Keep the sandbox path out of the binaries.
        export CFLAGS="-ffile-prefix-map=$ROOT=. ${{CFLAGS:-}}" CXXFLAGS="-ffile-prefix-map=$ROOT=. ${{CXXFLAGS:-}}"
        export HOME="$ROOT/.home" XDG_CACHE_HOME="$ROOT/.home/cache"
        cd "$ROOT/{SOURCE_DIR}"
        "$TOOL_PREFIX/bin/python" -m build --wheel --no-isolation --skip-dependency-check \\
          --outdir "$ROOT/{BUILD_OUT}" -Cbuild-dir={BUILD_DIR} -Ccompile-args="-j$JOBS" {" ".join(shlex.quote(c) for c in config)}{cross_arg}
        """,
        fixed_root=True,
        in_root=bool(root.packages),
        before_isolation=toolchain.prepare,
    )
    # repro-check: each build starts from its own empty toolchain cache (zig's).
    caches, fresh_caches = toolchain.caches_for(env.append_only_caches, fresh=bool(request.nonce))
    script_digest = await Get(
        Digest,
        CreateDigest(
            [
                FileContent("build_wheel.sh", script.encode()),
                Directory("pkgconfig"),
                Directory(".home"),
                *fresh_caches,
                *cross_inputs,
            ]
        ),
    )
    input_digest = await Get(
        Digest,
        MergeDigests(
            [
                source_digest,
                toolchain.digest,
                env.digest,
                script_digest,
                *(n.digest for n in native),
                *([interpreter.cross.digest] if interpreter.cross else []),
            ]
        ),
    )
    result = await Get(
        ProcessResult,
        Process(
            **sharing_cores(bash.path, "build_wheel.sh"),
            input_digest=input_digest,
            append_only_caches=caches,
            immutable_input_digests={**toolchain.immutable_inputs, **root.immutable_inputs},
            output_directories=(BUILD_OUT,),
            description=f"Build wheel {fs.address} (CPython {interpreter.facts['version']})",
            level=LogLevel.INFO,
            **process_extras(
                request.nonce,
                {
                    **keyed_env(isolation, interpreter, root),
                    **({REBUILD_SALT: settings.rebuild_salt} if settings.rebuild_salt else {}),
                },
            ),
        ),
    )
    snapshot = await Get(Snapshot, Digest, result.output_digest)
    return BuiltWheel(
        result.output_digest,
        single_wheel(snapshot, "The build", fs.address),
        tree.source_date_epoch,
        tuple(native),
        interpreter,
        isolation,
        toolchain.linked_runtime,
        env.installed,
    )


def rules():
    return collect_rules()
