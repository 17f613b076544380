"""Options of the build_defs plugin."""

from __future__ import annotations

from pants.option.option_types import BoolOption, SkipOption, StrOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import softwrap


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
    isolate_network = BoolOption(
        default=True,
        help=softwrap(
            """
            Run each wheel test inside a new network namespace (`unshare -n`), so a test
            that reaches for the network fails. Where the kernel forbids namespaces the test
            runs anyway and says so in its output.
            """
        ),
    )


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
            machine and every run. Where the kernel forbids mount namespaces the build runs
            in place, says so, and its outputs embed the random sandbox path.
            """
        ),
    )
