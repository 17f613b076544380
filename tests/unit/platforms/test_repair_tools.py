"""The repair tool follows the wheel's platform, not the host's: the command lines the
repair rule produces for a macOS and a Linux wheel (the rule run with its requests
mocked, on any host), the bundled-library checks for each layout, and both tools' own
`--help` from the hash-locked repair set."""

from __future__ import annotations

import io
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from pants.core.util_rules.system_binaries import BashBinary
from pants.engine.addresses import Address
from pants.engine.fs import (
    EMPTY_DIGEST,
    AddPrefix,
    CreateDigest,
    Digest,
    DigestContents,
    MergeDigests,
    RemovePrefix,
    Snapshot,
)
from pants.engine.process import Process, ProcessResult
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks
from pants.util.frozendict import FrozenDict

from build_defs.inputs.native_library import NativeLibrary
from build_defs.platforms import linux as auditwheel_rules
from build_defs.platforms import registry
from build_defs.platforms.registry import UnsupportedPlatformError, repair_tool_for
from build_defs.toolchains.tool_env import ToolEnv
from build_defs.wheels.build_wheel import (
    BuiltWheel,
    MesonWheelFieldSet,
    WrongPlatformError,
    check_buildable_here,
)
from build_defs.wheels.repair_wheel import RepairWheelRequest, check_bundled_libraries, repair_wheel
from build_defs.wheels.root_fs import RootFs, RootFsRequest
from build_defs.wheels.root_tools import PlacedToolEnvRequest
from build_defs.wheels.target_types import MesonWheelTarget
from tests.e2e.repo import cpython
from tests.unit.support import locked_venv


def _native(patterns: tuple[str, ...]) -> NativeLibrary:
    return NativeLibrary(
        address=Address("3rdparty/openblas", target_name="ilp64"),
        digest=EMPTY_DIGEST,
        root="native/ilp64",
        pkg_config_name="scipy-openblas",
        pkg_config_script="print()",
        pkg_config_file="",
        library_dir="native/ilp64/scipy_openblas64/lib",
        bundled_libraries=patterns,
        license_section="Name: OpenBLAS",
        filename="scipy_openblas64-0-py3-none-any.whl",
        sha256="00" * 32,
        version="0",
        license_expression="BSD-3-Clause",
    )


def _field_set(platform: str, plat: str | None = None) -> MesonWheelFieldSet:
    tgt = MesonWheelTarget(
        {
            "source": ":src",
            "python": "3.12",
            "toolchain": ":tc",
            "platform": platform,
            "repair_policy": plat,
            "build_requirements": [],
            "repair_requirements": ["3rdparty/python:repair"],
        },
        Address("proj", target_name="wheel", parameters={"python": "3.12"}),
    )
    return MesonWheelFieldSet.create(tgt)


def _zip(names: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n in names:
            info = zipfile.ZipInfo(n)
            info.external_attr = 0o100644 << 16
            zf.writestr(info, b"x")
    return buf.getvalue()


@dataclass(frozen=True)
class _Isolation:
    env: FrozenDict = FrozenDict({"BUILD_ISOLATION": "isolated"})

    def wrap(self, script_name: str, *, fixed_root: bool, in_root: bool = False) -> str:
        return ""


@dataclass(frozen=True)
class _Interpreter:
    env: FrozenDict = FrozenDict({"INTERPRETER": "cpython-3.12"})
    root_packages: tuple = ()


def _no_root(request):
    raise AssertionError(f"a host interpreter's repair asked for {request}")


def _run_repair(
    platform: str,
    wheel_name: str,
    repaired_entries: list[str],
    patterns: tuple[str, ...],
    plat: str | None = None,
) -> tuple[str, Process]:
    """Run the repair rule with every request mocked; return the script and the Process."""
    captured: dict = {}
    built = BuiltWheel(
        EMPTY_DIGEST,
        f"built/{wheel_name}",
        1700000000,
        (_native(patterns),),
        _Interpreter(),
        _Isolation(),
    )  # type: ignore[arg-type]
    tool_env = SimpleNamespace(
        activate=lambda: "TOOL_PREFIX=/venv\n",
        digest=EMPTY_DIGEST,
        append_only_caches=FrozenDict(),
        installed=("auditwheel-6.4.2-py3-none-any.whl",),
    )
    repaired = _zip(repaired_entries)

    def placed(request: PlacedToolEnvRequest) -> ToolEnv:
        # The environment `finished_wheel` prepares while the wheel builds: the same request.
        assert request.request.name == "wheel-repair"
        assert request.request.interpreter is built.interpreter
        return tool_env  # type: ignore[return-value]

    def create(request: CreateDigest) -> Digest:
        for entry in request:
            if entry.path == "repair_wheel.sh":
                captured["script"] = entry.content.decode()
        return EMPTY_DIGEST

    def process(p: Process) -> ProcessResult:
        captured["process"] = p
        return SimpleNamespace(output_digest=EMPTY_DIGEST)  # type: ignore[return-value]

    result = run_rule_with_mocks(
        repair_wheel,
        rule_args=[RepairWheelRequest(_field_set(platform, plat), built), BashBinary("/bin/bash")],
        mock_gets=[
            MockGet(output_type=Digest, input_types=(RemovePrefix,), mock=lambda r: EMPTY_DIGEST),
            MockGet(output_type=Digest, input_types=(AddPrefix,), mock=lambda r: EMPTY_DIGEST),
            MockGet(output_type=ToolEnv, input_types=(PlacedToolEnvRequest,), mock=placed),
            MockGet(output_type=RootFs, input_types=(RootFsRequest,), mock=_no_root),
            MockGet(output_type=Digest, input_types=(CreateDigest,), mock=create),
            MockGet(output_type=Digest, input_types=(MergeDigests,), mock=lambda r: EMPTY_DIGEST),
            MockGet(output_type=ProcessResult, input_types=(Process,), mock=process),
            MockGet(
                output_type=Snapshot,
                input_types=(Digest,),
                mock=lambda d: SimpleNamespace(files=(f"repaired/{wheel_name}",)),
            ),
            MockGet(
                output_type=DigestContents,
                input_types=(Digest,),
                mock=lambda d: [SimpleNamespace(path=f"repaired/{wheel_name}", content=repaired)],
            ),
        ],
    )
    # What the repair venv held goes on to the provenance.
    assert result.installed == tool_env.installed
    return captured["script"], captured["process"]


def test_a_macos_wheel_gets_a_delocate_repair_process_on_any_host() -> None:
    """The repair rule's script and process for a macOS wheel, on this Linux host (delocate
    itself is not run here: it needs a macOS wheel and a Mac)."""
    script, process = _run_repair(
        "macosx_arm64",
        "proj-1.0-cp312-cp312-macosx_11_0_arm64.whl",
        ["proj/__init__.py", "proj/.dylibs/libscipy_openblas64_.dylib"],
        ("libscipy_openblas64_*.dylib",),
    )
    assert 'export DYLD_LIBRARY_PATH="$ROOT/native/ilp64/scipy_openblas64/lib"' in script
    assert (
        '"$TOOL_PREFIX/bin/delocate-wheel" --require-archs arm64 -w "$ROOT/repaired" '
        '-v "$ROOT/built/proj-1.0-cp312-cp312-macosx_11_0_arm64.whl"'
    ) in script
    assert "auditwheel" not in script and "LD_LIBRARY_PATH" not in script.replace(
        "DYLD_LIBRARY_PATH", ""
    )
    assert process.description == "Repair wheel proj:wheel@python=3.12 with delocate"
    assert process.argv == ("/bin/bash", "repair_wheel.sh")
    assert (
        process.env["BUILD_ISOLATION"] == "isolated"
        and process.env["INTERPRETER"] == "cpython-3.12"
    )


def test_a_macos_x86_64_wheels_delocate_script_requires_its_architecture() -> None:
    script, _ = _run_repair(
        "macosx_x86_64", "proj-1.0-cp312-cp312-macosx_10_13_x86_64.whl", ["proj/__init__.py"], ()
    )
    assert "--require-archs x86_64 " in script


def test_a_linux_wheel_gets_an_auditwheel_repair_script_with_its_policy() -> None:
    script, process = _run_repair(
        "manylinux_x86_64",
        "proj-1.0-cp312-cp312-linux_x86_64.whl",
        ["proj/__init__.py", "proj.libs/libscipy_openblas64_-4b78795a.so"],
        ("libscipy_openblas64_*.so",),
        plat="manylinux_2_28_x86_64",
    )
    assert 'export LD_LIBRARY_PATH="$ROOT/native/ilp64/scipy_openblas64/lib"' in script
    assert (
        " x86_64 '' repair --plat manylinux_2_28_x86_64 -w \"$ROOT/repaired\" "
        '"$ROOT/built/proj-1.0-cp312-cp312-linux_x86_64.whl"'
    ) in script
    assert script.count("from auditwheel.main import main") == 1
    assert process.description.endswith("with auditwheel")


def test_an_aarch64_wheels_auditwheel_script_reports_an_aarch64_machine() -> None:
    script, _ = _run_repair(
        "manylinux_aarch64",
        "proj-1.0-cp313-cp313-linux_aarch64.whl",
        ["proj/__init__.py"],
        (),
        plat="manylinux_2_28_aarch64",
    )
    assert " aarch64 '' repair --plat manylinux_2_28_aarch64 -w " in script


def test_auditwheel_takes_a_foreign_policy_only_as_the_wheel_machine(tmp_path: Path) -> None:
    """The real auditwheel from the locked repair set: on this x86_64 host it refuses
    `--plat manylinux_2_28_aarch64` on its own, and takes it with the machine reported as
    the wheel's (what the repair script does)."""
    bin_dir = locked_venv(
        tmp_path / "venv", str(Path.cwd() / "3rdparty/python/repair.txt"), cpython("3.12")
    )
    wheel = tmp_path / "proj-1.0-cp313-cp313-linux_aarch64.whl"
    wheel.write_bytes(_zip(["proj/__init__.py"]))
    args = ["repair", "--plat", "manylinux_2_28_aarch64", "-w", str(tmp_path / "out"), str(wheel)]
    plain = subprocess.run([str(bin_dir / "auditwheel"), *args], capture_output=True, text=True)
    assert plain.returncode == 2 and "invalid choice: 'manylinux_2_28_aarch64'" in plain.stderr
    as_wheel = subprocess.run(
        [str(bin_dir / "python"), "-c", auditwheel_rules._AS_WHEEL_PLATFORM, "aarch64", "", *args],
        capture_output=True,
        text=True,
    )
    # Past the command line: auditwheel goes on to read the wheel itself.
    assert "invalid choice" not in as_wheel.stderr
    assert "Repairing proj-1.0-cp313-cp313-linux_aarch64.whl" in as_wheel.stderr

    # A musllinux policy on this glibc host: refused as such, taken with musl 1.2 reported.
    musl = tmp_path / "proj-1.0-cp313-cp313-linux_x86_64.whl"
    musl.write_bytes(_zip(["proj/__init__.py"]))
    args = ["repair", "--plat", "musllinux_1_2_x86_64", "-w", str(tmp_path / "out"), str(musl)]
    plain = subprocess.run([str(bin_dir / "auditwheel"), *args], capture_output=True, text=True)
    assert plain.returncode == 2 and "invalid choice: 'musllinux_1_2_x86_64'" in plain.stderr
    as_wheel = subprocess.run(
        [
            str(bin_dir / "python"),
            "-c",
            auditwheel_rules._AS_WHEEL_PLATFORM,
            "x86_64",
            "1.2",
            *args,
        ],
        capture_output=True,
        text=True,
    )
    assert "invalid choice" not in as_wheel.stderr, as_wheel.stderr
    assert "musl libc version" not in as_wheel.stderr, as_wheel.stderr
    assert "Repairing proj-1.0-cp313-cp313-linux_x86_64.whl" in as_wheel.stderr


def test_a_musllinux_wheels_extensions_name_musls_c_library_before_auditwheel() -> None:
    script, _ = _run_repair(
        "musllinux_x86_64",
        "proj-1.0-cp313-cp313-linux_x86_64.whl",
        ["proj/__init__.py"],
        (),
        plat="musllinux_1_2_x86_64",
    )
    assert "patchelf" in script and " libc.musl-x86_64.so.1\n" in script
    assert (
        ' x86_64 1.2 repair --plat musllinux_1_2_x86_64 -w "$ROOT/repaired" '
        '"$ROOT/.musl-soname/proj-1.0-cp313-cp313-linux_x86_64.whl"'
    ) in script


def test_an_undeclared_library_bundled_by_auditwheel_stops_the_repair() -> None:
    auditwheel = repair_tool_for("manylinux_x86_64")
    wheel = _zip(["numpy/__init__.py", "numpy.libs/libscipy_openblas64_-4b78795a.so"])
    check_bundled_libraries(
        Address("w"), wheel, (_native(("libscipy_openblas64_*.so",)),), auditwheel
    )
    with pytest.raises(ValueError, match="libscipy_openblas64_-4b78795a.so"):
        check_bundled_libraries(Address("w"), wheel, (), auditwheel)
    extra = _zip(
        ["numpy.libs/libscipy_openblas64_-4b78795a.so", "numpy.libs/libgfortran-040039e1.so.5.0.0"]
    )
    with pytest.raises(ValueError, match="libgfortran-040039e1.so.5.0.0"):
        check_bundled_libraries(
            Address("w"), extra, (_native(("libscipy_openblas64_*.so",)),), auditwheel
        )


def test_an_undeclared_library_bundled_by_delocate_stops_the_repair() -> None:
    with pytest.raises(ValueError, match="libgfortran.5.dylib"):
        _run_repair(
            "macosx_arm64",
            "proj-1.0-cp312-cp312-macosx_11_0_arm64.whl",
            ["proj/.dylibs/libscipy_openblas64_.dylib", "proj/.dylibs/libgfortran.5.dylib"],
            ("libscipy_openblas64_*.dylib",),
        )


def test_an_auditwheel_policy_on_a_macos_wheel_is_refused() -> None:
    with pytest.raises(ValueError, match="auditwheel policy"):
        _run_repair(
            "macosx_arm64",
            "proj-1.0-cp312-cp312-macosx_11_0_arm64.whl",
            [],
            (),
            plat="manylinux_2_28_x86_64",
        )


def test_the_tool_follows_the_wheel_platform() -> None:
    assert repair_tool_for("manylinux_aarch64").name == "auditwheel"
    assert repair_tool_for("musllinux_x86_64").name == "auditwheel"
    assert repair_tool_for("macosx_x86_64").name == "delocate"
    with pytest.raises(UnsupportedPlatformError, match="win_amd64"):
        repair_tool_for("win_amd64")
    wheel = _zip(["p/__init__.py", "p/.dylibs/liba.dylib", "p.libs/libb-12345678.so"])
    check_bundled_libraries(
        Address("w"), wheel, (_native(("liba*.dylib",)),), repair_tool_for("macosx_arm64")
    )
    check_bundled_libraries(
        Address("w"), wheel, (_native(("libb*.so",)),), repair_tool_for("manylinux_x86_64")
    )


def test_a_cross_built_wheel_passes_the_guard_only_with_its_target_interpreter(monkeypatch) -> None:
    """An aarch64 wheel builds on an x86_64 Linux host when its interpreter is a target
    interpreter of that platform, and is refused on another platform's host."""
    monkeypatch.setattr(registry, "host_wheel_platform", lambda: "manylinux_x86_64")
    check_buildable_here(_field_set("manylinux_aarch64"), cross_platform="manylinux_aarch64")
    with pytest.raises(WrongPlatformError, match="is a manylinux_aarch64 wheel"):
        check_buildable_here(_field_set("manylinux_aarch64"))
    with pytest.raises(WrongPlatformError, match="is a musllinux_aarch64 wheel"):
        check_buildable_here(_field_set("musllinux_aarch64"), cross_platform="manylinux_aarch64")
    monkeypatch.setattr(registry, "host_wheel_platform", lambda: "macosx_arm64")
    with pytest.raises(WrongPlatformError, match="this machine is macosx_arm64"):
        check_buildable_here(_field_set("manylinux_aarch64"), cross_platform="manylinux_aarch64")


def test_a_macos_target_builds_where_the_host_is_macos(monkeypatch) -> None:
    """With the host platform forced, the macOS targets pass the platform guard."""
    monkeypatch.setattr(registry, "host_wheel_platform", lambda: "macosx_arm64")
    check_buildable_here(_field_set("macosx_arm64"))
    with pytest.raises(
        WrongPlatformError, match="is a manylinux_x86_64 wheel and this machine is macosx_arm64"
    ):
        check_buildable_here(_field_set("manylinux_x86_64"))


@pytest.mark.parametrize(
    "tool, option",
    [("delocate-wheel", "--require-archs"), ("auditwheel", "--plat")],
)
def test_each_repair_tool_runs_from_the_locked_repair_set(
    tmp_path: Path, tool: str, option: str
) -> None:
    """Both tools install from `3rdparty/python/repair.txt` (hash-locked, from the store) and
    still take the options the rules pass them."""
    # The repair set is for CPython 3.11-3.13 (pyelftools needs 3.10+).
    bin_dir = locked_venv(
        tmp_path / "venv", str(Path.cwd() / "3rdparty/python/repair.txt"), cpython("3.12")
    )
    args = ["repair", "--help"] if tool == "auditwheel" else ["--help"]
    out = subprocess.run(
        [str(bin_dir / tool), *args], capture_output=True, text=True, check=True
    ).stdout
    assert option in out and "-w" in out


def test_each_platform_names_its_runner_and_a_wheels_own_runner_wins() -> None:
    assert all(registry.wheel_platform(p).runner for p in registry.KNOWN_PLATFORMS)
    assert registry.runner_for("macosx_arm64") == "macos-14"
    assert registry.runner_for("manylinux_aarch64") == "ubuntu-24.04-arm"
    # A cross-built wheel names the x86_64 runner it is built on.
    assert registry.runner_for("manylinux_aarch64", "ubuntu-24.04") == "ubuntu-24.04"
    assert registry.runner_for(None) is None
    with pytest.raises(
        registry.UnsupportedPlatformError, match="unknown wheel platform 'beos_x86'"
    ):
        registry.runner_for("beos_x86")
