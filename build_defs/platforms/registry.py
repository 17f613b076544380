"""The wheel platforms this graph knows, and which one this host is.

Each family of platforms is one module (`linux.py`, `macos.py`, `windows.py`) filling in
`WheelPlatform`; this module only collects them and answers by name. A wheel's repair tool
follows the wheel's platform, never the host's.
"""

from __future__ import annotations

import platform as _platform

from build_defs.platforms import linux, macos, windows
from build_defs.platforms.wheel_platform import RepairTool, WheelPlatform

_ALL: dict[str, WheelPlatform] = {
    p.name: p for p in (*linux.PLATFORMS, *macos.PLATFORMS, *windows.PLATFORMS)
}

KNOWN_PLATFORMS = tuple(_ALL)
"""The values `meson_wheel.platform` accepts."""


class UnsupportedPlatformError(Exception):
    pass


def wheel_platform(name: str) -> WheelPlatform:
    try:
        return _ALL[name]
    except KeyError:
        raise UnsupportedPlatformError(
            f"unknown wheel platform {name!r}; known: {', '.join(KNOWN_PLATFORMS)}"
        ) from None


def repair_tool_for(name: str) -> RepairTool:
    """The repair tool for wheels of platform `name` (a `meson_wheel` `platform` value)."""
    found = wheel_platform(name)
    if found.repair_tool is None:
        raise UnsupportedPlatformError(
            f"no repair tool is declared for {name} wheels (Windows would need delvewheel, "
            "which this graph does not pin: Pants 2.17 does not run there)."
        )
    return found.repair_tool


def runner_for(platform: str | None, declared: str | None = None) -> str | None:
    """The CI runner that builds a wheel: the one it declares, else its platform's."""
    if declared or not platform:
        return declared
    return wheel_platform(platform).runner


def host_wheel_platform() -> str:
    """This machine's wheel platform, in the terms of `meson_wheel.platform`
    (e.g. `manylinux_x86_64`); see `bootstrap/wheel_tags.host_store_platform` for the
    store's vocabulary."""
    system, machine = _platform.system(), _platform.machine().lower()
    if system == "Linux":
        return linux.host_platform_name(machine, _platform.libc_ver()[0])
    if system == "Darwin":
        return macos.host_platform_name(machine)
    if system == "Windows":
        return windows.host_platform_name(machine)
    return f"{system.lower()}_{machine}"
