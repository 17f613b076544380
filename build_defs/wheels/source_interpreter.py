"""A CPython built in the graph (`source_cpython`) as the interpreter of wheels: a member of
`InterpreterFieldSet`, like a host or a Debian CPython.

Wheels for it are cross builds even on its own machine (another C library): its
`build_interpreter`, the same CPython version for this host's machine in its own root file
system, runs meson-python and the other tools, shown this interpreter's headers and
sysconfig data (`CrossTarget`). The build, repair and tests run in that root. For this host's
CPU the interpreter's `runtime_packages` (its C library's loader) join it, so the tests run
the built interpreter itself, natively, subprocesses included, as its wheels' users would;
for another CPU they run it under the pinned qemu-user (`emulator_packages`), its loader
unpacked from `runtime_packages`. The facts name the source archive and the built tree's digest: a rebuilt
interpreter rebuilds its wheels.
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.engine.addresses import Addresses, UnparsedAddressInputs
from pants.engine.fs import (
    CreateDigest,
    Digest,
    DigestContents,
    DigestSubset,
    FileContent,
    PathGlobs,
)
from pants.engine.internals.selectors import Get, MultiGet
from pants.engine.rules import collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.toolchains.interpreter import (
    CrossTarget,
    Interpreter,
    InterpreterError,
    InterpreterFieldSet,
    InterpreterRequest,
    build_side_facts,
    host_machine,
)
from build_defs.toolchains.target_interpreter import (
    ARCH_PYCONFIG,
    TARGET_PYTHON_DIR,
    package_list,
    target_python_files,
)
from build_defs.toolchains.target_types import (
    CPythonVersionField,
    DebianEmulatorPackagesField,
    SourceCPythonBuildInterpreterField,
    SourceCPythonHostTripletField,
    SourceCPythonRuntimePackagesField,
    SourceCPythonSourceField,
    TargetCPythonPlatformField,
)
from build_defs.wheels.source_cpython import PREFIX, SourceCPython, SourceCPythonRequest


@dataclass(frozen=True)
class SourceCPythonFieldSet(InterpreterFieldSet):
    required_fields = (SourceCPythonSourceField, SourceCPythonHostTripletField)

    version: CPythonVersionField
    source: SourceCPythonSourceField
    host_triplet: SourceCPythonHostTripletField
    platform: TargetCPythonPlatformField
    build_interpreter: SourceCPythonBuildInterpreterField
    runtime_packages: SourceCPythonRuntimePackagesField
    emulator_packages: DebianEmulatorPackagesField


def _build_files(contents: DigestContents, version: str, sysconfig_name: str) -> dict[str, bytes]:
    """What a cross build reads from the installed tree, named as `target_python_files`
    takes them."""
    tree = PREFIX.lstrip("/")
    include = f"{tree}/include/python{version}/"
    files: dict[str, bytes] = {}
    for fc in contents:
        if fc.path.startswith(include):
            files[f"include/python{version}/{fc.path[len(include):]}"] = fc.content
        elif fc.path.endswith(f"/{sysconfig_name}.py"):
            files[f"sysconfig/{sysconfig_name}.py"] = fc.content
    if f"include/python{version}/pyconfig.h" in files:
        files[ARCH_PYCONFIG] = files[f"include/python{version}/pyconfig.h"]
    return files


@rule(desc="Prepare a CPython built from source as an interpreter", level=LogLevel.DEBUG)
async def source_cpython_interpreter(field_set: SourceCPythonFieldSet) -> Interpreter:
    address, version = field_set.address, field_set.version.value
    if not field_set.build_interpreter.value:
        raise InterpreterError(
            f"{address} names no `build_interpreter`: set it to the CPython {version} of this "
            "host's machine in its own root file system (a `debian_cpython` with "
            "`root_packages`), which runs the build tools of the wheels built for it."
        )
    (build_address,) = await Get(
        Addresses,
        UnparsedAddressInputs(
            (field_set.build_interpreter.value,),
            owning_address=address,
            description_of_origin=f"the `build_interpreter` field of {address}",
        ),
    )
    build, built = await MultiGet(
        Get(Interpreter, InterpreterRequest(build_address)),
        Get(SourceCPython, SourceCPythonRequest(address)),
    )
    if build.cross or build.version != version or not build.root_packages:
        raise InterpreterError(
            f"{address}: its `build_interpreter` {build_address} must be a CPython {version} of "
            "this host's machine running in its own root file system (a `debian_cpython` with "
            "`root_packages`): the built interpreter's tests run in that root."
        )
    triplet = built.host_triplet
    sysconfig_name = f"_sysconfigdata__linux_{triplet}"
    lib = f"{PREFIX.lstrip('/')}/lib/python{version}"
    contents = await Get(
        DigestContents,
        DigestSubset(
            built.digest,
            PathGlobs(
                [f"{PREFIX.lstrip('/')}/include/python{version}/**", f"{lib}/_sysconfigdata_*.py"]
            ),
        ),
    )
    found = sorted(fc.path.rsplit("/", 1)[1] for fc in contents if "/_sysconfigdata_" in fc.path)
    if f"{sysconfig_name}.py" not in found:
        raise InterpreterError(
            f"{address} was built for {triplet}, but its tree holds {found or 'no sysconfig data'}, "
            f"not {sysconfig_name}.py: its configure found no platform triplet (see its "
            "`configure_args`), and its extension modules would not carry upstream's names."
        )
    files, target = target_python_files(
        _build_files(contents, version, sysconfig_name),
        version,
        triplet,
        sysconfig_name,
        origin=f"built in the graph ({address})",
    )
    digest = await Get(
        Digest, CreateDigest([FileContent(path, data) for path, data in sorted(files.items())])
    )
    source = field_set.source.value
    runtime = tuple(field_set.runtime_packages.value or ())
    in_root = {p["sha256"] for p in build.root_packages}
    facts = {
        **target,
        **build_side_facts(build),
        "source": f"{source['filename']}:{source['sha256']}",
        # The installed tree as built: another build of the same pins gives the same digest.
        "built_tree": f"{built.digest.fingerprint}:{built.digest.serialized_bytes_length}",
        "runtime_packages": package_list(runtime),
    }
    emulator = tuple(field_set.emulator_packages.value or ())
    native = triplet.split("-", 1)[0] == host_machine()
    if emulator:
        facts["emulator_packages"] = package_list(emulator)
    cross = CrossTarget(
        digest=digest,
        root=TARGET_PYTHON_DIR,
        triplet=triplet,
        wheel_platform=field_set.platform.value,
        sysconfig_name=sysconfig_name,
        # Another CPU: its tests run the tree under qemu, its loader from these packages.
        test_packages=() if native else runtime,
        emulator_packages=emulator,
        interpreter_tree=built.digest,
        interpreter_path=f"{PREFIX.lstrip('/')}/bin/python{version}",
    )
    # This host's CPU: the loader joins the build interpreter's root, where the tests run it.
    joined = tuple(p for p in runtime if p["sha256"] not in in_root) if native else ()
    return Interpreter(
        address, version, FrozenDict(facts), cross, root_packages=build.root_packages + joined
    )


def rules():
    return [*collect_rules(), UnionRule(InterpreterFieldSet, SourceCPythonFieldSet)]
