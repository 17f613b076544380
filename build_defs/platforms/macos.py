"""macOS wheels: `delocate-wheel`, which bundles the dylibs an extension links into
`<package>/.dylibs/` and rewrites install names, refusing libraries of another architecture."""

from __future__ import annotations

from build_defs.platforms.bundled_libraries import in_dylibs_dir
from build_defs.platforms.wheel_platform import RepairCommand, RepairTool, WheelPlatform

# delocate's names for the architecture of each macOS wheel platform.
_ARCHS = {"macosx_arm64": "arm64", "macosx_x86_64": "x86_64"}


def delocate_script(cmd: RepairCommand) -> str:
    if cmd.platform not in _ARCHS:
        raise ValueError(f"delocate repairs macOS wheels only, not {cmd.platform}")
    if cmd.policy:
        raise ValueError(
            f"`repair_policy` ({cmd.policy}) is an auditwheel policy; a macOS wheel's tag comes from "
            "MACOSX_DEPLOYMENT_TARGET in its `build_env`."
        )
    return (
        f'export DYLD_LIBRARY_PATH="{cmd.library_path}"\n'
        f'"$TOOL_PREFIX/bin/delocate-wheel" --require-archs {_ARCHS[cmd.platform]} '
        f'-w "$ROOT/{cmd.out_dir}" -v "$ROOT/{cmd.wheel}"\n'
    )


DELOCATE = RepairTool(name="delocate", script=delocate_script, is_bundled=in_dylibs_dir)

# GitHub's macOS runner of each architecture.
_RUNNERS = {"macosx_arm64": "macos-14", "macosx_x86_64": "macos-15-intel"}

PLATFORMS = tuple(
    WheelPlatform(
        name=name, system="Darwin", machine=arch, repair_tool=DELOCATE, runner=_RUNNERS[name]
    )
    for name, arch in _ARCHS.items()
)


def host_platform_name(machine: str) -> str:
    return f"macosx_{'arm64' if machine in ('arm64', 'aarch64') else machine}"
