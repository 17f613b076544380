"""Which tool repairs a wheel, chosen by the wheel's platform (never by the host's).

Each platform family is one small module (`auditwheel.py`, `delocate.py`) that says how
its tool is called and where it puts the libraries it bundles; this module only picks.
"""

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


class UnsupportedPlatformError(Exception):
    pass


def repair_tool_for(platform: str) -> RepairTool:
    """The repair tool for wheels of `platform` (a `meson_wheel` `platform` value)."""
    from build_defs.platforms import auditwheel, delocate

    if platform.startswith(("manylinux", "musllinux")):
        return auditwheel.AUDITWHEEL
    if platform.startswith("macosx"):
        return delocate.DELOCATE
    raise UnsupportedPlatformError(
        f"no repair tool is declared for {platform} wheels (Windows would need delvewheel, "
        "which this graph does not pin: Pants 2.17 does not run there)."
    )

