"""Sandbox isolation that fails closed: a private mount namespace for the fixed build root
and a private network namespace for every build, repair and test process.

A probe runs once per Pants run and asks the kernel whether it will create those
namespaces. In the default `strict` mode a refusal stops the build with a message naming
the kernel settings and the opt-out. With `[meson-build].isolation = "best-effort"` the
build runs without them; the mode it actually ran in is part of every process's cache key
(`BUILD_ISOLATION`) and of the provenance, and release sets refuse such artifacts.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from textwrap import dedent

from pants.core.util_rules.system_binaries import BashBinary
from pants.engine.fs import CreateDigest, Digest, FileContent
from pants.engine.internals.selectors import Get
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.engine.rules import collect_rules, rule
from pants.util.logging import LogLevel

from build_defs.wheels.root_fs import enter_root_script
from build_defs.wheels.subsystem import MesonWheelSubsystem

ISOLATED = "isolated"
BEST_EFFORT = "best-effort"

# Runs the same `unshare` calls the build scripts make, so a "yes" here means they work.
_PROBE_SCRIPT = """\
export PATH=/usr/bin:/bin LC_ALL=C
if [ "$(uname -s)" = Darwin ]; then echo "$MACOS_REFUSAL"; exit 0; fi
if [ "$EUID" = 0 ]; then USERNS=(); else USERNS=(--map-root-user); fi
if [ ! -x /usr/bin/unshare ]; then echo "no /usr/bin/unshare on this host"; exit 0; fi
if ! out="$(/usr/bin/unshare --mount "${USERNS[@]}" /bin/true 2>&1)"; then
  echo "mount namespace refused: ${out}"
fi
if ! out="$(/usr/bin/unshare --net "${USERNS[@]}" /bin/true 2>&1)"; then
  echo "network namespace refused: ${out}"
fi
if [ ! -d "$1" ]; then echo "the fixed build root $1 is not a directory"; fi
"""


# What the probe reports on macOS, where the kernel has no such namespaces.
MACOS_REFUSAL = (
    "macOS has no mount or network namespaces, and this repository has no macOS sandbox yet"
)


@dataclass(frozen=True)
class Isolation:
    """How this Pants run isolates build, repair and test processes."""

    mode: str  # the configured mode: strict | best-effort
    effective: str  # "isolated", or "best-effort: <what the host refused>"
    fixed_root: str

    @property
    def isolated(self) -> bool:
        return self.effective == ISOLATED

    @property
    def env(self) -> dict[str, str]:
        """Process environment that keys every cached result on the isolation it ran in."""
        return {"BUILD_ISOLATION": self.effective}

    def wrap(self, script_name: str, *, fixed_root: bool, in_root: bool = False) -> str:
        """Shell lines that re-run `script_name` inside fresh mount/network namespaces.

        With `fixed_root`, the sandbox is bind-mounted onto the fixed build root first, so
        every path the build records is the same on every machine. With `in_root`, the
        script runs inside the root file system the process takes as an input
        (`root_fs.py`), with the sandbox at the fixed build root there. Without isolation
        (the best-effort opt-out on a host that refuses namespaces) the script runs in
        place, except in a root file system, which cannot be entered without them.
        """
        if not self.isolated:
            if in_root:
                return (
                    f'echo "isolation: {self.effective}; this process runs in a root file system, '
                    'which needs mount and PID namespaces: refusing to run" >&2\nexit 70\n'
                )
            return f'echo "isolation: {self.effective}" >&2\n'
        root = shlex.quote(self.fixed_root)
        if in_root:
            return dedent(
                f"""\
                if [ -z "${{IN_ISOLATION:-}}" ]; then
                  if [ "$EUID" = 0 ]; then USERNS=(); else USERNS=(--map-root-user); fi
                  exec /usr/bin/unshare --mount --net --pid --fork "${{USERNS[@]}}" /usr/bin/env IN_ISOLATION=1 \\
                    /bin/bash -c {shlex.quote(enter_root_script(self.fixed_root))} _ {shlex.quote(script_name)}
                  echo "isolation: could not enter the namespaces (see above); refusing to run without them" >&2
                  exit 70
                fi
                """
            )
        if fixed_root:
            inner = '/bin/mount --bind "$1" "$2" && cd "$2" && exec /bin/bash "$3"'
            namespaces = "--mount --net"
        else:
            inner = 'cd "$1" && exec /bin/bash "$3"'
            namespaces = "--net"
        return dedent(
            f"""\
            if [ -z "${{IN_ISOLATION:-}}" ]; then
              if [ "$EUID" = 0 ]; then USERNS=(); else USERNS=(--map-root-user); fi
              exec /usr/bin/unshare {namespaces} "${{USERNS[@]}}" /usr/bin/env IN_ISOLATION=1 /bin/bash -c \\
                {shlex.quote(inner)} _ "$PWD" {root} {shlex.quote(script_name)}
              echo "isolation: could not enter the namespaces (see above); refusing to run without them" >&2
              exit 70
            fi
            """
        )


# Every process: files readable by all whatever the caller's umask, and no package index.
_PROCESS_PRELUDE = """\
set -euo pipefail
umask 022
export PIP_NO_INDEX=1 PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1
"""


def process_script(
    script_name: str,
    isolation: Isolation,
    body: str,
    *,
    fixed_root: bool,
    in_root: bool = False,
    before_isolation: str = "",
) -> str:
    """A process script: the prelude, `before_isolation` (on the host, in the sandbox, once),
    entry into the isolation namespaces (and the root file system, `in_root`), then `body`."""
    wrap = isolation.wrap(script_name, fixed_root=fixed_root, in_root=in_root)
    host = (
        f'if [ -z "${{IN_ISOLATION:-}}" ]; then\n{before_isolation}fi\n' if before_isolation else ""
    )
    return _PROCESS_PRELUDE + host + wrap + 'ROOT="$PWD"\n' + dedent(body)


class IsolationError(Exception):
    pass


def refusal_message(refused: str) -> str:
    opt_out = (
        '  ./pants --meson-build-isolation=best-effort ...   (or [meson-build] isolation = "best-effort")\n'
        "Artifacts built that way record it in their provenance, and release sets refuse them."
    )
    if MACOS_REFUSAL in refused:
        return (
            f"This host cannot give builds the sandbox isolation they need: {refused}.\n"
            "Builds stop rather than run unisolated. A build that must not be released can opt out:\n"
            + opt_out
        )
    return (
        f"This host refuses the sandbox isolation every build needs ({refused}).\n"
        "Builds run each process in a private mount namespace (for the fixed build root) and "
        "a private network namespace (no network), and stop rather than run without them.\n"
        "Fix the host: allow unprivileged user namespaces, e.g.\n"
        "  sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0   (Ubuntu 23.10+, GitHub's ubuntu-24.04 runners)\n"
        "  sudo sysctl -w kernel.unprivileged_userns_clone=1               (Debian kernels before 5.10 and others)\n"
        "or, for a build that must not be released, opt out explicitly:\n" + opt_out
    )


@rule(desc="Probe the sandbox isolation this host allows", level=LogLevel.DEBUG)
async def probe_isolation(settings: MesonWheelSubsystem, bash: BashBinary) -> Isolation:
    script = await Get(
        Digest, CreateDigest([FileContent("probe_isolation.sh", _PROBE_SCRIPT.encode())])
    )
    result = await Get(
        FallibleProcessResult,
        Process(
            argv=(bash.path, "probe_isolation.sh", settings.fixed_build_root),
            input_digest=script,
            env={"MACOS_REFUSAL": MACOS_REFUSAL},
            description="Probe mount and network namespaces",
            # The host can change between runs (a sysctl, a seccomp profile): ask every run.
            cache_scope=ProcessCacheScope.PER_SESSION,
            level=LogLevel.DEBUG,
        ),
    )
    problems = result.stdout.decode().strip()
    if result.exit_code != 0:
        problems = f"the probe failed: {result.stderr.decode().strip()}"
    mode = settings.isolation.value
    if not problems:
        return Isolation(mode, ISOLATED, settings.fixed_build_root)
    refused = "; ".join(problems.splitlines())
    if mode != BEST_EFFORT:
        raise IsolationError(refusal_message(refused))
    return Isolation(mode, f"{BEST_EFFORT}: {refused}", settings.fixed_build_root)


def rules():
    return collect_rules()
