"""Target types of pinned inputs: files from the artifact store (`source_release`,
`native_library`), Debian packages, and source trees kept in this repository
(`meson_project`).

Structured BUILD values are registered objects (`debian_package(...)`,
`vendored_component(...)`), checked where the BUILD file calls them. Their fields hand the
rules frozen mappings of the same keys, so provenance and SBOMs serialise them unchanged.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from pants.engine.addresses import Address
from pants.engine.target import (
    COMMON_TARGET_FIELDS,
    Field,
    IntField,
    InvalidFieldException,
    MultipleSourcesField,
    StringField,
    StringSequenceField,
    Target,
)
from pants.util.frozendict import FrozenDict
from pants.util.strutil import help_text


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


class BuildObjectError(ValueError):
    """A structured BUILD value written wrong: Pants reports it with the BUILD file's name."""


def _checked_kwargs(what: str, given: dict, required: set[str], optional: set[str]) -> None:
    unknown = sorted(set(given) - required - optional)
    missing = sorted(required - set(given))
    if unknown or missing:
        raise BuildObjectError(
            f"{what}: "
            + "; ".join(
                part
                for part in (
                    f"unknown argument(s) {unknown}" if unknown else "",
                    f"missing argument(s) {missing}" if missing else "",
                )
                if part
            )
            + f" (it takes {sorted(required)}"
            + (f", optionally {sorted(optional)})" if optional else ")")
        )


class DebianPackage:
    """`debian_package(filename=..., sha256=..., size=...)`: one pinned `.deb`, as
    `3rdparty/artifacts.json` lists it (a Debian set of `build_defs/bootstrap/pin.py`)."""

    alias = "debian_package"
    suffixes: tuple[str, ...] = (".deb",)
    kind = "a .deb file"

    def __init__(self, **kwargs: Any) -> None:
        _checked_kwargs(f"{self.alias}()", kwargs, {"filename", "sha256", "size"}, set())
        filename, sha256, size = kwargs["filename"], kwargs["sha256"], kwargs["size"]
        if not isinstance(filename, str) or not filename.endswith(self.suffixes):
            raise BuildObjectError(
                f"{self.alias}(): `filename` must name {self.kind}, got {filename!r}"
            )
        if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise BuildObjectError(
                f"{self.alias}({filename}): `sha256` must be 64 hex digits, got {sha256!r}"
            )
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise BuildObjectError(
                f"{self.alias}({filename}): `size` must be a positive int, got {size!r}"
            )
        self.entry = FrozenDict({"filename": filename, "sha256": sha256, "size": size})

    def __repr__(self) -> str:
        return f"{self.alias}({self.entry['filename']})"


class DebianSource(DebianPackage):
    """`debian_source(filename=..., sha256=..., size=...)`: one pinned file of a Debian
    source package (upstream's archive `*.orig.tar.*`, its signature), as a Debian source set
    of `build_defs/bootstrap/pin.py` lists it."""

    alias = "debian_source"
    suffixes = (".tar.gz", ".tar.xz", ".tar.bz2", ".asc")
    kind = "a source archive (.tar.gz, .tar.xz, .tar.bz2) or its signature (.asc)"


class DebianPackagesField(Field):
    alias = "debian_packages"
    required = True
    help = help_text(
        """
        The Debian packages (`.deb`) this target takes its files from: a list of
        `debian_package(filename=..., sha256=..., size=...)`, as `3rdparty/artifacts.json`
        pins them (a Debian set of `build_defs/bootstrap/pin.py`).
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[Any], address: Address) -> tuple[FrozenDict, ...]:
        value = super().compute_value(raw_value, address) or ()
        for i, entry in enumerate(value):
            if type(entry) is not DebianPackage:
                raise InvalidFieldException(
                    f"entry {i} of the `{cls.alias}` field of {address} must be "
                    f"`debian_package(filename=..., sha256=..., size=...)`, not {entry!r}."
                )
        return tuple(entry.entry for entry in value)


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


class VendoredComponent:
    """`vendored_component(name=..., path=..., license=..., ...)`: third-party code inside a
    source, for the SBOM of every wheel built from it. `path` is a file or directory in the
    source (checked on every build), `license` an SPDX expression; the version is either
    `version`, or read from `version_file` (relative to `path`) with `version_pattern` (a
    regex whose groups, joined by `.`, are the version), or `note` says why none is known."""

    _REQUIRED = {"name", "path", "license"}
    _OPTIONAL = {"version", "version_file", "version_pattern", "note"}

    def __init__(self, **kwargs: Any) -> None:
        what = f"vendored_component({kwargs.get('name', '')})"
        _checked_kwargs(what, kwargs, self._REQUIRED, self._OPTIONAL)
        bad = sorted(k for k, v in kwargs.items() if not isinstance(v, str))
        if bad:
            raise BuildObjectError(f"{what}: {bad} must be strings.")
        sources = ("version" in kwargs) + ("version_file" in kwargs) + ("note" in kwargs)
        if sources != 1 or ("version_file" in kwargs) != ("version_pattern" in kwargs):
            raise BuildObjectError(
                f"{what} needs exactly one of `version`, `version_file` with `version_pattern`, "
                "or `note` (why no version is known)."
            )
        self.entry = FrozenDict(kwargs)

    def __repr__(self) -> str:
        return f"vendored_component({self.entry['name']})"


class VendoredComponentsField(Field):
    alias = "vendored_components"
    default = ()
    help = help_text(
        """
        Third-party code inside this source, for the SBOM of every wheel built from it: a
        list of `vendored_component(name=..., path=..., license=..., ...)`, each with
        `path` (a file or directory in the source, checked on every build), `license` (an
        SPDX expression), and either `version`, or `version_file` (relative to `path`) plus
        `version_pattern` (a regex whose groups, joined by `.`, are the version), or a
        `note` saying why there is no version.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[Any], address: Address) -> tuple[FrozenDict, ...]:
        value = super().compute_value(raw_value, address) or ()
        for i, entry in enumerate(value):
            if not isinstance(entry, VendoredComponent):
                raise InvalidFieldException(
                    f"entry {i} of the `vendored_components` field of {address} must be "
                    f"`vendored_component(name=..., path=..., license=..., ...)`, not {type(entry).__name__}."
                )
        return tuple(entry.entry for entry in value)


class MesonProjectSourcesField(MultipleSourcesField):
    default = ("**/*", "!BUILD", "!BUILD.*")
    help = help_text(
        "The project's files, relative to this BUILD file's directory (the project root, "
        "where `pyproject.toml` is)."
    )


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


class UpstreamRepositoryField(StringField):
    alias = "upstream_repository"
    default = None
    help = help_text(
        "The upstream repository the release was cut from (`owner/name` on its forge)."
    )


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
        that prints the pkg-config file (upstream's own generator), for a wheel that ships
        none. What it prints reaches the build, so it must not look at the machine:
        scipy-openblas64's `get_pkg_config()` records the OpenBLAS core picked for the CPU
        it runs on, and NumPy's wheel would change bytes with the CPU (use its shipped
        file). Set this or `pkg_config_file`, not both.
        """
    )


class NativeLibraryPkgConfigFileField(StringField):
    alias = "pkg_config_file"
    help = help_text(
        """
        The pkg-config file the wheel ships, relative to its root (e.g.
        `scipy_openblas64/lib/pkgconfig/scipy-openblas.pc`), with `${pcfiledir}` resolved to
        where it lies in the sandbox: a fact of the pinned wheel, the same on every build
        machine and for every architecture. Set this or `pkg_config_script`, not both.
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
    help = help_text(
        "License files inside the wheel, appended to the license of wheels that bundle it."
    )


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


class NativeLibraryVersionField(SourceVersionField):
    help = help_text(
        "The version of the pinned library wheel, e.g. `0.3.34.237.2` of scipy-openblas64."
    )


class NativeLibraryTarget(Target):
    alias = "native_library"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        NativeLibraryVersionField,
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


def target_types():
    return [MesonProjectTarget, SourceReleaseTarget, NativeLibraryTarget]


def build_file_objects():
    return {
        "debian_package": DebianPackage,
        "debian_source": DebianSource,
        "vendored_component": VendoredComponent,
    }
