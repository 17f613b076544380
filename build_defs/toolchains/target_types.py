"""Target types of what compiles and runs a build: C/C++ toolchains (`cc_toolchain`,
`zig_toolchain`) and interpreters (`host_cpython`, `debian_cpython`, `source_cpython`).

A runtime archive a zig toolchain links in is a registered BUILD object,
`runtime_file(path=..., name=...)`; the field hands rules a frozen `{path: name}` mapping.
A C library a `source_cpython` builds first is one too, `c_library(...)`, and so is the
upstream signature it checks, `upstream_signature(...)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from pants.engine.addresses import Address
from pants.engine.internals.selectors import Get
from pants.engine.rules import collect_rules, rule
from pants.engine.target import (
    COMMON_TARGET_FIELDS,
    DictStringToStringField,
    Field,
    FieldSet,
    InferDependenciesRequest,
    InferredDependencies,
    InvalidFieldException,
    StringField,
    StringSequenceField,
    Target,
)
from pants.engine.unions import UnionRule
from pants.util.frozendict import FrozenDict
from pants.util.strutil import help_text

from build_defs.inputs.address_fields import AddressFieldsRequest
from build_defs.inputs.target_types import (
    BuildObjectError,
    DebianPackagesField,
    DebianSource,
    PinnedFilenameField,
    PinnedSha256Field,
    PinnedSizeField,
    SourceDateEpochField,
    SourceVersionField,
)
from build_defs.platforms.registry import KNOWN_PLATFORMS


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
    core_fields = (
        *COMMON_TARGET_FIELDS,
        CcToolchainCcField,
        CcToolchainCxxField,
        CcToolchainToolsField,
    )
    help = help_text(
        """
        A C/C++ toolchain of the host. Every build that uses it is keyed on each program's
        resolved path, `--version` output and sha256, re-read on every Pants run: an upgraded
        compiler rebuilds everything, an unchanged one rebuilds nothing.
        """
    )


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


class RuntimeFile:
    """`runtime_file(path=..., name=...)`: a file of a zig toolchain's `runtime_packages`
    (its path inside the package) taken into the toolchain's `runtime/` directory as `name`."""

    def __init__(self, *, path: str, name: str) -> None:
        if not isinstance(path, str) or not path or path.startswith("/"):
            raise BuildObjectError(
                f"runtime_file(): `path` must be a relative path inside the package, got {path!r}"
            )
        if not isinstance(name, str) or not name or "/" in name:
            raise BuildObjectError(
                f"runtime_file({path}): `name` must be a plain file name, got {name!r}"
            )
        self.path, self.name = path, name

    def __repr__(self) -> str:
        return f"runtime_file({self.path} -> {self.name})"


class ZigRuntimeFilesField(Field):
    alias = "runtime_files"
    default = None
    help = help_text(
        """
        Files taken from `runtime_packages` into the toolchain's `runtime/` directory: a list
        of `runtime_file(path=..., name=...)`, e.g.
        `runtime_file(path="usr/lib/gcc/aarch64-linux-gnu/14/libgcc.a", name="libgcc.a")`.
        Link flags name them as `{toolchain_dir}/runtime/<name>`; an archive named before the
        objects provides the symbols it has ahead of zig's compiler_rt.
        """
    )

    @classmethod
    def compute_value(
        cls, raw_value: Optional[Any], address: Address
    ) -> Optional[FrozenDict[str, str]]:
        value = super().compute_value(raw_value, address)
        if value is None:
            return None
        if not all(isinstance(entry, RuntimeFile) for entry in value):
            raise InvalidFieldException(
                f"the `runtime_files` field of {address} must be a list of `runtime_file(path=..., name=...)`."
            )
        return FrozenDict({entry.path: entry.name for entry in value})


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


class ZigVersionField(SourceVersionField):
    help = help_text(
        "The version of the pinned `ziglang` wheel (zig's own version), e.g. `0.17.1`."
    )


class ZigToolchainTarget(Target):
    alias = "zig_toolchain"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        ZigVersionField,
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


class PythonVersionField(StringField):
    """A CPython version as `MAJOR.MINOR[t]`: the base of every field that names one."""

    alias = "python"
    required = True
    help = help_text(
        'A CPython version, as `MAJOR.MINOR` (e.g. `"3.12"`; `t` suffix: free-threaded).'
    )
    valid_version = re.compile(r"^3\.[0-9]{1,2}t?$")

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> Optional[str]:
        value = super().compute_value(raw_value, address)
        if value is not None and not cls.valid_version.match(value):
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} must look like '3.12', got {value!r}."
            )
        return value


class CPythonVersionField(PythonVersionField):
    alias = "version"
    help = help_text(
        "The CPython this target stands for, as `MAJOR.MINOR` (`t` suffix: free-threaded), "
        'e.g. `"3.12"`; the host program searched for is `python<version>`.'
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


class HostCPythonTarget(Target):
    alias = "host_cpython"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        CPythonVersionField,
        CPythonExactVersionField,
        CPythonSearchPathField,
    )
    help = help_text(
        """
        A CPython installed on the host, as a fingerprinted input: every wheel built for it
        depends on this target, and every process that uses it is keyed on its fingerprint
        (exact version, sysconfig values, sha256 of binary and headers), read anew on each
        Pants run. `pants peek` shows the fingerprint; `pants dependents --transitive` what
        an upgrade rebuilds. `pants fingerprint` shows the fingerprint builds key on.
        """
    )


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
    required = False
    default = None
    help = help_text(
        """
        For an interpreter of another architecture: the host CPython of the same version that
        runs the build tools (meson-python takes the wheel's tag from the interpreter that
        runs it; it is shown the target's sysconfig data). An address of a `host_cpython`
        target. Unset for an interpreter that runs in its own root file system
        (`root_packages`).
        """
    )


class DebianEmulatorPackagesField(DebianPackagesField):
    alias = "emulator_packages"
    required = False
    default = ()
    help = help_text(
        """
        For a target interpreter of another architecture: Debian packages holding a
        statically linked qemu-user (e.g. `qemu-user`), whose `usr/bin/qemu-<cpu>` runs the
        tests of its wheels instead of the host's qemu: the emulator is then pinned by
        sha256 like the rest, and runs inside a root file system too. Same form as
        `debian_packages`.
        """
    )


class DebianRootPackagesField(DebianPackagesField):
    alias = "root_packages"
    required = False
    default = ()
    help = help_text(
        """
        The Debian packages of a root file system in which this interpreter runs natively (e.g.
        `python3.14`, `libpython3.14-dev`, a shell, coreutils and pkg-config, with their
        dependency closure): the build, repair and tests of its wheels run inside that root,
        with the host contributing only the kernel. For an interpreter whose C library is
        newer than the host's. Same form as `debian_packages`.
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
        DebianEmulatorPackagesField,
        DebianRootPackagesField,
    )
    help = help_text(
        """
        A CPython from pinned Debian packages. Either a target interpreter for cross-compiled
        wheels (`build_interpreter` set): its headers, `pyconfig.h` and sysconfig data come
        from the packages, and the host CPython of the same version runs the build with them.
        Or an interpreter that runs in its own root file system (`root_packages` set): the
        build, repair and tests of its wheels run inside that root. Its fingerprint covers
        the packages and the interpreter's ABI facts.
        """
    )


class CLibrary:
    """`c_library(name=..., source=debian_source(...), configure_args=[...], autoreconf=False)`:
    a C library built from its pinned source archive (unpacked without its top directory) into
    the static prefix CPython is then configured against. `configure_args` may name
    `{deps}` (that prefix) and `{host}` (the target triplet); `autoreconf` regenerates the
    configure script first (an archive cut from git ships none)."""

    def __init__(
        self, *, name: str, source: Any, configure_args: Any = (), autoreconf: bool = False
    ) -> None:
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+-]*", name):
            raise BuildObjectError(f"c_library(): `name` must be a plain name, got {name!r}")
        if not isinstance(source, DebianSource):
            raise BuildObjectError(
                f"c_library({name}): `source` must be `debian_source(filename=..., sha256=..., size=...)`, got {source!r}"
            )
        if isinstance(configure_args, str) or not all(isinstance(a, str) for a in configure_args):
            raise BuildObjectError(
                f"c_library({name}): `configure_args` must be a list of strings, got {configure_args!r}"
            )
        if not isinstance(autoreconf, bool):
            raise BuildObjectError(f"c_library({name}): `autoreconf` must be True or False")
        self.entry = FrozenDict(
            {
                "name": name,
                "source": source.entry,
                "configure_args": tuple(configure_args),
                "autoreconf": autoreconf,
            }
        )

    def __repr__(self) -> str:
        return f"c_library({self.entry['name']})"


class UpstreamSignature:
    """`upstream_signature(signature=debian_source(...), keys=debian_source(...),
    keys_path=..., signed_by=[...])`: upstream's OpenPGP signature of a source archive, and
    where the signing keys come from: a file (`keys_path`, ASCII-armored) inside another pinned
    archive, e.g. Debian's packaging (`debian/upstream/signing-key.asc`, which Debian's own
    tools check the same signature with). `signed_by` lists the primary key fingerprints a
    good signature must come from."""

    def __init__(self, *, signature: Any, keys: Any, keys_path: str, signed_by: Any) -> None:
        for name, value in (("signature", signature), ("keys", keys)):
            if not isinstance(value, DebianSource):
                raise BuildObjectError(
                    f"upstream_signature(): `{name}` must be `debian_source(filename=..., sha256=..., size=...)`, got {value!r}"
                )
        if not signature.entry["filename"].endswith(".asc"):
            raise BuildObjectError(
                f"upstream_signature(): `signature` must be a detached signature (.asc), got {signature!r}"
            )
        if not isinstance(keys_path, str) or not keys_path or keys_path.startswith("/"):
            raise BuildObjectError(
                f"upstream_signature(): `keys_path` must be a relative path inside `keys`, got {keys_path!r}"
            )
        if (
            isinstance(signed_by, str)
            or not signed_by
            or not all(isinstance(f, str) and re.fullmatch(r"[0-9A-F]{40}", f) for f in signed_by)
        ):
            raise BuildObjectError(
                "upstream_signature(): `signed_by` must list 40-digit upper-case key fingerprints, "
                f"got {signed_by!r}"
            )
        self.entry = FrozenDict(
            {
                "signature": signature.entry,
                "keys": keys.entry,
                "keys_path": keys_path,
                "signed_by": tuple(signed_by),
            }
        )

    def __repr__(self) -> str:
        return f"upstream_signature({self.entry['signature']['filename']})"


class SourceCPythonSignatureField(Field):
    alias = "signature"
    default = None
    help = help_text(
        """
        Upstream's signature of `source`, checked before anything is built: an
        `upstream_signature(signature=debian_source(...), keys=debian_source(...),
        keys_path=..., signed_by=[...])`. gpgv from the root file system's pinned packages
        (`build_packages` must hold `gpgv`) checks it against the keys in `keys`; a signature
        that does not verify, or comes from no key of `signed_by`, stops the build. Unset: the
        source is trusted by its sha256 alone (and `peek` shows no signature).
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[Any], address: Address) -> FrozenDict | None:
        value = super().compute_value(raw_value, address)
        if value is None:
            return None
        if not isinstance(value, UpstreamSignature):
            raise InvalidFieldException(
                f"the `{cls.alias}` field of {address} must be `upstream_signature(...)`, not {value!r}."
            )
        return value.entry


class SourceCPythonSourceField(Field):
    alias = "source"
    required = True
    help = help_text(
        """
        CPython's source archive: `debian_source(filename=..., sha256=..., size=...)` (e.g.
        Debian's `python3.13_3.13.5.orig.tar.xz`, which is upstream's release tarball), pinned
        by a Debian source set of `build_defs/bootstrap/pin.py`.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[Any], address: Address) -> FrozenDict:
        value = super().compute_value(raw_value, address)
        if not isinstance(value, DebianSource) or value.entry["filename"].endswith(".asc"):
            raise InvalidFieldException(
                f"the `{cls.alias}` field of {address} must be a `debian_source(...)` of a "
                f"source archive, not {value!r}."
            )
        return value.entry


class SourceCPythonLibrariesField(Field):
    alias = "libraries"
    default = ()
    help = help_text(
        """
        C libraries built from pinned sources before CPython, statically, for the same target
        (e.g. zlib and libffi): a list of `c_library(name=..., source=debian_source(...),
        configure_args=[...], autoreconf=False)`, built in order. CPython finds them through
        its `configure_args` (`{deps}` names their prefix).
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[Any], address: Address) -> tuple[FrozenDict, ...]:
        value = super().compute_value(raw_value, address) or ()
        for i, entry in enumerate(value):
            if not isinstance(entry, CLibrary):
                raise InvalidFieldException(
                    f"entry {i} of the `{cls.alias}` field of {address} must be "
                    f"`c_library(name=..., source=debian_source(...), ...)`, not {entry!r}."
                )
        return tuple(entry.entry for entry in value)


class SourceCPythonHostTripletField(StringField):
    alias = "host_triplet"
    required = True
    help = help_text(
        "The triplet CPython is built for, as autoconf's `--host` (e.g. `x86_64-linux-musl`); "
        "`{host}` in `configure_args` names it."
    )


class SourceCPythonConfigureArgsField(StringSequenceField):
    alias = "configure_args"
    default = ()
    help = help_text(
        """
        Arguments of CPython's `configure`, after `--host` and `--prefix` (which the rule
        sets): e.g. `--with-build-python=/usr/bin/python3.13` and the cache variables a cross
        build cannot probe. `{deps}` names the prefix the `libraries` were installed in,
        `{host}` the `host_triplet`, `{cc}` the toolchain's C compiler (absolute path).
        """
    )


class SourceCPythonBuildPackagesField(DebianPackagesField):
    alias = "build_packages"
    help = help_text(
        """
        The Debian packages of the root file system the build runs in: a CPython of the same
        version as the source (a cross build runs it), make, the autotools a `c_library` with
        `autoreconf` needs, the archivers, the shell and utilities, with their dependency
        closure, and no compiler or C headers (the pinned zig compiles, against its own C
        library). Same form as `debian_packages`.
        """
    )


class SourceCPythonToolchainField(StringField):
    alias = "toolchain"
    required = True
    help = help_text(
        "Address of the `zig_toolchain` (without host programs: the build runs in a root file "
        "system) that compiles the libraries and CPython for `host_triplet`."
    )


class SourceCPythonBuildInterpreterField(StringField):
    alias = "build_interpreter"
    required = False
    default = None
    help = help_text(
        """
        The CPython of the same version for this host's architecture and C library, running in
        its own root file system (a `debian_cpython` with `root_packages`), that runs the build
        tools of wheels built for this interpreter: those are cross builds (another C library
        or machine), shown this interpreter's headers and sysconfig data, and their build,
        repair and tests run in that root with `runtime_packages` added. Unset: the
        interpreter can be packaged, but no wheel names it.
        """
    )


class SourceCPythonRuntimePackagesField(DebianPackagesField):
    alias = "runtime_packages"
    required = False
    default = ()
    help = help_text(
        """
        Debian packages the built interpreter needs at run time beside its own tree: its C
        library's dynamic loader (e.g. trixie's `musl`, whose `/lib/ld-musl-x86_64.so.1` the
        interpreter names). For this host's CPU they join the root file system of
        `build_interpreter` for the build, repair and tests of its wheels; for another CPU
        they are the root file system its wheels' tests run it in under qemu-user
        (`emulator_packages`). Same form as `debian_packages`.
        """
    )


class SourceCPythonTarget(Target):
    alias = "source_cpython"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        CPythonVersionField,
        SourceCPythonSourceField,
        SourceCPythonSignatureField,
        SourceCPythonLibrariesField,
        SourceCPythonHostTripletField,
        SourceCPythonConfigureArgsField,
        SourceCPythonBuildPackagesField,
        SourceCPythonToolchainField,
        TargetCPythonPlatformField,
        SourceDateEpochField,
        SourceCPythonBuildInterpreterField,
        SourceCPythonRuntimePackagesField,
        DebianEmulatorPackagesField,
    )
    help = help_text(
        """
        A CPython built in the graph from its pinned source archive, with its C libraries from
        pinned sources too, by the pinned zig toolchain, in a root file system of pinned Debian
        packages, without network: an installed prefix (interpreter, standard library, headers,
        sysconfig data) that is a function of pinned inputs only. `pants package` writes it
        under dist/; `pants repro-check` builds it twice and compares. With a
        `build_interpreter`, it is the `interpreter` of wheels built for it (cross builds run
        by that interpreter), whose tests run it (natively for this host's CPU, under the
        pinned qemu-user of `emulator_packages` for another).
        """
    )


@dataclass(frozen=True)
class SourceCPythonInputsFieldSet(FieldSet):
    required_fields = (SourceCPythonToolchainField,)

    toolchain: SourceCPythonToolchainField
    build_interpreter: SourceCPythonBuildInterpreterField


class InferSourceCPythonDependencies(InferDependenciesRequest):
    infer_from = SourceCPythonInputsFieldSet


@rule(desc="Infer the toolchain of a CPython built from source")
async def infer_source_cpython_dependencies(
    request: InferSourceCPythonDependencies,
) -> InferredDependencies:
    fs = request.field_set
    return await Get(
        InferredDependencies,
        AddressFieldsRequest,
        AddressFieldsRequest.of(fs.address, fs.toolchain.value, fs.build_interpreter.value),
    )


@dataclass(frozen=True)
class TargetCPythonInputsFieldSet(FieldSet):
    required_fields = (TargetCPythonBuildInterpreterField,)

    build_interpreter: TargetCPythonBuildInterpreterField


class InferTargetCPythonDependencies(InferDependenciesRequest):
    infer_from = TargetCPythonInputsFieldSet


@rule(desc="Infer the build interpreter of a target interpreter")
async def infer_target_cpython_dependencies(
    request: InferTargetCPythonDependencies,
) -> InferredDependencies:
    fs = request.field_set
    if not fs.build_interpreter.value:
        return InferredDependencies([])
    return await Get(
        InferredDependencies,
        AddressFieldsRequest,
        AddressFieldsRequest.of(fs.address, fs.build_interpreter.value),
    )


def target_types():
    return [
        CcToolchainTarget,
        ZigToolchainTarget,
        HostCPythonTarget,
        DebianCPythonTarget,
        SourceCPythonTarget,
    ]


def build_file_objects():
    return {
        "runtime_file": RuntimeFile,
        "c_library": CLibrary,
        "upstream_signature": UpstreamSignature,
    }


def rules():
    return [
        *collect_rules(),
        UnionRule(InferDependenciesRequest, InferTargetCPythonDependencies),
        UnionRule(InferDependenciesRequest, InferSourceCPythonDependencies),
    ]
