"""The CPython a wheel is built for, as a declared, fingerprinted input of the graph.

A `host_cpython` target finds its interpreter on the host (pyenv, PATH or given
directories) once per Pants run and fingerprints it: exact version, implementation, the
sysconfig values builds read, and sha256s of the binary, its shared libpython and its
include directory. Every process that runs or compiles against it carries that fingerprint
in its environment (so an upgraded interpreter rebuilds what it touches), the tool venvs
are built with exactly that executable, and the provenance records it.

Each kind of interpreter source is a member of the `InterpreterFieldSet` union: a later
kind can supply the same `Interpreter` from pinned files (e.g. target headers and sysconfig
data for cross builds) without changing the rules that use it.
"""

from __future__ import annotations

import hashlib
import json
import platform as _platform
from dataclasses import dataclass
from typing import Mapping

from pants.core.util_rules.system_binaries import BashBinary
from pants.engine.addresses import Address
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.environment import EnvironmentName
from pants.engine.fs import CreateDigest, Digest
from pants.engine.internals.selectors import Get
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.engine.rules import collect_rules, rule
from pants.engine.target import FieldSet, Target, WrappedTarget, WrappedTargetRequest
from pants.engine.unions import UnionMembership, UnionRule, union
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.toolchains.target_types import (
    CPythonExactVersionField,
    CPythonSearchPathField,
    CPythonVersionField,
)

# Run by each candidate interpreter: what builds read from it, and hashes of what they use.
FINGERPRINT_CODE = r"""
import hashlib, json, os, platform, sys, sysconfig
def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
include = sysconfig.get_paths()["include"]
tree = hashlib.sha256()
for root, dirs, files in os.walk(include):
    dirs.sort()
    for name in sorted(files):
        path = os.path.join(root, name)
        tree.update(os.path.relpath(path, include).encode() + b"\0" + sha(path).encode() + b"\n")
var = sysconfig.get_config_var
facts = {
    "path": os.path.realpath(sys.executable),
    "implementation": platform.python_implementation(),
    "version": platform.python_version(),
    "EXT_SUFFIX": var("EXT_SUFFIX") or "",
    "SOABI": var("SOABI") or "",
    "Py_GIL_DISABLED": str(int(bool(var("Py_GIL_DISABLED")))),
    "Py_ENABLE_SHARED": str(int(bool(var("Py_ENABLE_SHARED")))),
    "binary_sha256": sha(os.path.realpath(sys.executable)),
    "include_dir": include,
    "include_sha256": tree.hexdigest(),
}
libpython = os.path.join(var("LIBDIR") or "", var("LDLIBRARY") or "")
if facts["Py_ENABLE_SHARED"] == "1" and os.path.isfile(libpython):
    facts["libpython_sha256"] = sha(libpython)
print(json.dumps(facts, sort_keys=True))
"""

# $1: MAJOR.MINOR[t]; $2: exact version or ""; the rest: search path entries.
PROBE_SCRIPT = r"""
set -uo pipefail
export LC_ALL=C PATH=/usr/bin:/bin
want="$1"; exact="$2"; shift 2
base="${want%t}"; [ "$base" != "$want" ] && ft=1 || ft=0
dirs=()
for entry in "$@"; do
  case "$entry" in
    "<PATH>") IFS=: read -ra parts <<< "${HOST_PATH:-}"; dirs+=("${parts[@]}") ;;
    "<PYENV>")
      root="${PYENV_ROOT:-${HOME:-/nonexistent}/.pyenv}"
      for d in "$root"/versions/*/bin; do [ -d "$d" ] && dirs+=("$d"); done ;;
    "<"*">") echo "unknown search path entry $entry (use <PATH>, <PYENV> or a directory)" >&2; exit 2 ;;
    *) dirs+=("$entry") ;;
  esac
done
found=()
for d in "${dirs[@]}"; do
  c="$d/python$want"
  [ -x "$c" ] || continue
  v="$("$c" -c 'import platform, sys, sysconfig
print(platform.python_implementation(), platform.python_version(), int(bool(sysconfig.get_config_var("Py_GIL_DISABLED"))))' 2>/dev/null)" || continue
  read -r impl version gil <<< "$v"
  [ "$impl" = CPython ] && [ "${version%.*}" = "$base" ] && [ "$gil" = "$ft" ] || continue
  found+=("$version $c")
done
if [ "${#found[@]}" = 0 ]; then
  echo "no CPython $want found (looked for python$want in: ${dirs[*]:-nothing})" >&2
  exit 3
fi
chosen="$(printf '%s\n' "${found[@]}" | sort -t. -k3,3nr -s | head -n 1)"
if [ -n "$exact" ]; then
  chosen="$(printf '%s\n' "${found[@]}" | awk -v e="$exact" '$1 == e' | head -n 1)"
  if [ -z "$chosen" ]; then
    echo "the pin wants CPython $exact, but this host has $(printf '%s\n' "${found[@]}" | cut -d' ' -f1 | sort -u | paste -sd, -)" >&2
    exit 5
  fi
fi
exec "${chosen#* }" -I -c "$FINGERPRINT_CODE"
"""


class InterpreterError(Exception):
    pass


def probe_command(version: str, exact: str | None, search_path: tuple[str, ...]) -> tuple[str, ...]:
    return ("-c", PROBE_SCRIPT, "probe", version, exact or "", *search_path)


def probe_env(env: Mapping[str, str]) -> dict[str, str]:
    """The host variables the probe reads; nothing else reaches it."""
    return {
        "HOST_PATH": env.get("PATH", ""),
        "PYENV_ROOT": env.get("PYENV_ROOT", ""),
        "HOME": env.get("HOME", ""),
        "FINGERPRINT_CODE": FINGERPRINT_CODE,
    }


def probe_error(
    address: Address, version: str, exact: str | None, exit_code: int, stderr: str
) -> str:
    if exit_code == 3:
        return (
            f"{address}: {stderr.strip()}.\nInstall CPython {version} (e.g. `pyenv install "
            f"{version}`), or add its directory to the `search_path` field of {address}."
        )
    if exit_code == 5:
        return (
            f"{address} pins CPython {exact} (`exact_version`): {stderr.strip().split(': ', 1)[-1]}.\n"
            f"Install CPython {exact}, or change `exact_version` of {address}."
        )
    return f"{address}: fingerprinting CPython {version} failed: {stderr.strip()}"


def fingerprint_of(facts: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(dict(facts), sort_keys=True).encode()).hexdigest()


# The facts that identify an interpreter's ABI wherever it is installed: what provenance
# records. Paths and binary/header hashes differ between two builds of one CPython
# version (pyenv vs a distribution's), so they stay in the host's part of the record.
ABI_FACTS = ("implementation", "version", "EXT_SUFFIX", "SOABI", "Py_GIL_DISABLED")


@dataclass(frozen=True)
class InterpreterRequest:
    address: Address


def host_machine() -> str:
    """This host's CPU as target triplets name it (`x86_64`, `aarch64`)."""
    machine = _platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


@dataclass(frozen=True)
class CrossTarget:
    """What a build for another architecture needs beside the build interpreter: the
    target's headers, sysconfig data and pkg-config file, under `root` in `digest`."""

    digest: Digest
    root: str  # relative to the sandbox root
    triplet: str  # e.g. aarch64-linux-gnu
    wheel_platform: str  # e.g. manylinux_aarch64, as in `meson_wheel.platform`
    sysconfig_name: str  # e.g. _sysconfigdata__linux_aarch64-linux-gnu
    # The Debian packages the target's headers and sysconfig data come from (SBOM).
    header_packages: tuple[FrozenDict, ...] = ()
    # Debian packages of a root file system with the interpreter, for emulated tests.
    test_packages: tuple[FrozenDict, ...] = ()
    # Debian packages with a static qemu-user for the tests; empty: the host's qemu.
    emulator_packages: tuple[FrozenDict, ...] = ()
    # A CPython built in the graph (`source_cpython`): its installed tree, at the top of this
    # digest, and its interpreter's path there. For this host's CPU the tests of its wheels
    # run it natively (its C library's loader is in the root), not under qemu.
    interpreter_tree: Digest | None = None
    interpreter_path: str = ""

    @property
    def cpu(self) -> str:
        return self.triplet.split("-", 1)[0]

    def runs_natively_on(self, machine: str) -> bool:
        """Whether its interpreter runs on a host of CPU `machine` without an emulator: a
        tree built in the graph for that CPU (another C library, e.g. musl)."""
        return self.interpreter_tree is not None and self.cpu == machine

    @property
    def build_env_lines(self) -> str:
        """Shell lines of a build script (`$ROOT` set) that show the build interpreter the
        target's sysconfig data, so meson-python tags the wheel for the target."""
        return (
            f"export _PYTHON_HOST_PLATFORM=linux-{self.cpu} _PYTHON_SYSCONFIGDATA_NAME={self.sysconfig_name} "
            f'PYTHONPATH="$ROOT/{self.root}/sysconfig"\n'
            f'export PKG_CONFIG_LIBDIR="$PKG_CONFIG_LIBDIR:$ROOT/{self.root}/pkgconfig" '
            f'PKG_CONFIG_PATH="$PKG_CONFIG_PATH:$ROOT/{self.root}/pkgconfig"\n'
        )


@dataclass(frozen=True)
class Interpreter:
    """A fingerprinted CPython: where it is, what it is, and the sha256 over those facts.

    For a target interpreter of another architecture, `path` is the build interpreter that
    runs the build tools and `cross` holds the target's files; the facts are the target's.
    For an interpreter in a root file system, `path` is its path inside that root.
    """

    address: Address
    version: str  # MAJOR.MINOR, as in `meson_wheel.python`
    facts: FrozenDict[str, str]
    cross: CrossTarget | None = None
    # Debian packages of the root file system this interpreter runs in (`path` is inside
    # it): every process that runs it enters that root.
    root_packages: tuple[FrozenDict, ...] = ()

    @property
    def path(self) -> str:
        return self.facts["path"]

    @property
    def runner_version(self) -> str:
        """The exact version of the interpreter at `path`, which runs the build tools: the
        build interpreter's for a target interpreter of another architecture."""
        return self.facts.get("build_version", self.facts["version"])

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.facts)

    @property
    def abi_facts(self) -> dict[str, str]:
        return {k: self.facts[k] for k in ABI_FACTS if k in self.facts}

    @property
    def abi_digest(self) -> str:
        """sha256 over the machine-independent facts (`ABI_FACTS`)."""
        return fingerprint_of(self.abi_facts)

    @property
    def host_facts(self) -> dict[str, str]:
        return {k: v for k, v in self.facts.items() if k not in ABI_FACTS}

    @property
    def env(self) -> dict[str, str]:
        """Process environment that keys results on this exact interpreter."""
        return {"CPYTHON_FINGERPRINT": f"{self.facts['version']} {self.fingerprint}"}


def build_side_facts(build: Interpreter) -> dict[str, str]:
    """The facts a cross build's interpreter records of the build interpreter that runs its
    tools: where it is, its fingerprint and version, and (when it runs in a root file
    system) its own triplet, since its tool venvs take wheels for that architecture."""
    return {
        "path": build.path,
        "build_interpreter": build.fingerprint,
        "build_version": build.facts["version"],
        **({"build_triplet": build.facts["target_triplet"]} if build.root_packages else {}),
    }


@union(in_scope_types=[EnvironmentName])
@dataclass(frozen=True)
class InterpreterFieldSet(FieldSet):
    """A kind of target that supplies a fingerprinted interpreter."""


@dataclass(frozen=True)
class HostCPythonFieldSet(InterpreterFieldSet):
    required_fields = (CPythonVersionField, CPythonSearchPathField)

    version: CPythonVersionField
    exact_version: CPythonExactVersionField
    search_path: CPythonSearchPathField


def is_interpreter(target: Target) -> bool:
    """Whether a target supplies an interpreter (a `host_cpython`, `debian_cpython` or
    `source_cpython`)."""
    return target.has_field(CPythonVersionField)


@rule(desc="Find and fingerprint an interpreter", level=LogLevel.DEBUG)
async def resolve_interpreter(
    request: InterpreterRequest, union_membership: UnionMembership
) -> Interpreter:
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(request.address, description_of_origin="an `interpreter` field"),
    )
    for member in union_membership.get(InterpreterFieldSet):
        if member.is_applicable(wrapped.target):
            return await Get(Interpreter, InterpreterFieldSet, member.create(wrapped.target))
    raise InterpreterError(
        f"{request.address} (a `{wrapped.target.alias}` target) is not an interpreter: "
        "use a `host_cpython`, `debian_cpython` or `source_cpython` target."
    )


@rule(desc="Fingerprint a host CPython", level=LogLevel.DEBUG)
async def host_cpython_interpreter(field_set: HostCPythonFieldSet, bash: BashBinary) -> Interpreter:
    version, exact = field_set.version.value, field_set.exact_version.value
    host_env = await Get(EnvironmentVars, EnvironmentVarsRequest(("PATH", "PYENV_ROOT", "HOME")))
    result = await Get(
        FallibleProcessResult,
        Process(
            argv=(bash.path, *probe_command(version, exact, tuple(field_set.search_path.value))),
            input_digest=await Get(Digest, CreateDigest([])),
            env=probe_env(host_env),
            description=f"Fingerprint CPython {version} ({field_set.address})",
            # Re-read the host on every run; downstream caching keys on the fingerprint.
            cache_scope=ProcessCacheScope.PER_SESSION,
            level=LogLevel.DEBUG,
        ),
    )
    if result.exit_code != 0:
        raise InterpreterError(
            probe_error(field_set.address, version, exact, result.exit_code, result.stderr.decode())
        )
    facts = json.loads(result.stdout)
    return Interpreter(field_set.address, version, FrozenDict(facts))


def rules():
    return [*collect_rules(), UnionRule(InterpreterFieldSet, HostCPythonFieldSet)]
