"""An interpreter that runs in a root file system: its facts and refusals (the rule run with
its requests mocked), the shell lines that enter its root, and which pinned wheels its tool
environments may take. tests/e2e/test_root_fs.py builds, tests and reproduces in a real one."""

from __future__ import annotations

import dataclasses

import pytest
from pants.engine.addresses import Address, Addresses, UnparsedAddressInputs
from pants.engine.fs import EMPTY_DIGEST, CreateDigest, Digest, DigestContents, FileContent
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks
from pants.util.frozendict import FrozenDict

from build_defs.inputs.debian_package import DebianFilesRequest
from build_defs.inputs.target_types import DebianPackage
from build_defs.toolchains.cc_toolchain import CcToolchain
from build_defs.toolchains.interpreter import Interpreter, InterpreterError, InterpreterRequest
from build_defs.toolchains.target_interpreter import (
    DebianCPythonFieldSet,
    debian_cpython_interpreter,
)
from build_defs.toolchains.target_types import DebianCPythonTarget
from build_defs.wheels.isolation import Isolation
from build_defs.wheels.root_fs import NO_ROOT, RootFs, RootFsError
from build_defs.wheels.root_tools import wheel_matches


def _package(name: str, sha: str) -> DebianPackage:
    return DebianPackage(filename=f"{name}_amd64.deb", sha256=sha * 32, size=1)


_HEADERS = [
    _package("libpython3.14-dev_3.14.8-1", "aa"),
    _package("libpython3.14-minimal_3.14.8-1", "bb"),
]
_ROOT = [*_HEADERS, _package("libc6_2.43-7", "cc"), _package("python3.14-minimal_3.14.8-1", "dd")]
_FILES = {
    "include/python3.14/Python.h": b"#include <pyconfig.h>\n",
    "include/python3.14/pyconfig.h": b"#include <x86_64-linux-gnu/python3.14/pyconfig.h>\n",
    "include/python3.14/patchlevel.h": b'#define PY_VERSION              "3.14.8"\n',
    "arch-pyconfig.h": b"#define SIZEOF_LONG_DOUBLE 16\n",
    "sysconfig/_sysconfigdata__linux_x86_64-linux-gnu.py": (
        b"build_time_vars = {'EXT_SUFFIX': '.cpython-314-x86_64-linux-gnu.so', "
        b"'SOABI': 'cpython-314-x86_64-linux-gnu', 'Py_ENABLE_SHARED': 1}\n"
    ),
}


def _unused(request):
    raise AssertionError(f"a rooted interpreter asked for {request}")


def _interpreter(**fields):
    target = DebianCPythonTarget(
        {
            "version": "3.14",
            "triplet": "x86_64-linux-gnu",
            "platform": "manylinux_x86_64",
            "debian_packages": _HEADERS,
            "root_packages": _ROOT,
            **fields,
        },
        Address("3rdparty/python", target_name="cpython-3.14-x86_64"),
    )
    return run_rule_with_mocks(
        debian_cpython_interpreter,
        rule_args=[DebianCPythonFieldSet.create(target)],
        mock_gets=[
            MockGet(
                output_type=Digest, input_types=(DebianFilesRequest,), mock=lambda r: EMPTY_DIGEST
            ),
            MockGet(
                output_type=DigestContents,
                input_types=(Digest,),
                mock=lambda d: DigestContents(FileContent(p, c) for p, c in _FILES.items()),
            ),
            # The cross form's requests: a rooted interpreter makes none of them.
            MockGet(output_type=Addresses, input_types=(UnparsedAddressInputs,), mock=_unused),
            MockGet(output_type=Interpreter, input_types=(InterpreterRequest,), mock=_unused),
            MockGet(output_type=Digest, input_types=(CreateDigest,), mock=_unused),
        ],
    )


def test_a_rooted_interpreter_runs_from_its_root_and_keys_on_every_package() -> None:
    interpreter = _interpreter()
    assert interpreter.path == "/usr/bin/python3.14"
    assert interpreter.cross is None
    assert [p["filename"] for p in interpreter.root_packages] == [
        "libpython3.14-dev_3.14.8-1_amd64.deb",
        "libpython3.14-minimal_3.14.8-1_amd64.deb",
        "libc6_2.43-7_amd64.deb",
        "python3.14-minimal_3.14.8-1_amd64.deb",
    ]
    assert interpreter.facts["version"] == "3.14.8"
    assert interpreter.facts["EXT_SUFFIX"] == ".cpython-314-x86_64-linux-gnu.so"
    # Any package of the root, not only the headers, changes what builds key on.
    other = _interpreter(root_packages=[*_ROOT[:-1], _package("python3.14-minimal_3.14.8-2", "ee")])
    assert other.fingerprint != interpreter.fingerprint
    assert other.abi_digest == interpreter.abi_digest


def test_headers_from_outside_the_root_are_refused() -> None:
    with pytest.raises(InterpreterError, match="not in its `root_packages`"):
        _interpreter(root_packages=_ROOT[2:])


def test_a_debian_cpython_is_either_cross_or_rooted() -> None:
    with pytest.raises(InterpreterError, match="not both"):
        _interpreter(build_interpreter=":cpython-3.14")
    with pytest.raises(InterpreterError, match="set `build_interpreter`"):
        _interpreter(root_packages=[])


def test_a_build_in_a_root_refuses_a_toolchain_of_host_programs() -> None:
    root = RootFs(EMPTY_DIGEST, tuple(p.entry for p in _ROOT))
    owner, where = Address("proj", target_name="wheel"), "the root file system of :cpython"
    host = CcToolchain(
        Address("tc", target_name="zig"), EMPTY_DIGEST, FrozenDict(), host_programs=("nm", "rm")
    )
    with pytest.raises(RootFsError, match=r"names \(nm, rm\).*without host programs"):
        root.check_toolchain(owner, where, host)
    # Without host programs it serves; on the host (no root) any toolchain does.
    root.check_toolchain(owner, where, dataclasses.replace(host, host_programs=()))
    NO_ROOT.check_toolchain(owner, where, host)


def test_entering_a_root_needs_the_namespaces_and_is_never_skipped() -> None:
    strict = Isolation("strict", "isolated", "/mnt").wrap("b.sh", fixed_root=True, in_root=True)
    assert "/usr/bin/unshare --mount --net --pid --fork" in strict
    assert "/usr/sbin/chroot" in strict and "mount -t proc proc" in strict
    # A host that refused the namespaces: a process of a root stops instead of running on
    # the host (where its interpreter does not exist).
    refused = Isolation("best-effort", "best-effort: mount namespace refused", "/mnt")
    lines = refused.wrap("b.sh", fixed_root=True, in_root=True)
    assert "refusing to run" in lines and "exit 70" in lines
    assert "exit 70" not in refused.wrap("b.sh", fixed_root=True)


@pytest.mark.parametrize(
    "filename, cpu, matches",
    [
        ("meson-1.9.1-py3-none-any.whl", "x86_64", True),
        ("ninja-1.13.0-py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.whl", "x86_64", True),
        ("ninja-1.13.0-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", "x86_64", False),
        ("cython-3.1.6-cp314-cp314-macosx_10_15_x86_64.whl", "x86_64", False),
        ("cython-3.1.6-cp314-cp314-musllinux_1_2_aarch64.whl", "aarch64", True),
    ],
)
def test_tool_environments_take_only_wheels_for_linux_on_their_cpu(
    filename: str, cpu: str, matches: bool
) -> None:
    assert wheel_matches(filename, cpu) is matches
