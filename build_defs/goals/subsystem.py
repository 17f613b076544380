"""Options of the `wheel_test` runner."""

from __future__ import annotations

from pants.option.option_types import SkipOption
from pants.option.subsystem import Subsystem


class WheelTestSubsystem(Subsystem):
    options_scope = "wheel-tests"
    name = "wheel tests"
    help = "Tests that install a built wheel into a fresh virtualenv and run checks against it."

    skip = SkipOption("test")
