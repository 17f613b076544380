"""A target interpreter from pinned Debian packages: the CPython a cross-compiled wheel is
for, supplied as an `Interpreter` like a host one (a member of `InterpreterFieldSet`).

Only what a build reads is kept from the packages: the headers with the target's own
`pyconfig.h` (Debian splits it per architecture, and its `/usr/include` also holds glibc
headers that must not shadow the toolchain's), the sysconfig data, and a pkg-config file
pointing at those headers (meson asks pkg-config first). The facts are the target's:
version, `EXT_SUFFIX`, `SOABI` and a hash of the headers, so provenance and cache keys
describe what the wheel is built for.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass

from pants.engine.addresses import Addresses, UnparsedAddressInputs
from pants.engine.fs import CreateDigest, Digest, DigestContents, FileContent
from pants.engine.internals.selectors import Get
from pants.engine.rules import collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.inputs.debian_package import DebianFilesRequest
from build_defs.inputs.target_types import DebianPackagesField
from build_defs.toolchains.interpreter import (
    CrossTarget,
    Interpreter,
    InterpreterError,
    InterpreterFieldSet,
    InterpreterRequest,
    build_side_facts,
    host_machine,
)
from build_defs.toolchains.target_types import (
    CPythonVersionField,
    DebianEmulatorPackagesField,
    DebianRootPackagesField,
    DebianTestPackagesField,
    TargetCPythonBuildInterpreterField,
    TargetCPythonPlatformField,
    TargetCPythonTripletField,
)

TARGET_PYTHON_DIR = "target-python"
ARCH_PYCONFIG = "arch-pyconfig.h"


def build_time_vars(source: str) -> dict:
    """The `build_time_vars` dict of a `_sysconfigdata_*.py` file, read without running it."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", "") == "build_time_vars" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise InterpreterError("the sysconfig data holds no build_time_vars")


def target_python_files(
    files: dict[str, bytes],
    version: str,
    triplet: str,
    sysconfig_name: str,
    origin: str = "from pinned Debian packages",
) -> tuple[dict[str, bytes], dict[str, str]]:
    """The files a cross build reads, under `TARGET_PYTHON_DIR`, and the target's facts.
    `files` holds `include/pythonX.Y/...`, the target's `pyconfig.h` as `arch-pyconfig.h`
    and `sysconfig/<sysconfig_name>.py`; `origin` says where they come from."""
    include = f"include/python{version}"
    if (
        ARCH_PYCONFIG not in files
        or f"{include}/Python.h" not in files
        or f"sysconfig/{sysconfig_name}.py" not in files
    ):
        raise InterpreterError(
            f"the packages hold no Python.h, {triplet} pyconfig.h or {sysconfig_name}.py for CPython {version}: "
            f"pin Debian's libpython{version}-dev and libpython{version}-minimal for the architecture."
        )
    # The architecture's own pyconfig.h replaces Debian's generic dispatcher.
    files = {**files, f"{include}/pyconfig.h": files[ARCH_PYCONFIG]}
    del files[ARCH_PYCONFIG]
    var = build_time_vars(files[f"sysconfig/{sysconfig_name}.py"].decode())
    exact = re.search(
        r'#define PY_VERSION\s+"([^"]+)"', files[f"{include}/patchlevel.h"].decode()
    ).group(1)
    pc = (
        "prefix=${pcfiledir}/..\nincludedir=${prefix}/include\n\n"
        f"Name: Python\nDescription: CPython {exact} for {triplet}, {origin}\n"
        f"Version: {version}\nLibs:\nCflags: -I${{includedir}}/python{version}\n"
    ).encode()
    # meson's Python dependency asks for python-X.Y; NumPy's meson checks Cython against
    # `python3`: both must find the target's headers, never the build interpreter's.
    files[f"pkgconfig/python-{version}.pc"] = files["pkgconfig/python3.pc"] = pc
    tree = hashlib.sha256()
    for path in sorted(p for p in files if p.startswith("include/")):
        tree.update(
            path.encode() + b"\0" + hashlib.sha256(files[path]).hexdigest().encode() + b"\n"
        )
    facts = {
        "implementation": "CPython",
        "version": exact,
        "EXT_SUFFIX": var.get("EXT_SUFFIX") or "",
        "SOABI": var.get("SOABI") or "",
        "Py_GIL_DISABLED": str(int(bool(var.get("Py_GIL_DISABLED")))),
        "Py_ENABLE_SHARED": str(int(bool(var.get("Py_ENABLE_SHARED")))),
        "include_sha256": tree.hexdigest(),
        "target_triplet": triplet,
    }
    return {f"{TARGET_PYTHON_DIR}/{path}": data for path, data in files.items()}, facts


@dataclass(frozen=True)
class DebianCPythonFieldSet(InterpreterFieldSet):
    required_fields = (TargetCPythonTripletField, DebianPackagesField)

    version: CPythonVersionField
    triplet: TargetCPythonTripletField
    platform: TargetCPythonPlatformField
    build_interpreter: TargetCPythonBuildInterpreterField
    packages: DebianPackagesField
    test_packages: DebianTestPackagesField
    emulator_packages: DebianEmulatorPackagesField
    root_packages: DebianRootPackagesField


async def _target_facts(
    field_set: DebianCPythonFieldSet, sysconfig_name: str
) -> tuple[dict[str, bytes], dict[str, str]]:
    """The files a build reads from the interpreter's `debian_packages`, and its facts."""
    version, triplet = field_set.version.value, field_set.triplet.value
    unpacked = await Get(
        Digest,
        DebianFilesRequest(
            field_set.packages.value,
            FrozenDict(
                {
                    f"usr/include/python{version}/": f"include/python{version}/",
                    f"usr/include/{triplet}/python{version}/pyconfig.h": ARCH_PYCONFIG,
                    f"usr/lib/python{version}/{sysconfig_name}.py": f"sysconfig/{sysconfig_name}.py",
                }
            ),
            field_set.address,
        ),
    )
    contents = await Get(DigestContents, Digest, unpacked)
    return target_python_files(
        {fc.path: fc.content for fc in contents}, version, triplet, sysconfig_name
    )


def package_list(packages) -> str:
    """Packages as `filename:sha256` words, as an interpreter's facts record them."""
    return " ".join(f"{p['filename']}:{p['sha256']}" for p in packages)


async def _rooted_interpreter(field_set: DebianCPythonFieldSet) -> Interpreter:
    """An interpreter that runs natively in the root file system of its `root_packages`."""
    version, triplet = field_set.version.value, field_set.triplet.value
    root = tuple(field_set.root_packages.value or ())
    in_root = {p["sha256"] for p in root}
    strays = [p["filename"] for p in field_set.packages.value if p["sha256"] not in in_root]
    if strays:
        raise InterpreterError(
            f"{field_set.address}: its `debian_packages` {strays} are not in its `root_packages`: "
            "the headers a build reads must be those of the interpreter that runs it."
        )
    host_cpu = host_machine()
    if triplet.split("-", 1)[0] != host_cpu:
        raise InterpreterError(
            f"{field_set.address} runs natively in its root file system, so its triplet {triplet} "
            f"must be this host's architecture ({host_cpu}). For another architecture, declare a "
            "target interpreter with `debian_packages` and a `build_interpreter` of this host's."
        )
    _, target = await _target_facts(field_set, f"_sysconfigdata__linux_{triplet}")
    facts = {
        **target,
        "path": f"/usr/bin/python{version}",
        "debian_packages": package_list(field_set.packages.value),
        "root_packages": package_list(root),
    }
    return Interpreter(field_set.address, version, FrozenDict(facts), root_packages=root)


@rule(desc="Prepare a CPython from Debian packages", level=LogLevel.DEBUG)
async def debian_cpython_interpreter(field_set: DebianCPythonFieldSet) -> Interpreter:
    version, triplet = field_set.version.value, field_set.triplet.value
    if field_set.root_packages.value:
        if field_set.build_interpreter.value:
            raise InterpreterError(
                f"{field_set.address}: set `build_interpreter` (a cross target) or `root_packages` "
                "(an interpreter that runs in its own root), not both."
            )
        return await _rooted_interpreter(field_set)
    if not field_set.build_interpreter.value:
        raise InterpreterError(
            f"{field_set.address}: set `build_interpreter` (the host CPython that runs a cross "
            "build) or `root_packages` (a root file system the interpreter runs in)."
        )
    (build_address,) = await Get(
        Addresses,
        UnparsedAddressInputs(
            (field_set.build_interpreter.value,),
            owning_address=field_set.address,
            description_of_origin=f"the `build_interpreter` field of {field_set.address}",
        ),
    )
    build = await Get(Interpreter, InterpreterRequest(build_address))
    if build.cross or build.version != version:
        raise InterpreterError(
            f"{field_set.address}: its `build_interpreter` {build_address} must be a CPython "
            f"{version} of this host's architecture, on the host or in its own root file system "
            "(meson-python tags the wheel with the version of the interpreter that runs it)."
        )
    packages = field_set.packages.value
    sysconfig_name = f"_sysconfigdata__linux_{triplet}"
    files, target = await _target_facts(field_set, sysconfig_name)
    digest = await Get(
        Digest, CreateDigest([FileContent(path, data) for path, data in sorted(files.items())])
    )
    facts = {
        **target,
        **build_side_facts(build),
        "debian_packages": package_list(packages),
    }
    cross = CrossTarget(
        digest=digest,
        root=TARGET_PYTHON_DIR,
        triplet=triplet,
        wheel_platform=field_set.platform.value,
        sysconfig_name=sysconfig_name,
        header_packages=tuple(packages),
        test_packages=tuple(field_set.test_packages.value or ()),
        emulator_packages=tuple(field_set.emulator_packages.value or ()),
    )
    # A build interpreter in a root file system takes the cross build into that root.
    return Interpreter(
        field_set.address, version, FrozenDict(facts), cross, root_packages=build.root_packages
    )


def rules():
    return [*collect_rules(), UnionRule(InterpreterFieldSet, DebianCPythonFieldSet)]
