"""Linux wheels (manylinux, musllinux): `auditwheel repair`, which bundles the libraries
an extension links into the top-level `<dist>.libs/` directory, renamed with a hash.

Adding a Linux platform (a libc or a machine) is one entry in `PLATFORMS`."""

from __future__ import annotations

import shlex

from build_defs.platforms.bundled_libraries import in_libs_dir
from build_defs.platforms.wheel_platform import RepairCommand, RepairTool, WheelPlatform

# auditwheel reads the architecture from the wheel, except for the list of `--plat` values
# its command line accepts, which it takes from the host (`platform.machine()`): on an
# x86_64 host it refuses `--plat manylinux_2_28_aarch64`. So it runs with the machine
# reported as the wheel's own, which is what it would see on that platform's runner.
_AS_WHEEL_MACHINE = (
    "import platform, sys; machine = sys.argv.pop(1); platform.machine = lambda: machine; "
    "from auditwheel.main import main; sys.exit(main())"
)


def wheel_machine(platform: str) -> str:
    """The machine of a Linux wheel platform (`manylinux_aarch64` -> `aarch64`)."""
    return platform.split("_", 1)[1]


def auditwheel_script(cmd: RepairCommand) -> str:
    plat = f"--plat {shlex.quote(cmd.policy)} " if cmd.policy else ""
    # auditwheel finds the native dependencies' shared libraries here, and nowhere else.
    return (
        f'export LD_LIBRARY_PATH="{cmd.library_path}"\n'
        f'"$TOOL_PREFIX/bin/python" -c {shlex.quote(_AS_WHEEL_MACHINE)} {shlex.quote(wheel_machine(cmd.platform))} '
        f'repair {plat}-w "$ROOT/{cmd.out_dir}" "$ROOT/{cmd.wheel}"\n'
    )


AUDITWHEEL = RepairTool(name="auditwheel", script=auditwheel_script, is_bundled=in_libs_dir)

# GitHub's Linux runner of each machine (for musllinux wheels too: zig or a container).
_RUNNERS = {"x86_64": "ubuntu-24.04", "aarch64": "ubuntu-24.04-arm"}

PLATFORMS = tuple(
    WheelPlatform(
        name=f"{libc}_{machine}",
        system="Linux",
        machine=machine,
        repair_tool=AUDITWHEEL,
        runner=_RUNNERS[machine],
    )
    for libc in ("manylinux", "musllinux")
    for machine in ("x86_64", "aarch64")
)


def host_platform_name(machine: str, libc: str) -> str:
    """The wheel platform of a Linux host: its libc family and machine."""
    family = "manylinux" if libc == "glibc" else "musllinux"
    return f"{family}_{'aarch64' if machine in ('aarch64', 'arm64') else machine}"
