"""Native libraries shipped as pinned wheels: extracted, pkg-config'd, licensed, bundled."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from pants.engine.addresses import Address
from pants.engine.fs import AddPrefix, Digest, DigestContents, DigestSubset, PathGlobs
from pants.engine.internals.selectors import Get
from pants.engine.rules import collect_rules, rule
from pants.engine.target import WrappedTarget, WrappedTargetRequest
from pants.util.logging import LogLevel

from build_defs.inputs.store_artifact import StoreArtifact, StoreArtifactRequest
from build_defs.inputs.target_types import (
    NativeLibraryBundledField,
    NativeLibraryDescriptionField,
    NativeLibraryLibDirField,
    NativeLibraryLicenseExpressionField,
    NativeLibraryLicenseFilesField,
    NativeLibraryPkgConfigFileField,
    NativeLibraryPkgConfigNameField,
    NativeLibraryPkgConfigScriptField,
    PinnedFilenameField,
    PinnedSha256Field,
    SourceVersionField,
)

NATIVE_DIR = "native"


@dataclass(frozen=True)
class NativeLibraryRequest:
    address: Address


@dataclass(frozen=True)
class NativeLibrary:
    address: Address
    digest: Digest  # the extracted wheel under `native/<target name>/`
    root: str  # that directory, relative to the sandbox root
    pkg_config_name: str
    pkg_config_script: str  # one of these two is set
    pkg_config_file: str  # relative to the sandbox root
    library_dir: str  # relative to the sandbox root
    bundled_libraries: tuple[str, ...]
    license_section: str
    # The pinned wheel it comes from and the license of what a wheel bundles, for the SBOM.
    filename: str
    sha256: str
    version: str
    license_expression: str

    @property
    def pkg_config_command(self) -> str:
        """Shell lines (in a build script, `$ROOT` and `$TOOL_PREFIX` set) that write the
        library's pkg-config file into `$ROOT/pkgconfig/`."""
        out = f'"$ROOT/pkgconfig/{self.pkg_config_name}.pc"'
        if self.pkg_config_file:
            # Resolve ${pcfiledir} in bash itself: the copy lies in another directory.
            directory = f'$ROOT/{self.pkg_config_file.rsplit("/", 1)[0]}'
            return (
                f'while IFS= read -r line || [ -n "$line" ]; do printf \'%s\\n\' "${{line//\\${{pcfiledir\\}}/{directory}}}"; '
                f'done < "$ROOT/{self.pkg_config_file}" > {out}\n'
            )
        return (
            f'PYTHONPATH="$ROOT/{self.root}" "$TOOL_PREFIX/bin/python" -c {shlex.quote(self.pkg_config_script)}'
            f" > {out}\n"
        )

    @property
    def project(self) -> str:
        return self.filename.split("-", 1)[0].replace("_", "-").lower()


class NativeLibraryError(Exception):
    pass


@rule(desc="Prepare a native library", level=LogLevel.DEBUG)
async def prepare_native_library(request: NativeLibraryRequest) -> NativeLibrary:
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(request.address, description_of_origin="a `native_deps` field"),
    )
    tgt = wrapped.target
    if not tgt.has_field(NativeLibraryPkgConfigScriptField):
        raise NativeLibraryError(f"{request.address} is not a `native_library` target.")
    script, pc_file = (
        tgt[NativeLibraryPkgConfigScriptField].value,
        tgt[NativeLibraryPkgConfigFileField].value,
    )
    if bool(script) == bool(pc_file):
        raise NativeLibraryError(
            f"{request.address}: set exactly one of `pkg_config_script` (run the wheel's own code) "
            "and `pkg_config_file` (the .pc file the wheel ships)."
        )
    filename = tgt[PinnedFilenameField].value
    extracted = await Get(StoreArtifact, StoreArtifactRequest.pinned_by(tgt, extract_as=".zip"))
    license_paths = tuple(tgt[NativeLibraryLicenseFilesField].value or ())
    license_digest = await Get(Digest, DigestSubset(extracted.digest, PathGlobs(license_paths)))
    licenses = await Get(DigestContents, Digest, license_digest)
    found = {fc.path: fc.content.decode("utf-8", "replace") for fc in licenses}
    missing = sorted(set(license_paths) - set(found))
    if missing:
        raise NativeLibraryError(
            f"The license files {missing} named by {request.address} are not in {filename}."
        )
    bundled = tuple(tgt[NativeLibraryBundledField].value or ())
    section = "\n".join(
        [
            f"Name: {tgt[NativeLibraryDescriptionField].value}",
            f"Files: {', '.join(bundled) or '(none)'}",
            f"Shipped in: {filename} (version {tgt[SourceVersionField].value}, "
            f"sha256 {tgt[PinnedSha256Field].value})",
            "License texts, as that wheel carries them:",
            "",
            *(f"--- {path} ---\n{found[path].rstrip()}\n" for path in license_paths),
        ]
    )
    root = f"{NATIVE_DIR}/{request.address.target_name}"
    digest = await Get(Digest, AddPrefix(extracted.digest, root))
    return NativeLibrary(
        address=request.address,
        digest=digest,
        root=root,
        pkg_config_name=tgt[NativeLibraryPkgConfigNameField].value,
        pkg_config_script=script or "",
        pkg_config_file=f"{root}/{pc_file}" if pc_file else "",
        library_dir=f"{root}/{tgt[NativeLibraryLibDirField].value}",
        bundled_libraries=bundled,
        license_section=section,
        filename=filename,
        sha256=tgt[PinnedSha256Field].value,
        version=tgt[SourceVersionField].value,
        license_expression=tgt[NativeLibraryLicenseExpressionField].value,
    )


def rules():
    return collect_rules()
