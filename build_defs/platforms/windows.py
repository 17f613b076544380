"""Windows wheels: declared so the release matrix is complete, but not buildable here.

Pants 2.17 does not run on Windows and this graph cannot cross-build for it, and no
repair tool (delvewheel) is pinned."""

from __future__ import annotations

from build_defs.platforms.wheel_platform import WheelPlatform

_WHY = "Pants 2.17 does not run on Windows and this graph cannot cross-build for it yet"

_RUNNERS = {"amd64": "windows-2022", "arm64": "windows-11-arm"}

PLATFORMS = tuple(
    WheelPlatform(
        name=f"win_{machine}",
        system="Windows",
        machine=machine,
        repair_tool=None,
        runner=_RUNNERS[machine],
        unsupported=_WHY,
    )
    for machine in ("amd64", "arm64")
)


def host_platform_name(machine: str) -> str:
    return "win_arm64" if machine in ("arm64", "aarch64") else "win_amd64"
