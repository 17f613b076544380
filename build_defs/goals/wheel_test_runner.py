"""`pants test` for `wheel_test`: install the finished wheel (repaired, with its SBOM) into a fresh venv, run checks."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from pants.build_graph.address import AddressInput
from pants.core.goals.test import TestFieldSet, TestRequest, TestResult, TestSubsystem
from pants.core.util_rules.system_binaries import BashBinary
from pants.engine.addresses import Address, Addresses, UnparsedAddressInputs
from pants.engine.fs import (
    EMPTY_DIGEST,
    AddPrefix,
    CreateDigest,
    Digest,
    DigestContents,
    DigestSubset,
    Directory,
    FileContent,
    MergeDigests,
    PathGlobs,
    RemovePrefix,
    Snapshot,
)
from pants.engine.internals.selectors import Get, MultiGet
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.engine.rules import collect_rules, rule
from pants.engine.target import (
    HydratedSources,
    HydrateSourcesRequest,
    InferDependenciesRequest,
    InferredDependencies,
    WrappedTarget,
    WrappedTargetRequest,
)
from pants.engine.unions import UnionRule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.evidence.sbom import FinishedWheel, FinishedWheelRequest
from build_defs.goals.subsystem import WheelTestSubsystem
from build_defs.goals.target_types import (
    WheelTestEmulatedCpuField,
    WheelTestEmulatorField,
    WheelTestInstalledTestsField,
    WheelTestPytestSelectionsField,
    WheelTestPythonField,
    WheelTestRequirementsField,
    WheelTestSourcesField,
    WheelTestSourceTestsField,
    WheelTestTimeoutField,
    WheelTestWheelField,
)
from build_defs.inputs.address_fields import AddressFieldsRequest
from build_defs.inputs.project_source import SOURCE_DIR, ProjectTree, ProjectTreeRequest
from build_defs.toolchains.cc_toolchain import CcToolchain, CcToolchainRequest
from build_defs.toolchains.interpreter import host_machine
from build_defs.toolchains.tool_env import ToolEnvRequest
from build_defs.wheels.build_wheel import MesonWheelFieldSet, keyed_env, process_script
from build_defs.wheels.cores import sharing_cores
from build_defs.wheels.emulation import EmulatedPython, EmulatedPythonRequest
from build_defs.wheels.root_fs import root_fs_for
from build_defs.wheels.root_tools import tool_env_for
from build_defs.wheels.target_types import MesonWheelPythonField

# Runs `"$PYTHON" -m pytest` once per selection, one per core Pants gives it at a time, each logged to
# its own file; prints each one's last line and time; fails if any failed.
_SELECTIONS = """\
run_selection() {{
  local n="$1"; shift
  local start=$SECONDS status=0
  "$PYTHON" -m pytest -p no:cacheprovider -o addopts= -q "$@" > "$ROOT/.work/selection-$n.log" 2>&1 || status=$?
  echo "$status $((SECONDS - start))" > "$ROOT/.work/selection-$n.status"
}}
cores="$JOBS"
{launch}wait
failed=0
for ((n = 1; n <= {count}; n++)); do
  read -r status seconds < "$ROOT/.work/selection-$n.status"
  mapfile -t lines < "$ROOT/.work/selection-$n.log"
  echo "wheel-test: selection $n: ${{lines[-1]:-}} ($seconds s, exit $status)" >&2
  if [ "$status" != 0 ]; then failed=1; printf '%s\\n' "${{lines[@]: -80}}" >&2; fi
done
[ "$failed" = 0 ]
"""
_LAUNCH = """\
while running=($(jobs -rp)); [ "${{#running[@]}}" -ge "$cores" ]; do wait -n; done
run_selection {n} {args} &
"""


# The native test interpreter: a fresh venv holding only the wheel under test.
NATIVE_SETUP = """\
BASE="$("$TOOL_PREFIX/bin/python" -c 'import os, sys; print(os.path.realpath(sys.executable))')"
VENV="$ROOT/test-venv"
{make_venv}
# The locked test requirements (pytest, ...) come after the venv's own site-packages.
"$TOOL_PREFIX/bin/python" -c 'import sys; print("\\n".join(p for p in sys.path if p.endswith("site-packages")))' \\
  > "$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/wheel_test_requirements.pth"
PYTHON="$VENV/bin/python"
export PATH="$VENV/bin" WHEEL_TEST_SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
"""


# A clean venv with the wheel installed, by a host CPython (its own pip, from ensurepip).
HOST_VENV = """\
"$BASE" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --no-index --no-deps --no-cache-dir \\
  --disable-pip-version-check "$ROOT/{wheel}"
"""
# The same in a root file system, by the pip wheel the root's Debian packages ship (its
# ensurepip would load CA certificates the root does not have, for no download at all).
ROOT_VENV = """\
"$BASE" -m venv --without-pip "$VENV"
"$VENV/bin/python" "$(echo /usr/share/python-wheels/pip-*.whl)/pip" install --quiet --no-index \\
  --no-deps --no-cache-dir --disable-pip-version-check --root-user-action=ignore \\
  --use-deprecated=legacy-certs "$ROOT/{wheel}"
"""


@dataclass(frozen=True)
class WheelTestFieldSet(TestFieldSet):
    required_fields = (WheelTestWheelField, WheelTestPythonField)

    wheel: WheelTestWheelField
    python: WheelTestPythonField
    requirements: WheelTestRequirementsField
    sources: WheelTestSourcesField
    source_tests: WheelTestSourceTestsField
    installed_tests: WheelTestInstalledTestsField
    timeout: WheelTestTimeoutField
    pytest_selections: WheelTestPytestSelectionsField
    emulated_cpu: WheelTestEmulatedCpuField
    emulator: WheelTestEmulatorField


class WheelTestRequest(TestRequest):
    tool_subsystem = WheelTestSubsystem
    field_set_type = WheelTestFieldSet


@dataclass(frozen=True)
class TestedWheelRequest:
    owner: Address
    wheel: str
    python: str


@dataclass(frozen=True)
class TestedWheel:
    address: Address


@rule(desc="Find the wheel a wheel_test tests")
async def find_tested_wheel(request: TestedWheelRequest) -> TestedWheel:
    """`wheel` names a meson_wheel target: either one `parametrize`d over `python` (its
    `@python=` member is meant) or one built for a single CPython, which must match."""
    parsed = AddressInput.parse(
        request.wheel,
        relative_to=request.owner.spec_path,
        description_of_origin=f"the `wheel` field of {request.owner}",
    )
    plain = Address(parsed.path_component, target_name=parsed.target_component)
    for address in (plain.parametrize({"python": request.python}), plain):
        try:
            wrapped = await Get(
                WrappedTarget,
                WrappedTargetRequest(address, description_of_origin=str(request.owner)),
            )
        except Exception:  # no such address: try the other form
            continue
        tgt = wrapped.target
        if (
            tgt.has_field(MesonWheelPythonField)
            and tgt[MesonWheelPythonField].value == request.python
        ):
            return TestedWheel(address)
    raise ValueError(
        f"{request.owner}: `wheel={request.wheel!r}` names no `meson_wheel` built for CPython "
        f"{request.python} (neither {plain.parametrize({'python': request.python})} nor {plain})."
    )


SOURCE_TESTS_DIR = ".work/source-tests"
# pytest's configuration files at a project's root, in pytest's own order of precedence,
# each with the section that makes it one (pytest.ini counts whatever it holds).
PYTEST_CONFIGS = (
    ("pytest.ini", ""),
    ("pyproject.toml", "[tool.pytest.ini_options]"),
    ("tox.ini", "[pytest]"),
    ("setup.cfg", "[tool:pytest]"),
)


@dataclass(frozen=True)
class SourceTestsRequest:
    owner: Address
    wheel: MesonWheelFieldSet
    globs: tuple[str, ...]
    # Also when no test file is copied (tests inside the package): its configuration.
    with_config: bool = False


@dataclass(frozen=True)
class SourceTests:
    """Under `.work/source-tests/`: the test files a project's source ships (`globs`), its
    pytest configuration files and its root `conftest.py`, laid out as in the source, so
    pytest finds them as it would in a checkout."""

    digest: Digest
    config: str | None  # the configuration file pytest uses, relative to that directory


@rule(desc="Collect the tests and pytest configuration a project's source ships")
async def collect_source_tests(request: SourceTestsRequest) -> SourceTests:
    if not request.globs and not request.with_config:
        return SourceTests(EMPTY_DIGEST, None)
    (source_address,) = await Get(
        Addresses,
        UnparsedAddressInputs(
            (request.wheel.source.value,),
            owning_address=request.wheel.address,
            description_of_origin=f"the `source` field of {request.wheel.address}",
        ),
    )
    tree = await Get(ProjectTree, ProjectTreeRequest(source_address))
    tests, config = await MultiGet(
        Get(
            Digest,
            DigestSubset(tree.digest, PathGlobs([f"{SOURCE_DIR}/{g}" for g in request.globs])),
        ),
        Get(
            Digest,
            DigestSubset(
                tree.digest,
                PathGlobs(
                    [f"{SOURCE_DIR}/{name}" for name, _ in PYTEST_CONFIGS]
                    + [f"{SOURCE_DIR}/conftest.py"]
                ),
            ),
        ),
    )
    if request.globs and not (await Get(Snapshot, Digest, tests)).files:
        raise ValueError(
            f"`source_tests` of {request.owner} ({', '.join(request.globs)}) match no file in the "
            f"source of {request.wheel.address} ({source_address})."
        )
    found = {
        fc.path[len(SOURCE_DIR) + 1 :]: fc.content.decode(errors="replace")
        for fc in await Get(DigestContents, Digest, config)
    }
    chosen = next(
        (name for name, section in PYTEST_CONFIGS if name in found and section in found[name]),
        None,
    )
    merged = await Get(Digest, MergeDigests([tests, config]))
    moved = await Get(Digest, RemovePrefix(merged, SOURCE_DIR))
    return SourceTests(await Get(Digest, AddPrefix(moved, SOURCE_TESTS_DIR)), chosen)


class InferWheelTestDependencies(InferDependenciesRequest):
    infer_from = WheelTestFieldSet


@rule(desc="Infer the inputs of a wheel_test")
async def infer_wheel_test_dependencies(
    request: InferWheelTestDependencies,
) -> InferredDependencies:
    fs = request.field_set
    requirements = await Get(
        InferredDependencies,
        AddressFieldsRequest,
        AddressFieldsRequest.of(fs.address, fs.requirements.value),
    )
    tested = await Get(TestedWheel, TestedWheelRequest(fs.address, fs.wheel.value, fs.python.value))
    return InferredDependencies([tested.address, *requirements.include])


@rule(desc="Test a wheel in a fresh virtualenv", level=LogLevel.DEBUG)
async def run_wheel_test(
    batch: WheelTestRequest.Batch[WheelTestFieldSet, Any],
    test_subsystem: TestSubsystem,
    bash: BashBinary,
) -> TestResult:
    fs = batch.single_element
    wheel_address = (
        await Get(TestedWheel, TestedWheelRequest(fs.address, fs.wheel.value, fs.python.value))
    ).address
    wrapped = await Get(
        WrappedTarget, WrappedTargetRequest(wheel_address, description_of_origin=str(fs.address))
    )
    wheel_fs = MesonWheelFieldSet.create(wrapped.target)
    wheel = await Get(FinishedWheel, FinishedWheelRequest(wheel_fs))
    built = wheel.built
    (toolchain_address,) = await Get(
        Addresses,
        UnparsedAddressInputs(
            (wheel_fs.toolchain.value,),
            owning_address=wheel_address,
            description_of_origin=str(wheel_address),
        ),
    )
    env = await tool_env_for(
        ToolEnvRequest(
            tuple(fs.requirements.value or ()), fs.address, built.interpreter, "wheel-test"
        )
    )
    root = await root_fs_for(built.interpreter)
    toolchain, checks, source_tests = await MultiGet(
        Get(CcToolchain, CcToolchainRequest(toolchain_address)),
        Get(HydratedSources, HydrateSourcesRequest(fs.sources)),
        Get(
            SourceTests,
            SourceTestsRequest(
                fs.address,
                wheel_fs,
                tuple(fs.source_tests.value or ()),
                with_config=bool(fs.installed_tests.value),
            ),
        ),
    )
    if not (
        any(path.endswith(".py") for path in checks.snapshot.files)
        or fs.source_tests.value
        or fs.installed_tests.value
        or fs.pytest_selections.value
    ):
        raise ValueError(
            f"{fs.address} runs nothing: give it `sources` (check scripts), `source_tests`, "
            "`installed_tests` or `pytest_selections`."
        )
    cross = built.interpreter.cross
    emulated = None
    if cross:
        if not fs.emulated_cpu.value and not cross.runs_natively_on(host_machine()):
            raise ValueError(
                f"{fs.address} tests a {cross.wheel_platform} wheel on this host: set `emulated_cpu` "
                "(e.g. `neoverse-n1`) to run it under qemu-user with that CPU."
            )
        emulated = await Get(
            EmulatedPython,
            EmulatedPythonRequest(
                fs.address,
                cross,
                built.interpreter.version,
                fs.emulated_cpu.value or "",
                fs.emulator.value,
                wheel.filename,
                in_root=bool(root.packages),
            ),
        )
    run_checks = "".join(
        f'echo "wheel-test: running {path}" >&2\n"$PYTHON" "$ROOT/{path}"\n'
        for path in checks.snapshot.files
        if path.endswith(".py")
    )
    if fs.source_tests.value:
        # From outside the source tree, so `import <package>` finds the installed wheel.
        run_checks += (
            f'echo "wheel-test: running the source\'s tests {", ".join(fs.source_tests.value)}" >&2\n'
            f'"$PYTHON" -m pytest -p no:cacheprovider -o addopts= "$ROOT/{SOURCE_TESTS_DIR}"\n'
        )
    if fs.installed_tests.value:
        # From the project's root as pytest would see it (its configuration, nothing else of
        # the source), the packages' tests as installed.
        config = f"-c {shlex.quote(source_tests.config)} " if source_tests.config else ""
        packages = " ".join(shlex.quote(p) for p in fs.installed_tests.value)
        run_checks += (
            f'echo "wheel-test: running the installed tests of {packages}'
            f'{" with " + source_tests.config if source_tests.config else ""}" >&2\n'
            f'(cd "$ROOT/{SOURCE_TESTS_DIR}" && "$PYTHON" -m pytest -p no:cacheprovider '
            f"-o addopts= {config}--rootdir . --pyargs {packages})\n"
        )
    selections = fs.pytest_selections.value or ()
    if selections:
        run_checks += _SELECTIONS.format(
            count=len(selections),
            launch="".join(
                _LAUNCH.format(n=n, args=" ".join(shlex.quote(a) for a in args))
                for n, args in enumerate(selections, 1)
            ),
        )
    # The whole test, venv creation included, runs in its own network namespace.
    script = process_script(
        "wheel_test.sh",
        built.isolation,
        f"""\
{env.activate()}
{emulated.setup if emulated else NATIVE_SETUP.format(make_venv=(ROOT_VENV if root.packages else HOST_VENV).format(wheel=wheel.filename))}{toolchain.setup}TC="$ROOT/{toolchain.bin_dir}"
export PATH="$PATH:$TOOL_PREFIX/bin:$TC" CC="$TC/cc" CXX="$TC/cxx"
{root.compile_env(built.interpreter)}export HOME="$ROOT/.home" WHEEL_FILE="$ROOT/{wheel.filename}" WHEEL_TEST_PYTHON="$PYTHON" PYTHONDONTWRITEBYTECODE=1
cd "$ROOT/.work"
{run_checks}
""",
        # In a root file system, the tools' venv lives at the fixed build root.
        fixed_root=bool(root.packages),
        in_root=bool(root.packages),
        before_isolation=toolchain.prepare,
    )
    script_digest = await Get(
        Digest,
        CreateDigest(
            [
                FileContent("wheel_test.sh", script.encode()),
                Directory(".home"),
                Directory(".work"),
                Directory(SOURCE_TESTS_DIR),
            ]
        ),
    )
    input_digest = await Get(
        Digest,
        MergeDigests(
            [
                wheel.digest,
                toolchain.digest,
                env.digest,
                checks.snapshot.digest,
                source_tests.digest,
                script_digest,
                *([emulated.digest] if emulated else []),
            ]
        ),
    )
    result = await Get(
        FallibleProcessResult,
        Process(
            **sharing_cores(bash.path, "wheel_test.sh"),
            input_digest=input_digest,
            append_only_caches=toolchain.caches_with(env.append_only_caches),
            immutable_input_digests={**toolchain.immutable_inputs, **root.immutable_inputs},
            description=f"Test {wheel.filename} ({fs.address})",
            timeout_seconds=fs.timeout.value,
            level=LogLevel.DEBUG,
            env=FrozenDict(
                {
                    **keyed_env(built.isolation, built.interpreter, root),
                    **(emulated.env if emulated else {}),
                }
            ),
            cache_scope=(
                ProcessCacheScope.PER_SESSION
                if test_subsystem.force
                else ProcessCacheScope.SUCCESSFUL
            ),
        ),
    )
    return TestResult.from_fallible_process_result(
        process_result=result, address=fs.address, output_setting=test_subsystem.output
    )


def rules():
    return [
        *collect_rules(),
        *WheelTestRequest.rules(),
        UnionRule(InferDependenciesRequest, InferWheelTestDependencies),
    ]
