"""Options of the build_defs plugin."""

from __future__ import annotations

from enum import Enum

from pants.option.option_types import EnumOption, SkipOption, StrOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import softwrap


class IsolationMode(Enum):
    strict = "strict"
    best_effort = "best-effort"


class ArtifactStore(Subsystem):
    options_scope = "artifact-store"
    help = softwrap(
        """
        The content-addressed store that `./pants` fills and verifies before Pants starts
        (see `build_defs/bootstrap/store.py`). Rules read pinned files (source archives,
        native library wheels) from its `files/` directory and Pants checks each one's
        sha256 and size again as it enters the build.
        """
    )

    root = StrOption(
        default=None,
        help="Directory of the store; `./pants` exports it as NUMPY_RELEASE_STORE.",
    )


class WheelTestSubsystem(Subsystem):
    options_scope = "wheel-tests"
    name = "wheel tests"
    help = "Tests that install a built wheel into a fresh virtualenv and run checks against it."

    skip = SkipOption("test")


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
