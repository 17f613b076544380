"""The typed interface every wheel platform module (`linux.py`, `macos.py`, `windows.py`)
fills in: what a platform is called, what it runs on, and which tool repairs its wheels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class RepairCommand:
    """What a repair process runs, given the wheel and where its native libraries are."""

    wheel: str  # sandbox-relative path of the unrepaired wheel
    out_dir: str  # sandbox-relative directory the repaired wheel goes to
    platform: str  # the wheel's platform, e.g. `macosx_arm64`
    policy: str | None  # a platform policy (auditwheel's `--plat`), when the target sets one
    library_dirs: tuple[str, ...]  # sandbox-relative directories of the declared native libraries

    @property
    def library_path(self) -> str:
        """The native libraries' directories as a search path, for the tool to find them in."""
        return ":".join(f"$ROOT/{d}" for d in self.library_dirs)


@dataclass(frozen=True)
class RepairTool:
    """One repair tool: its name, the shell lines that run it, and where it bundles libraries."""

    name: str
    script: Callable[[RepairCommand], str]
    # Whether a path inside a repaired wheel is a library the tool bundled.
    is_bundled: Callable[[str], bool]


@dataclass(frozen=True)
class WheelPlatform:
    """One wheel platform, as `meson_wheel.platform` names it (e.g. `manylinux_x86_64`)."""

    name: str
    system: str  # what `platform.system()` says on a host of this platform
    machine: str  # the machine part of the name (`x86_64`, `aarch64`, `arm64`, `amd64`)
    # None where this graph pins no repair tool; `unsupported` then says why.
    repair_tool: RepairTool | None
    # The CI runner its wheels are built on when a `meson_wheel` names none (`runner`).
    runner: str
    # Why wheels of this platform are declared but cannot be built by this repository.
    unsupported: str | None = None
