"""Options of how wheels are built: the fixed build root and the isolation mode."""

from __future__ import annotations

from enum import Enum

from pants.option.option_types import EnumOption, StrOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import softwrap


class IsolationMode(Enum):
    strict = "strict"
    best_effort = "best-effort"


class MesonWheelSubsystem(Subsystem):
    options_scope = "meson-build"
    help = "How `meson_wheel` targets are built."

    fixed_build_root = StrOption(
        default="/mnt",
        help=softwrap(
            """
            An existing directory that each build's sandbox is bind-mounted onto, inside a
            private mount namespace (`unshare --mount`), so that every path the build records
            (in `__config__.py`, Cython's generated C, debug strings) is the same on every
            machine and every run.
            """
        ),
    )
    host_interpreter = StrOption(
        default="//3rdparty/python:cpython-3.9",
        help=softwrap(
            """
            The host CPython target (a `host_cpython`) that runs the build's own small
            standard-library helpers on the host, such as unpacking a root file system from
            Debian packages. It is fingerprinted like every interpreter.
            """
        ),
    )
    rebuild_salt = StrOption(
        default="",
        help=softwrap(
            """
            Any text, added to the cache key of every wheel build process and of nothing
            else. Changing it builds the wheels again while every other cached step stays
            cached (the toolchain, the tool venvs, the interpreter probes, and the repair and
            SBOM when the build gives the same bytes): to time a build alone (the benchmark
            does), or to build again a wheel whose cached result you doubt. Empty, the
            default, adds nothing.
            """
        ),
    )
    isolation = EnumOption(
        default=IsolationMode.strict,
        help=softwrap(
            """
            `strict`: every build, repair and wheel-test process runs in private mount and
            network namespaces (the fixed build root, no network); a host that refuses them
            stops the build with a message naming the kernel setting. `best-effort`: on such
            a host, run without them. The mode a build actually ran in is part of its cache
            key and its provenance, and a `release_set` refuses artifacts built without
            isolation.
            """
        ),
    )
