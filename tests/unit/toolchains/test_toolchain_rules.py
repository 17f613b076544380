"""Rule tests of toolchains, interpreters, project sources and wheel dependency inference,
with Pants' own RuleRunner."""

from __future__ import annotations

import os
from textwrap import dedent

import pytest
from pants.backend.python.target_types import PythonRequirementTarget
from pants.core.util_rules import archive, system_binaries
from pants.engine.addresses import Address
from pants.engine.fs import DigestContents
from pants.engine.internals.scheduler import ExecutionError
from pants.engine.target import InferredDependencies, InvalidFieldException
from pants.testutil.rule_runner import QueryRule, RuleRunner, engine_error

from build_defs.inputs import address_fields, debian_package, project_source, store_artifact
from build_defs.inputs import target_types as input_targets
from build_defs.inputs.project_source import ProjectTree, ProjectTreeRequest
from build_defs.inputs.target_types import MesonProjectTarget
from build_defs.toolchains import cc_toolchain as toolchain
from build_defs.toolchains import host_programs as host
from build_defs.toolchains import host_toolchain, interpreter
from build_defs.toolchains import target_types as toolchain_targets
from build_defs.toolchains import zig
from build_defs.toolchains.cc_toolchain import CcToolchain, CcToolchainRequest
from build_defs.toolchains.interpreter import Interpreter, InterpreterRequest
from build_defs.toolchains.target_types import (
    CcToolchainTarget,
    HostCPythonTarget,
    ZigToolchainTarget,
)
from build_defs.wheels import target_types as wheel_targets
from build_defs.wheels.target_types import (
    InferMesonWheelDependencies,
    MesonWheelInputsFieldSet,
    MesonWheelPythonField,
    MesonWheelTarget,
)


@pytest.fixture
def rule_runner() -> RuleRunner:
    return RuleRunner(
        rules=[
            *toolchain.rules(),
            *host.rules(),
            *host_toolchain.rules(),
            *zig.rules(),
            *debian_package.rules(),
            *project_source.rules(),
            *store_artifact.rules(),
            *archive.rules(),
            *address_fields.rules(),
            *wheel_targets.rules(),
            *toolchain_targets.rules(),
            *system_binaries.rules(),
            *interpreter.rules(),
            QueryRule(CcToolchain, [CcToolchainRequest]),
            QueryRule(Interpreter, [InterpreterRequest]),
            QueryRule(ProjectTree, [ProjectTreeRequest]),
            QueryRule(InferredDependencies, [InferMesonWheelDependencies]),
        ],
        target_types=[
            CcToolchainTarget,
            ZigToolchainTarget,
            MesonProjectTarget,
            MesonWheelTarget,
            PythonRequirementTarget,
            HostCPythonTarget,
        ],
        objects={**input_targets.build_file_objects(), **toolchain_targets.build_file_objects()},
    )


def _write_tool(rule_runner: RuleRunner, name: str, version: str) -> str:
    """A fake compiler: a script whose --version and bytes we control."""
    path = f"bin/{name}"
    rule_runner.write_files({path: f"#!/bin/sh\necho '{version}'\n"})
    full = f"{rule_runner.build_root}/{path}"

    os.chmod(full, 0o755)
    return full


def _toolchain(rule_runner: RuleRunner, cc: str, cxx: str) -> CcToolchain:
    rule_runner.write_files(
        {"tc/BUILD": f"cc_toolchain(name='t', cc='{cc}', cxx='{cxx}', tools={{'ar': '{cxx}'}})"}
    )
    rule_runner.set_options([], env_inherit={"PATH"})
    return rule_runner.request(CcToolchain, [CcToolchainRequest(Address("tc", target_name="t"))])


def test_toolchain_fingerprint_tracks_the_compiler(rule_runner: RuleRunner) -> None:
    cc = _write_tool(rule_runner, "cc-a", "fakecc 1.0")
    cxx = _write_tool(rule_runner, "cxx-a", "fakecxx 1.0")
    first = _toolchain(rule_runner, cc, cxx)
    assert "fakecc 1.0" in first.programs["cc"] and "sha256:" in first.programs["cc"]
    assert set(first.programs) == {"cc", "cxx", "ar"}
    wrappers = {fc.path: fc for fc in rule_runner.request(DigestContents, [first.digest])}
    assert wrappers["toolchain/bin/cc"].is_executable
    assert cc.encode() in wrappers["toolchain/bin/cc"].content

    # Same compiler, new session: same digest, so nothing downstream rebuilds.
    rule_runner.new_session("again")
    assert _toolchain(rule_runner, cc, cxx).digest == first.digest

    # An upgraded compiler (other bytes, other version) changes the digest.
    _write_tool(rule_runner, "cc-a", "fakecc 2.0")
    rule_runner.new_session("upgraded")
    upgraded = _toolchain(rule_runner, cc, cxx)
    assert upgraded.digest != first.digest
    assert "fakecc 2.0" in upgraded.programs["cc"]


def test_missing_compiler_is_a_clear_error(rule_runner: RuleRunner) -> None:
    cxx = _write_tool(rule_runner, "cxx-b", "fakecxx 1.0")
    with engine_error(
        toolchain.ToolchainError, contains="tool 'cc' (/nonexistent/gcc) was not found"
    ):
        _toolchain(rule_runner, "/nonexistent/gcc", cxx)


def test_project_tree_is_rooted_at_src(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "proj/BUILD": "meson_project(name='p', source_date_epoch=1234)",
            "proj/meson.build": "project('p', 'c')\n",
            "proj/pkg/mod.c": "int x;\n",
        }
    )
    tree = rule_runner.request(ProjectTree, [ProjectTreeRequest(Address("proj", target_name="p"))])
    paths = sorted(fc.path for fc in rule_runner.request(DigestContents, [tree.digest]))
    assert paths == ["src/meson.build", "src/pkg/mod.c"]
    assert tree.source_date_epoch == 1234


def test_project_source_must_be_a_project(rule_runner: RuleRunner) -> None:
    rule_runner.write_files({"tc/BUILD": "cc_toolchain(name='t', cc='/bin/true', cxx='/bin/true')"})
    with engine_error(
        project_source.UnsupportedSourceError, contains="cannot be used as a project source"
    ):
        rule_runner.request(ProjectTree, [ProjectTreeRequest(Address("tc", target_name="t"))])


def test_wheel_depends_on_source_toolchain_and_requirements(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "reqs/BUILD": dedent(
                """\
                python_requirement(name="meson-python", requirements=["meson-python==0.19.0"])
                python_requirement(name="auditwheel", requirements=["auditwheel==6.4.2"])
                """
            ),
            "tc/BUILD": "cc_toolchain(name='host', cc='/usr/bin/gcc', cxx='/usr/bin/g++')",
            "py/BUILD": "host_cpython(name='cpython-3.12', version='3.12')",
            "proj/BUILD": dedent(
                """\
                meson_project(name="p")
                meson_wheel(
                    name="wheel",
                    source=":p",
                    python="3.12",
                    build_requirements=["reqs:meson-python"],
                    repair_requirements=["reqs:auditwheel"],
                    toolchain="tc:host",
                    interpreter="py:cpython-{python}",
                )
                """
            ),
        }
    )
    tgt = rule_runner.get_target(Address("proj", target_name="wheel"))
    inferred = rule_runner.request(
        InferredDependencies,
        [InferMesonWheelDependencies(MesonWheelInputsFieldSet.create(tgt))],
    )
    assert set(inferred.include) == {
        Address("proj", target_name="p"),
        Address("tc", target_name="host"),
        Address("reqs", target_name="meson-python"),
        Address("reqs", target_name="auditwheel"),
        Address("py", target_name="cpython-3.12"),
    }


@pytest.mark.parametrize("bad", ["312", "3.x", "python3.12", "4.0.1"])
def test_python_field_rejects_malformed_versions(bad: str) -> None:
    with pytest.raises(InvalidFieldException, match="must look like '3.12'"):
        MesonWheelPythonField(bad, Address("proj", target_name="wheel"))


def test_python_field_accepts_versions() -> None:
    assert MesonWheelPythonField("3.13", Address("proj", target_name="wheel")).value == "3.13"


def test_unknown_address_in_a_field_fails(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "proj/BUILD": dedent(
                """\
                meson_wheel(
                    name="wheel",
                    source=":missing",
                    python="3.12",
                    build_requirements=[],
                    repair_requirements=[],
                    toolchain=":nope",
                )
                """
            ),
        }
    )
    tgt = rule_runner.get_target(Address("proj", target_name="wheel"))
    with pytest.raises(ExecutionError, match="does not exist"):
        rule_runner.request(
            InferredDependencies,
            [InferMesonWheelDependencies(MesonWheelInputsFieldSet.create(tgt))],
        )


def _fake_zig_wheel() -> bytes:
    """A stand-in `ziglang` wheel whose `zig` prints its arguments."""
    import base64
    import hashlib
    import io
    import zipfile

    buf = io.BytesIO()
    zig = '#!/bin/sh\necho "zig $*"\n'
    digest = base64.urlsafe_b64encode(hashlib.sha256(zig.encode()).digest()).rstrip(b"=").decode()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("ziglang/zig")
        info.external_attr = 0o755 << 16
        zf.writestr(info, zig)
        zf.writestr(
            "ziglang-0.0.dist-info/RECORD",
            f"ziglang/zig,sha256={digest},{len(zig)}\nziglang-0.0.dist-info/RECORD,,\n",
        )
    return buf.getvalue()


def test_zig_toolchain_wrappers(rule_runner: RuleRunner, tmp_path) -> None:
    import hashlib
    import subprocess

    wheel = _fake_zig_wheel()
    store = tmp_path / "store"
    (store / "files").mkdir(parents=True)
    (store / "files" / "ziglang-0.0-py3-none-any.whl").write_bytes(wheel)
    ar = _write_tool(rule_runner, "host-nm", "GNU nm 2.40")
    rule_runner.write_files(
        {
            "tc/BUILD": dedent(
                f"""\
                zig_toolchain(
                    name="zig",
                    version="0.0",
                    filename="ziglang-0.0-py3-none-any.whl",
                    sha256="{hashlib.sha256(wheel).hexdigest()}",
                    size={len(wheel)},
                    zig_target="x86_64-linux-gnu.2.28",
                    tools={{"nm": "{ar}"}},
                )
                """
            )
        }
    )
    rule_runner.set_options([f"--artifact-store-root={store}"], env_inherit={"PATH"})
    tc = rule_runner.request(CcToolchain, [CcToolchainRequest(Address("tc", target_name="zig"))])
    assert set(tc.programs) == {"cc", "cxx", "ar", "ranlib", "nm"}
    assert "-target x86_64-linux-gnu.2.28" in tc.programs["cc"]
    # The pinned wheel arrives as an immutable input; the build links `zig` to the kept tree.
    assert set(tc.immutable_inputs) == {".zig-pinned"} and set(tc.append_only_caches.values()) == {
        ".zig-cache"
    }
    assert '/bin/ln -s "$zig_tree" "$ROOT/zig"' in tc.setup and "sha256sum" in tc.setup

    # Lay the sandbox out as a build gets it, unpack and check the kept tree as a build
    # does, and run the wrappers for real.
    root = tmp_path / "sandbox"
    (root / ".zig-cache").mkdir(parents=True)
    for fc in rule_runner.request(DigestContents, [tc.digest]):
        path = root / fc.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(fc.content)
        path.chmod(0o755 if fc.is_executable else 0o644)
    (pinned,) = rule_runner.request(DigestContents, [tc.immutable_inputs[".zig-pinned"]])
    assert pinned.content == wheel
    (root / ".zig-pinned").mkdir()
    (root / ".zig-pinned" / pinned.path).write_bytes(pinned.content)
    subprocess.run(
        ["/bin/bash", "-c", f'set -euo pipefail\n{tc.prepare}ROOT="$PWD"\n{tc.setup}'],
        cwd=root,
        check=True,
    )
    cc = str(root / "toolchain/bin/cc")
    compile_out = subprocess.run(
        [cc, "-c", "a.c"], capture_output=True, text=True, check=True
    ).stdout
    link_out = subprocess.run(
        [cc, "a.o", "-o", "a.so"], capture_output=True, text=True, check=True
    ).stdout
    assert compile_out.split() == [
        "zig",
        "cc",
        "-target",
        "x86_64-linux-gnu.2.28",
        "-g0",
        "-c",
        "a.c",
    ]
    assert link_out.split() == [
        "zig",
        "cc",
        "-target",
        "x86_64-linux-gnu.2.28",
        "-g0",
        f"-Wl,--version-script={root}/toolchain/bin/../hide-cxx-runtime.map",
        "-Wl,--strip-debug",
        "a.o",
        "-o",
        "a.so",
    ]
    assert "*std::*;" in (root / "toolchain/hide-cxx-runtime.map").read_text()
    ar_out = subprocess.run(
        [str(root / "toolchain/bin/ar"), "csr", "x.a"], capture_output=True, text=True
    ).stdout
    assert ar_out.split() == ["zig", "ar", "csr", "x.a"]


def test_zig_toolchain_refuses_to_shadow_its_own_programs(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "tc/BUILD": dedent(
                """\
                zig_toolchain(
                    name="zig", version="0.0", filename="z-0-py3-none-any.whl", sha256="%s", size=1,
                    tools={"cc": "/usr/bin/gcc"},
                )
                """
                % ("0" * 64)
            )
        }
    )
    with engine_error(toolchain.ToolchainError, contains="`cc` comes from zig"):
        rule_runner.request(CcToolchain, [CcToolchainRequest(Address("tc", target_name="zig"))])


def test_zig_toolchain_without_host_tools(rule_runner: RuleRunner, tmp_path) -> None:
    import hashlib

    wheel = _fake_zig_wheel()
    store = tmp_path / "store"
    (store / "files").mkdir(parents=True)
    (store / "files" / "ziglang-0.0-py3-none-any.whl").write_bytes(wheel)
    rule_runner.write_files(
        {
            "tc/BUILD": (
                f"zig_toolchain(name='zig', version='0.0', filename='ziglang-0.0-py3-none-any.whl', "
                f"sha256='{hashlib.sha256(wheel).hexdigest()}', size={len(wheel)}, tools={{}})"
            )
        }
    )
    rule_runner.set_options([f"--artifact-store-root={store}"], env_inherit={"PATH"})
    tc = rule_runner.request(CcToolchain, [CcToolchainRequest(Address("tc", target_name="zig"))])
    assert set(tc.programs) == {"cc", "cxx", "ar", "ranlib"}


def test_gcc_fingerprint_covers_what_the_driver_runs(rule_runner: RuleRunner) -> None:
    """The real host gcc: its cc1, collect2, crt files and libgcc are fingerprinted too."""
    tc = _toolchain(rule_runner, "/usr/bin/gcc", "/usr/bin/g++")
    for part in (
        "cc:cc1",
        "cc:collect2",
        "cc:crtbegin.o",
        "cc:libgcc.a",
        "cxx:cc1plus",
        "cxx:libstdc++.so",
    ):
        assert part in tc.programs, sorted(tc.programs)
        path, sha = tc.programs[part].split()[:2]
        assert os.path.isabs(path) and sha.startswith("sha256:")
    assert "/cc1 " in tc.programs["cc:cc1"] and "cc1plus" in tc.programs["cxx:cc1plus"]


def _host_cpython(rule_runner: RuleRunner, body: str) -> Interpreter:
    rule_runner.write_files({"py/BUILD": f"host_cpython(name='cp', {body})"})
    rule_runner.set_options([], env_inherit={"PATH", "PYENV_ROOT", "HOME"})
    return rule_runner.request(Interpreter, [InterpreterRequest(Address("py", target_name="cp"))])


def test_host_cpython_fingerprint(rule_runner: RuleRunner) -> None:
    import sys

    here = os.path.realpath(sys.executable)  # the CPython 3.9 running these tests
    found = _host_cpython(rule_runner, f"version='3.9', search_path=['{os.path.dirname(here)}']")
    assert found.path == here and found.facts["version"].startswith("3.9.")
    assert found.facts["SOABI"].startswith("cpython-39") and found.facts["Py_GIL_DISABLED"] == "0"
    assert found.env == {"CPYTHON_FINGERPRINT": f"{found.facts['version']} {found.fingerprint}"}


def test_host_cpython_exact_pin_and_missing_version(rule_runner: RuleRunner) -> None:
    import sys

    where = os.path.dirname(os.path.realpath(sys.executable))
    with engine_error(interpreter.InterpreterError, contains="pins CPython 3.9.999"):
        _host_cpython(
            rule_runner, f"version='3.9', exact_version='3.9.999', search_path=['{where}']"
        )
    with engine_error(interpreter.InterpreterError, contains="no CPython 3.98 found"):
        _host_cpython(rule_runner, f"version='3.98', search_path=['{where}']")


def test_zig_toolchain_runtime_archives_name_their_package_and_need_a_license(
    rule_runner: RuleRunner, tmp_path
) -> None:
    import hashlib

    from tests.unit.inputs.test_debian_packages import deb

    wheel = _fake_zig_wheel()
    packages = {
        "libother_1.0-1_arm64.deb": deb({"usr/share/doc/other/README": b"x"}),
        "libgcc-14-dev_14.2.0-19_arm64.deb": deb(
            {"usr/lib/gcc/aarch64-linux-gnu/14/libgcc.a": b"!<arch>\n"}
        ),
    }
    store = tmp_path / "store"
    (store / "files").mkdir(parents=True)
    (store / "files" / "ziglang-0.0-py3-none-any.whl").write_bytes(wheel)
    for name, data in packages.items():
        (store / "files" / name).write_bytes(data)
    listed = [
        {"filename": n, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
        for n, d in packages.items()
    ]
    declared = ", ".join(f"debian_package(**{entry!r})" for entry in listed)

    def toolchain_build(license_line: str) -> str:
        return dedent(
            f"""\
            zig_toolchain(
                name="zig", version="0.0", filename="ziglang-0.0-py3-none-any.whl",
                sha256="{hashlib.sha256(wheel).hexdigest()}", size={len(wheel)},
                zig_target="aarch64-linux-gnu.2.28",
                runtime_packages=[{declared}],
                runtime_files=[runtime_file(path="usr/lib/gcc/aarch64-linux-gnu/14/libgcc.a", name="libgcc.a")],
                {license_line}
            )
            """
        )

    rule_runner.set_options([f"--artifact-store-root={store}"], env_inherit={"PATH"})
    rule_runner.write_files(
        {"tc/BUILD": toolchain_build('runtime_license="GPL-3.0-or-later WITH GCC-exception-3.1",')}
    )
    tc = rule_runner.request(CcToolchain, [CcToolchainRequest(Address("tc", target_name="zig"))])
    assert [dict(e) for e in tc.linked_runtime] == [
        {
            "name": "libgcc.a",
            "package": "libgcc-14-dev_14.2.0-19_arm64.deb",
            "sha256": listed[1]["sha256"],
            "license": "GPL-3.0-or-later WITH GCC-exception-3.1",
        }
    ]
    assert "toolchain/runtime/libgcc.a" in {
        fc.path for fc in rule_runner.request(DigestContents, [tc.digest])
    }

    rule_runner.write_files({"tc/BUILD": toolchain_build("")})
    with engine_error(toolchain.ToolchainError, contains="set `runtime_license`"):
        rule_runner.request(CcToolchain, [CcToolchainRequest(Address("tc", target_name="zig"))])
