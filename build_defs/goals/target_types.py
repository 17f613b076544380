"""Target types of what the goals produce from wheels: a tested wheel (`wheel_test`), a
published sdist (`release_sdist`) and a platform's release (`release_set`), each with the
rule that makes its address-valued fields graph edges."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from pants.engine.addresses import Address
from pants.engine.internals.selectors import Get
from pants.engine.rules import collect_rules, rule
from pants.engine.target import (
    COMMON_TARGET_FIELDS,
    Field,
    FieldSet,
    InferDependenciesRequest,
    InferredDependencies,
    IntField,
    InvalidFieldException,
    MultipleSourcesField,
    StringField,
    StringSequenceField,
    Target,
)
from pants.engine.unions import UnionRule
from pants.util.strutil import help_text

from build_defs.inputs.address_fields import AddressFieldsRequest
from build_defs.toolchains.target_types import PythonVersionField


class ReleaseSdistSourceField(StringField):
    alias = "source"
    required = True
    help = help_text("Address of the `source_release` whose sdist this target publishes.")


class ReleaseSdistTarget(Target):
    alias = "release_sdist"
    core_fields = (*COMMON_TARGET_FIELDS, ReleaseSdistSourceField)
    help = help_text(
        """
        The source distribution as a release artifact: `pants package` writes the pinned,
        verified sdist of its `source_release` to `dist/` and logs its sha256.
        """
    )


@dataclass(frozen=True)
class ReleaseSdistInputsFieldSet(FieldSet):
    required_fields = (ReleaseSdistSourceField,)

    source: ReleaseSdistSourceField


class InferReleaseSdistDependencies(InferDependenciesRequest):
    infer_from = ReleaseSdistInputsFieldSet


@rule(desc="Infer the source of a release_sdist")
async def infer_release_sdist_dependencies(
    request: InferReleaseSdistDependencies,
) -> InferredDependencies:
    fs = request.field_set
    return await Get(
        InferredDependencies,
        AddressFieldsRequest,
        AddressFieldsRequest.of(fs.address, fs.source.value),
    )


class WheelTestWheelField(StringField):
    alias = "wheel"
    required = True
    help = help_text(
        "Address of the `meson_wheel` under test, without its `@python=` parameter (see `python`)."
    )


class WheelTestPythonField(PythonVersionField):
    help = help_text(
        "Which CPython build of `wheel` to test: the `python` of a single-CPython wheel, or the "
        'member of a `parametrize`d one, e.g. `parametrize("3.12", "3.13")`.'
    )


class WheelTestRequirementsField(StringSequenceField):
    alias = "test_requirements"
    default = ()
    help = help_text(
        "Addresses of `python_requirement` targets (one resolve) the checks need, e.g. pytest."
    )


class WheelTestSourcesField(MultipleSourcesField):
    default = ()
    help = help_text(
        "Check scripts kept in this repository (`.py` files, run one after another in path "
        "order with the test venv's Python; each must exit 0), and the data files they read "
        "(any other file, placed beside them)."
    )


class WheelTestSourceTestsField(StringSequenceField):
    alias = "source_tests"
    default = ()
    help = help_text(
        """
        For tests kept outside the package (`tests/` beside `src/`, run upstream as
        `pytest tests/`): globs, relative to the tested wheel's project root (its sdist or
        source tree), e.g. `["tests/**"]`. The files are copied outside the source tree with
        the project's pytest configuration and root `conftest.py`, and run with
        `python -m pytest` (pytest from `test_requirements`) against the installed wheel,
        offline; no test collected is a failure. Tests inside the package: `installed_tests`.
        """
    )


class WheelTestInstalledTestsField(StringSequenceField):
    alias = "installed_tests"
    default = ()
    help = help_text(
        """
        For tests that ship inside the package (`mypkg/tests/`, run upstream as
        `pytest --pyargs mypkg`): the packages to run that way against the installed wheel,
        e.g. `["mypkg"]`, offline, with pytest's full output. The project's pytest
        configuration is read from its source (`pytest.ini`, `pyproject.toml`'s
        `[tool.pytest.ini_options]`, `tox.ini`'s `[pytest]` or `setup.cfg`'s
        `[tool:pytest]`, in pytest's order), so its markers and warning filters apply;
        `addopts` is cleared (it usually names a developer's plugins). conftest.py files
        inside the package apply as they are installed.
        """
    )


class WheelTestTimeoutField(IntField):
    alias = "timeout"
    default = 1800
    help = help_text("Seconds after which the test is stopped and fails.")


class WheelTestEmulatedCpuField(StringField):
    alias = "emulated_cpu"
    default = None
    help = help_text(
        """
        For a wheel of another architecture (built with a target interpreter): the CPU that
        qemu-user emulates while the tests run (e.g. `neoverse-n1`), pinned because what the
        emulator offers by default changes what optimized libraries do (OpenBLAS picks its
        kernels by CPU). Recorded in the test's output. Ignored for native wheels.
        """
    )


class WheelTestEmulatorField(StringField):
    alias = "emulator"
    default = None
    help = help_text(
        "The qemu-user program that runs the tests of a wheel of another architecture; "
        "fingerprinted on every run. Default: `/usr/bin/qemu-<cpu>-static` (Debian's qemu-user-static)."
    )


class WheelTestPytestSelectionsField(Field):
    alias = "pytest_selections"
    default = ()
    help = help_text(
        """
        Selections of tests run with `python -m pytest` against the installed wheel, one
        pytest per core at a time (each a list of pytest arguments, e.g.
        `["--pyargs", "numpy.linalg", "-m", "not slow"]`); each must pass. Their timings are
        printed (each selection's last line). For a suite too long for one process, or
        emulated tests, where a test process cannot start another one; for a whole
        in-package suite with its full output, use `installed_tests`.
        """
    )

    @classmethod
    def compute_value(
        cls, raw_value: Optional[Any], address: Address
    ) -> tuple[tuple[str, ...], ...]:
        value = super().compute_value(raw_value, address) or ()
        if not all(
            isinstance(sel, (list, tuple)) and all(isinstance(a, str) for a in sel) for sel in value
        ):
            raise InvalidFieldException(
                f"`pytest_selections` of {address} must be a list of lists of strings."
            )
        return tuple(tuple(sel) for sel in value)


class WheelTestTarget(Target):
    alias = "wheel_test"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        WheelTestWheelField,
        WheelTestPythonField,
        WheelTestRequirementsField,
        WheelTestSourcesField,
        WheelTestSourceTestsField,
        WheelTestInstalledTestsField,
        WheelTestTimeoutField,
        WheelTestPytestSelectionsField,
        WheelTestEmulatedCpuField,
        WheelTestEmulatorField,
    )
    help = help_text(
        """
        Installs a built, repaired wheel into a fresh virtualenv (no network, nothing else
        installed but the locked test requirements) and runs check scripts against it.
        """
    )


class ReleaseSetArtifactsField(StringSequenceField):
    alias = "artifacts"
    required = True
    help = help_text(
        "Addresses of packageable targets (`meson_wheel`, `release_sdist`, ...) that make up "
        "the release for this platform."
    )


class ReleaseSetTarget(Target):
    alias = "release_set"
    core_fields = (*COMMON_TARGET_FIELDS, ReleaseSetArtifactsField)
    help = help_text(
        """
        A set of release artifacts. `pants package` writes them to `dist/<name>/` with
        their provenance (`*.intoto.jsonl`, `*.build-host.json`), `SHA256SUMS` and
        `manifest.json`. The two index files list the artifacts and their statements only
        (name, size, sha256; kind, wheel tag and target address in the manifest), nothing
        host-dependent, so two machines compare their outputs by diffing two small files
        and `pants verify -- dist/<name>` checks them offline. It refuses a wheel for
        another platform and any build made without sandbox isolation.
        """
    )


@dataclass(frozen=True)
class ReleaseSetInputsFieldSet(FieldSet):
    required_fields = (ReleaseSetArtifactsField,)

    artifacts: ReleaseSetArtifactsField


class InferReleaseSetDependencies(InferDependenciesRequest):
    infer_from = ReleaseSetInputsFieldSet


@rule(desc="Infer the artifacts of a release_set")
async def infer_release_set_dependencies(
    request: InferReleaseSetDependencies,
) -> InferredDependencies:
    fs = request.field_set
    return await Get(
        InferredDependencies,
        AddressFieldsRequest,
        AddressFieldsRequest.of(fs.address, fs.artifacts.value),
    )


def target_types():
    return [WheelTestTarget, ReleaseSdistTarget, ReleaseSetTarget]


def rules():
    return [
        *collect_rules(),
        UnionRule(InferDependenciesRequest, InferReleaseSdistDependencies),
        UnionRule(InferDependenciesRequest, InferReleaseSetDependencies),
    ]
