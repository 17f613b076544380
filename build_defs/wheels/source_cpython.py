"""Build CPython from its pinned source archive: an interpreter that is an output of the graph.

One process, in a root file system of pinned Debian packages (`root_fs.py`), without
network, at the fixed build root: each `c_library` is unpacked, (re)configured and installed
statically into `deps/`, then CPython is configured for `host_triplet` against them, built
and installed with `DESTDIR`. The pinned zig compiles everything, against its own C library:
the root holds no compiler and no C headers, and nothing may fall back to pkg-config. Since
the target is another triplet than the root's, this is a cross build: the root's CPython of
the same version runs the build's Python steps (freezing modules, compiling `.pyc` files),
and `SOURCE_DATE_EPOCH` makes those checked-hash `.pyc` files and `__DATE__` reproducible.

The result is an installed prefix under `PREFIX`, plus `BUILD-INFO.json` (the pinned inputs,
configure arguments, and the extension modules built and missing), cached like any process
output: the same pins give the same digest on any host (`pants repro-check` checks it).
"""

from __future__ import annotations

import base64
import io
import json
import shlex
import tarfile
from dataclasses import dataclass

from pants.core.util_rules.system_binaries import BashBinary
from pants.engine.addresses import Address, Addresses, UnparsedAddressInputs
from pants.engine.fs import (
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
)
from pants.engine.internals.selectors import Get, MultiGet
from pants.engine.process import Process, ProcessResult
from pants.engine.rules import collect_rules, rule
from pants.engine.target import WrappedTarget, WrappedTargetRequest
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.inputs.store_artifact import StoreArtifact, StoreArtifactRequest
from build_defs.inputs.target_types import SourceDateEpochField
from build_defs.toolchains.cc_toolchain import CcToolchain, CcToolchainRequest
from build_defs.toolchains.target_types import (
    CPythonVersionField,
    SourceCPythonBuildPackagesField,
    SourceCPythonConfigureArgsField,
    SourceCPythonHostTripletField,
    SourceCPythonLibrariesField,
    SourceCPythonSignatureField,
    SourceCPythonSourceField,
    SourceCPythonToolchainField,
)
from build_defs.wheels.build_wheel import process_extras
from build_defs.wheels.cores import sharing_cores
from build_defs.wheels.isolation import Isolation, process_script
from build_defs.wheels.root_fs import RootFs, RootFsRequest

# Where the interpreter is installed (and so what its sysconfig data and scripts name).
PREFIX = "/opt/python"
OUT = "installed"
SOURCES = "sources"
BUILD_INFO = "BUILD-INFO.json"
# What the build script reports beside the installed prefix.
_REPORTS = (
    "missing-modules.txt",
    "version.txt",
    "dynload.txt",
    "self-check.txt",
    "signature.txt",
)
# Upstream's signing keys, unarmored from `upstream_signature.keys_path` for gpgv.
KEYRING = "upstream-keyring.gpg"


@dataclass(frozen=True)
class SourceCPythonRequest:
    address: Address
    # Set by `repro-check`: a fresh, uncached build (the value changes nothing else).
    nonce: str = ""


@dataclass(frozen=True)
class SourceCPython:
    """The installed prefix, at the top of `digest` (`opt/python/...`), and what made it."""

    address: Address
    digest: Digest
    version: str  # MAJOR.MINOR.PATCH, read from the built sources
    host_triplet: str


# Imports the modules whose C parts come from the pinned libraries (zlib, libffi) or need the
# C library's loader (a ctypes call through libffi), and reports what ran.
_SELF_CHECK = (
    "import ctypes, decimal, json, select, socket, sys, unicodedata, zlib; "
    "assert zlib.decompress(zlib.compress(b'x' * 64)) == b'x' * 64; "
    "assert ctypes.CDLL(None).strlen(b'pinned') == 6; "
    "print(sys.version.split()[0], sys.platform)"
)


def _substitute(args: tuple[str, ...], **values: str) -> list[str]:
    out = []
    for arg in args:
        for key, value in values.items():
            arg = arg.replace("{" + key + "}", value)
        out.append(arg)
    return out


def dearmor(text: str) -> bytes:
    """The OpenPGP packets of every ASCII-armored public key block in `text`, concatenated: a
    keyring gpgv reads (it takes no armored keyring)."""
    out, body, in_headers = bytearray(), None, False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("-----BEGIN PGP PUBLIC KEY BLOCK"):
            body, in_headers = [], True
        elif line.startswith("-----END PGP PUBLIC KEY BLOCK") and body is not None:
            out += base64.b64decode("".join(body), validate=True)
            body = None
        elif body is not None:
            if in_headers:
                in_headers = bool(line)  # armor headers end at the first empty line
            elif not line.startswith("="):  # the checksum line
                body.append(line)
    if not out:
        raise ValueError("no ASCII-armored public key block")
    return bytes(out)


# Before anything is built: upstream's signature of the source, by gpgv from the root's pinned
# packages, against the keys the pinned packaging ships. Only the VALIDSIG line is kept (what
# was signed, when, by which key): whether the key has expired since depends on today.
_CHECK_SIGNATURE = """\
echo '--- {source}: upstream signature' >&2
gpgv_status=0
/usr/bin/gpgv --status-fd 3 --keyring "{keyring}" "{signature}" "{archive}" 3>"$ROOT/gpgv.status" 2>"$ROOT/gpgv.log" || gpgv_status=$?
if [ "$gpgv_status" -ne 0 ] || /bin/grep -qE '^\\[GNUPG:\\] (BADSIG|ERRSIG|REVKEYSIG|NO_PUBKEY) ' "$ROOT/gpgv.status"; then
  /bin/cat "$ROOT/gpgv.log" >&2
  echo "{source}: upstream's signature {signature_name} does not verify against the keys of {keys}: not building from it" >&2
  exit 1
fi
signer=""
for fpr in {signed_by}; do
  /bin/grep -qE "^\\[GNUPG:\\] VALIDSIG .* $fpr\\$" "$ROOT/gpgv.status" && signer="$fpr"
done
if [ -z "$signer" ]; then
  /bin/cat "$ROOT/gpgv.log" >&2
  echo "{source}: {signature_name} is a good signature, but by no key of signed_by ({signed_by}): not building from it" >&2
  exit 1
fi
/bin/grep -E '^\\[GNUPG:\\] VALIDSIG ' "$ROOT/gpgv.status" > "$ROOT/signature.txt"
"""

# After an autoconf configure (config.status records what it defined).
_FOUND_LIBC = """\
if [ -f config.status ]; then
  for h in STRING_H:string.h STDLIB_H:stdlib.h STDINT_H:stdint.h; do
    /bin/grep -qF 'D["HAVE_'"${h%%:*}"'"]=" 1"' config.status && continue
    echo "{what}: configure did not find <${h#*:}>, which every libc has: one of its compiler checks failed; config.log says why:" >&2
    /bin/grep -n -A12 "checking for ${h#*:}" config.log | /usr/bin/tail -n 40 >&2
    exit 1
  done
fi"""


def check_signature(source: str, signature: FrozenDict) -> str:
    """Shell lines: gpgv checks `signature` of the archive `source` (both under `$ROOT/sources`,
    with the keyring `dearmor` made of its keys)."""
    return _CHECK_SIGNATURE.format(
        source=source,
        keyring=f"$ROOT/{SOURCES}/{KEYRING}",
        signature=f"$ROOT/{SOURCES}/{signature['signature']['filename']}",
        signature_name=signature["signature"]["filename"],
        archive=f"$ROOT/{SOURCES}/{source}",
        keys=f"{signature['keys']['filename']}:{signature['keys_path']}",
        signed_by=" ".join(signature["signed_by"]),
    )


def _unpack(archive: str, into: str) -> str:
    return (
        f'/bin/mkdir -p "{into}" && /usr/bin/tar -xf "$ROOT/{SOURCES}/{archive}" '
        f'-C "{into}" --strip-components=1 --no-same-owner'
    )


def build_script(
    *,
    source: str,
    libraries: tuple[FrozenDict, ...],
    host: str,
    configure_args: tuple[str, ...],
    toolchain: CcToolchain,
    source_date_epoch: int,
    deps: str,
    cc: str,
    signature: FrozenDict | None = None,
) -> str:
    """The body of the build (`$ROOT` is the sandbox at the fixed build root, in the root);
    `deps` is the absolute path the libraries are installed under, `cc` the toolchain's C
    compiler there; `signature` an `upstream_signature` entry, checked first."""

    def configure(args: list[str]) -> str:
        return " ".join(
            shlex.quote(a) for a in _substitute(tuple(args), deps=deps, host=host, cc=cc)
        )

    def logged(command: str, log: str, tail: int = 60) -> str:
        return f"{command} >{log} 2>&1 || {{ /usr/bin/tail -n {tail} {log} >&2; exit 1; }}"

    def found_libc(what: str) -> str:
        # A configure test that fails for a reason of its own (a compiler hiccup, not a
        # missing header) makes autoconf quietly configure a different program. Headers
        # every libc has must be found, or the build stops here rather than later (a cold
        # run once failed in libffi's build with `memcpy` undeclared) or never.
        return _FOUND_LIBC.replace("{what}", what)

    lines = [
        f'{toolchain.setup}TC="$ROOT/{toolchain.bin_dir}"',
        # The root's programs (make, the autotools, the build CPython); the compiler is named.
        # Debian names some programs through alternatives (`awk` is gawk, `aclocal` is
        # aclocal-1.17): links its maintainer scripts make, which no unpacked root runs.
        '/bin/mkdir -p "$ROOT/.alternatives"',
        "for alt in awk:gawk aclocal:aclocal-1.* automake:automake-1.*; do",
        '  set -- /usr/bin/${alt#*:}; [ -e "/usr/bin/${alt%%:*}" ] || [ ! -e "$1" ] || /bin/ln -s "$1" "$ROOT/.alternatives/${alt%%:*}"',
        "done",
        'export PATH="$ROOT/.alternatives:/usr/bin:/bin" CC="$TC/cc" CXX="$TC/cxx" AR="$TC/ar" RANLIB="$TC/ranlib"',
        # zig's driver links; libtool only probes an `ld` for its flavour, and the root has none.
        'export LD="$TC/cc"',
        # No pkg-config may find anything: libraries are named in `configure_args`.
        "export PKG_CONFIG=/bin/false PKG_CONFIG_LIBDIR=/nonexistent",
        f"export SOURCE_DATE_EPOCH={source_date_epoch} LC_ALL=C TZ=UTC PYTHONHASHSEED=0",
        'export HOME="$ROOT/.home" CONFIG_SITE=/dev/null',
        # make's jobs: the cores Pants gives this process (`cores.py`), not every core.
        'jobs="${JOBS:?the cores Pants gives this process (cores.py) are not set}"',
    ]
    lines.append(
        check_signature(source, signature)
        if signature
        else "echo 'not checked: no upstream_signature' > \"$ROOT/signature.txt\""
    )
    for lib in libraries:
        src = f"$ROOT/src/{lib['name']}"
        lines += [
            f"echo '--- {lib['name']}: configure, build, install' >&2",
            _unpack(lib["source"]["filename"], src),
            f'cd "{src}"',
            *([logged("/usr/bin/autoreconf -fi", "autoreconf.log")] if lib["autoreconf"] else []),
            logged(
                f"CFLAGS='-O2 -fPIC' ./configure {configure(lib['configure_args'])}",
                "configure.log",
            ),
            found_libc(lib["name"]),
            logged('/usr/bin/make -j"$jobs"', "make.log"),
            logged("/usr/bin/make install", "install.log"),
        ]
    lines += [
        "echo '--- CPython: configure' >&2",
        _unpack(source, "$ROOT/src/cpython"),
        'cd "$ROOT/src/cpython"',
        logged(
            f"./configure {configure([f'--host={host}', f'--prefix={PREFIX}', *configure_args])}",
            "configure.log",
            80,
        ),
        found_libc("CPython"),
        "echo '--- CPython: build' >&2",
        logged('/usr/bin/make -j"$jobs"', "make.log", 80),
        "echo '--- CPython: install' >&2",
        logged(f'/usr/bin/make install DESTDIR="$ROOT/{OUT}"', "install.log", 80),
        # What the build says it left out (e.g. `_lzma`: no pinned source for it).
        "/bin/sed -n -e '/necessary bits to build these optional modules were not found:/,/^$/{/:$/d;p}'"
        " -e '/built successfully but were removed:/,/^$/{/:$/d;p}' -e '/Failed to build these modules:/,/^$/{/:$/d;p}'"
        ' make.log > "$ROOT/missing-modules.txt"',
        '/bin/sed -n \'s/^#define PY_VERSION *"\\(.*\\)"$/\\1/p\' Include/patchlevel.h > "$ROOT/version.txt"',
        f'/bin/ls "$ROOT/{OUT}{PREFIX}/lib/python"*/lib-dynload > "$ROOT/dynload.txt"',
        # The interpreter must start and load its C-library-backed modules: natively when the
        # target is the root's machine (its C library's loader among the build packages).
        f'if [ "{host.split("-")[0]}" = "$(/usr/bin/uname -m)" ]; then',
        f'  "$ROOT/{OUT}{PREFIX}/bin/python3" -I -c {shlex.quote(_SELF_CHECK)} > "$ROOT/self-check.txt"',
        "else",
        f"  echo 'not run: {host} is not the build machine' > \"$ROOT/self-check.txt\"",
        "fi",
    ]
    return "\n".join(lines) + "\n"


class SourceCPythonError(Exception):
    pass


def upstream_keyring(address: Address, keys: DigestContents, signature: FrozenDict) -> bytes:
    """The keyring gpgv checks upstream's signature with: `keys_path` inside the pinned
    `keys` archive, unarmored."""
    (archive,) = keys
    path = signature["keys_path"]
    with tarfile.open(fileobj=io.BytesIO(archive.content)) as tar:
        member = next(
            (m for m in tar.getmembers() if m.isfile() and m.name.lstrip("./") == path), None
        )
        armored = tar.extractfile(member).read() if member else None  # type: ignore[union-attr]
    if armored is None:
        raise SourceCPythonError(
            f"{address}: `upstream_signature.keys_path` {path} is not a file in "
            f"{archive.path}: name the armored key file it holds (e.g. debian/upstream/signing-key.asc)."
        )
    try:
        return dearmor(armored.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as e:
        raise SourceCPythonError(
            f"{address}: {path} in {archive.path} holds no ASCII-armored public key ({e})."
        ) from None


@rule(desc="Build CPython from its pinned source", level=LogLevel.DEBUG)
async def build_source_cpython(
    request: SourceCPythonRequest, isolation: Isolation, bash: BashBinary
) -> SourceCPython:
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(request.address, description_of_origin="a source_cpython target"),
    )
    tgt = wrapped.target
    source = tgt[SourceCPythonSourceField].value
    libraries = tgt[SourceCPythonLibrariesField].value
    host = tgt[SourceCPythonHostTripletField].value
    (toolchain_address,) = await Get(
        Addresses,
        UnparsedAddressInputs(
            (tgt[SourceCPythonToolchainField].value,),
            owning_address=tgt.address,
            description_of_origin=f"the `toolchain` field of {tgt.address}",
        ),
    )
    signature = tgt[SourceCPythonSignatureField].value
    archives = (
        source,
        *(lib["source"] for lib in libraries),
        *((signature["signature"], signature["keys"]) if signature else ()),
    )
    toolchain, root, *fetched = await MultiGet(
        Get(CcToolchain, CcToolchainRequest(toolchain_address)),
        Get(
            RootFs,
            RootFsRequest(
                tuple(tgt[SourceCPythonBuildPackagesField].value), tgt.address, request.nonce
            ),
        ),
        *(
            Get(
                StoreArtifact,
                StoreArtifactRequest(a["filename"], a["sha256"], a["size"], tgt.address),
            )
            for a in archives
        ),
    )
    root.check_toolchain(tgt.address, "its root file system of build packages", toolchain)
    keyring: tuple[FileContent, ...] = ()
    if signature:
        if not any(p["filename"].startswith("gpgv_") for p in root.packages):
            raise SourceCPythonError(
                f"{tgt.address} checks upstream's signature (`signature`), but its "
                "`build_packages` hold no gpgv: add Debian's `gpgv` to their set and pin it again."
            )
        keyring = (
            FileContent(
                f"{SOURCES}/{KEYRING}",
                upstream_keyring(
                    tgt.address,
                    await Get(DigestContents, Digest, fetched[-1].digest),
                    signature,
                ),
            ),
        )
    sde = tgt[SourceDateEpochField].value
    body = build_script(
        source=source["filename"],
        libraries=libraries,
        host=host,
        configure_args=tuple(tgt[SourceCPythonConfigureArgsField].value or ()),
        toolchain=toolchain,
        source_date_epoch=sde,
        deps=f"{isolation.fixed_root}/deps",
        cc=f"{isolation.fixed_root}/{toolchain.bin_dir}/cc",
        signature=signature,
    )
    script = process_script(
        "build_cpython.sh",
        isolation,
        body,
        fixed_root=True,
        in_root=True,
        before_isolation=toolchain.prepare,
    )
    sources = await Get(
        Digest, AddPrefix(await Get(Digest, MergeDigests(f.digest for f in fetched)), SOURCES)
    )
    # repro-check: each build starts from its own empty toolchain cache (zig's).
    caches, fresh_caches = toolchain.caches_for(None, fresh=bool(request.nonce))
    scaffold = await Get(
        Digest,
        CreateDigest(
            [
                FileContent("build_cpython.sh", script.encode()),
                *keyring,
                Directory(".home"),
                Directory(OUT),
                *fresh_caches,
            ]
        ),
    )
    result = await Get(
        ProcessResult,
        Process(
            **sharing_cores(bash.path, "build_cpython.sh"),
            input_digest=await Get(Digest, MergeDigests([sources, scaffold, toolchain.digest])),
            append_only_caches=caches,
            immutable_input_digests={**toolchain.immutable_inputs, **root.immutable_inputs},
            output_directories=(OUT,),
            output_files=_REPORTS,
            description=f"Build CPython from {source['filename']} for {host} ({len(libraries)} C libraries first)",
            level=LogLevel.INFO,
            **process_extras(request.nonce, {**isolation.env, **root.env}),
        ),
    )
    reports = await Get(
        DigestContents,
        DigestSubset(result.output_digest, PathGlobs(_REPORTS)),
    )
    text = {f.path: f.content.decode() for f in reports}
    version = text["version.txt"].strip()
    info = {
        "address": str(tgt.address),
        "version": version,
        "host_triplet": host,
        "prefix": PREFIX,
        "source": dict(source),
        "libraries": [
            {
                "name": lib["name"],
                "source": dict(lib["source"]),
                "configure_args": list(lib["configure_args"]),
            }
            for lib in libraries
        ],
        "configure_args": [
            f"--host={host}",
            f"--prefix={PREFIX}",
            *(tgt[SourceCPythonConfigureArgsField].value or ()),
        ],
        "toolchain": dict(toolchain.programs),
        "build_root": [f"{p['filename']}:{p['sha256']}" for p in root.packages],
        "source_date_epoch": sde,
        "extension_modules": sorted(
            line.split(".", 1)[0] for line in text["dynload.txt"].split() if line.endswith(".so")
        ),
        "not_built": sorted(
            word
            for line in text["missing-modules.txt"].splitlines()
            if not line.startswith("To find")  # the build's advice, not a module
            for word in line.split()
        ),
        "self_check": text["self-check.txt"].strip(),
        # gpgv's VALIDSIG line (signing key, signature time), or why none was checked.
        "signature": text["signature.txt"].strip(),
    }
    installed = await Get(
        Digest,
        RemovePrefix(
            await Get(Digest, DigestSubset(result.output_digest, PathGlobs([f"{OUT}/**"]))), OUT
        ),
    )
    info_file = await Get(
        Digest,
        CreateDigest(
            [
                FileContent(
                    f"{PREFIX.lstrip('/')}/{BUILD_INFO}",
                    (json.dumps(info, indent=2, sort_keys=True) + "\n").encode(),
                )
            ]
        ),
    )
    return SourceCPython(
        tgt.address,
        await Get(Digest, MergeDigests([installed, info_file])),
        version,
        host,
    )


def rules():
    return collect_rules()
