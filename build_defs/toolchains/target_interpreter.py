"""A target interpreter from pinned Debian packages: the CPython a cross-compiled wheel is
for, supplied as an `Interpreter` like a host one (a member of `InterpreterFieldSet`).

The packages are unpacked by the build interpreter itself (standard library only: `ar`
members and `data.tar.*` through `tarfile`), keeping only what a build reads: the headers
with the target's own `pyconfig.h` (Debian splits it per architecture, and its
`/usr/include` also holds glibc headers that must not shadow the toolchain's), the
sysconfig data, and a pkg-config file pointing at those headers (meson asks pkg-config
first). The facts are the target's: version, `EXT_SUFFIX`, `SOABI` and a hash of the headers,
so provenance and cache keys describe what the wheel is built for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from textwrap import dedent

from pants.engine.addresses import Addresses, UnparsedAddressInputs
from pants.engine.fs import CreateDigest, Digest, DigestContents, DigestSubset, FileContent, MergeDigests, PathGlobs
from pants.engine.internals.selectors import Get, MultiGet
from pants.engine.process import Process, ProcessResult
from pants.engine.rules import collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.inputs.store_artifact import StoreArtifact, StoreArtifactRequest
from build_defs.target_types import (
    CPythonVersionField,
    DebianPackagesField,
    TargetCPythonBuildInterpreterField,
    TargetCPythonPlatformField,
    TargetCPythonTripletField,
)
from build_defs.toolchains.interpreter import (
    CrossTarget,
    Interpreter,
    InterpreterError,
    InterpreterFieldSet,
    InterpreterRequest,
)

TARGET_PYTHON_DIR = "target-python"
_FACTS = f"{TARGET_PYTHON_DIR}/facts.json"

# argv: version, triplet, output dir, .deb files. Standard library only.
UNPACK_SCRIPT = dedent(
    '''\
    import hashlib, io, json, os, re, sys, tarfile

    version, triplet, out, *debs = sys.argv[1:]
    sysconfig_name = f"_sysconfigdata__linux_{triplet}"
    wanted = {
        f"usr/include/python{version}/": f"include/python{version}/",
        f"usr/include/{triplet}/python{version}/pyconfig.h": "arch-pyconfig.h",
        f"usr/lib/python{version}/{sysconfig_name}.py": f"sysconfig/{sysconfig_name}.py",
    }
    files = {}

    def ar_members(path):
        with open(path, "rb") as f:
            if f.read(8) != b"!<arch>\\n":
                sys.exit(f"{path} is not a Debian package (no ar header)")
            while True:
                header = f.read(60)
                if len(header) < 60:
                    return
                name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58])
                data = f.read(size)
                f.read(size % 2)
                yield name, data

    for deb in debs:
        data = [d for n, d in ar_members(deb) if n.startswith("data.tar")]
        if len(data) != 1:
            sys.exit(f"{deb}: expected one data.tar member")
        with tarfile.open(fileobj=io.BytesIO(data[0])) as tar:
            for member in tar.getmembers():
                name = member.name.lstrip("./")
                if not member.isfile():
                    continue
                for prefix, dest in wanted.items():
                    if name == prefix or (prefix.endswith("/") and name.startswith(prefix)):
                        target = dest + name[len(prefix):] if prefix.endswith("/") else dest
                        files[target] = tar.extractfile(member).read()
    if "arch-pyconfig.h" not in files:
        sys.exit(f"the packages hold no pyconfig.h for {triplet}: pin the -dev package")
    # The architecture's own pyconfig.h replaces Debian's generic dispatcher.
    files[f"include/python{version}/pyconfig.h"] = files.pop("arch-pyconfig.h")
    for need in (f"include/python{version}/Python.h", f"include/python{version}/pyconfig.h", f"sysconfig/{sysconfig_name}.py"):
        if need not in files:
            sys.exit(f"the packages hold no {need} for CPython {version} on {triplet}: pin the -dev and -minimal packages")
    if b"#include <" + triplet.encode() in files[f"include/python{version}/pyconfig.h"]:
        sys.exit("pyconfig.h is Debian's multiarch dispatcher, not the architecture's own")
    namespace = {}
    exec(files[f"sysconfig/{sysconfig_name}.py"].decode(), namespace)
    var = namespace["build_time_vars"]
    patchlevel = files[f"include/python{version}/patchlevel.h"].decode()
    exact = re.search(r'#define PY_VERSION\\s+"([^"]+)"', patchlevel).group(1)
    files[f"pkgconfig/python-{version}.pc"] = (
        "prefix=${pcfiledir}/..\\nincludedir=${prefix}/include\\n\\n"
        f"Name: Python\\nDescription: CPython {exact} for {triplet}, from pinned Debian packages\\n"
        f"Version: {version}\\nLibs:\\nCflags: -I${{includedir}}/python{version}\\n"
    ).encode()
    tree = hashlib.sha256()
    for path in sorted(files):
        os.makedirs(os.path.dirname(os.path.join(out, path)), exist_ok=True)
        with open(os.path.join(out, path), "wb") as f:
            f.write(files[path])
        if path.startswith("include/"):
            tree.update(path.encode() + b"\\0" + hashlib.sha256(files[path]).hexdigest().encode() + b"\\n")
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
    with open(os.path.join(out, "facts.json"), "w") as f:
        json.dump(facts, f, sort_keys=True)
    '''
)


@dataclass(frozen=True)
class DebianCPythonFieldSet(InterpreterFieldSet):
    required_fields = (TargetCPythonTripletField, DebianPackagesField)

    version: CPythonVersionField
    triplet: TargetCPythonTripletField
    platform: TargetCPythonPlatformField
    build_interpreter: TargetCPythonBuildInterpreterField
    packages: DebianPackagesField


@rule(desc="Prepare a target CPython from Debian packages", level=LogLevel.DEBUG)
async def debian_cpython_interpreter(field_set: DebianCPythonFieldSet) -> Interpreter:
    version, triplet = field_set.version.value, field_set.triplet.value
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
            f"{field_set.address}: its `build_interpreter` {build_address} must be a host CPython "
            f"{version} (meson-python tags the wheel with the version of the interpreter that runs it)."
        )
    packages = field_set.packages.value
    debs = await MultiGet(
        Get(StoreArtifact, StoreArtifactRequest(p["filename"], p["sha256"], p["size"], field_set.address))
        for p in packages
    )
    script = await Get(Digest, CreateDigest([FileContent("unpack_target_python.py", UNPACK_SCRIPT.encode())]))
    result = await Get(
        ProcessResult,
        Process(
            argv=(build.path, "-I", "-S", "unpack_target_python.py", version, triplet, TARGET_PYTHON_DIR,
                  *(p["filename"] for p in packages)),
            input_digest=await Get(Digest, MergeDigests([script, *(d.digest for d in debs)])),
            output_directories=(TARGET_PYTHON_DIR,),
            env={"CPYTHON_FINGERPRINT": build.env["CPYTHON_FINGERPRINT"]},
            description=f"Unpack CPython {version} for {triplet} ({field_set.address})",
            level=LogLevel.DEBUG,
        ),
    )
    facts_digest = await Get(Digest, DigestSubset(result.output_digest, PathGlobs([_FACTS])))
    (facts_file,) = await Get(DigestContents, Digest, facts_digest)
    target = json.loads(facts_file.content)
    facts = {
        **target,
        # The build side: which interpreter runs the tools, and its own fingerprint.
        "path": build.path,
        "build_interpreter": f"{build.facts['version']} {build.fingerprint}",
        "debian_packages": " ".join(f"{p['filename']}:{p['sha256']}" for p in packages),
    }
    cross = CrossTarget(
        digest=result.output_digest,
        root=TARGET_PYTHON_DIR,
        triplet=triplet,
        wheel_platform=field_set.platform.value,
        sysconfig_name=f"_sysconfigdata__linux_{triplet}",
    )
    return Interpreter(field_set.address, version, FrozenDict(facts), cross)


def rules():
    return [*collect_rules(), UnionRule(InterpreterFieldSet, DebianCPythonFieldSet)]
