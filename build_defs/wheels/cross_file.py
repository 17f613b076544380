"""The meson cross file of a cross-compiled wheel, written from its toolchain and target.

meson cannot run the target's test programs on the build host, so the cross file tells it
the target machine, the toolchain's programs, and the `[properties]` a project would
otherwise find by running code (data on the wheel target: `cross_properties`).
"""

from __future__ import annotations

from typing import Mapping

# The CPU of a target triple -> meson's (cpu_family, endian).
MESON_CPU_FAMILIES = {
    "x86_64": ("x86_64", "little"),
    "aarch64": ("aarch64", "little"),
    "riscv64": ("riscv64", "little"),
    "powerpc64le": ("ppc64", "little"),
    "s390x": ("s390x", "big"),
}
# The cross file lies at the sandbox root; meson replaces @DIRNAME@ with its directory.
CROSS_FILE = "meson-cross.ini"


class CrossBuildError(Exception):
    pass


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def meson_cross_file(cpu: str, binaries: Mapping[str, str], properties: Mapping[str, str]) -> str:
    """A cross file for a Linux target with CPU `cpu`; `binaries` are meson's names
    (`c`, `cpp`, `ar`, ...) to paths relative to the sandbox root, or absolute ones (a program
    of the root file system the build runs in)."""
    if cpu not in MESON_CPU_FAMILIES:
        raise CrossBuildError(
            f"no meson CPU family is known for {cpu!r} (known: {sorted(MESON_CPU_FAMILIES)})"
        )
    family, endian = MESON_CPU_FAMILIES[cpu]
    lines = ["[binaries]"]
    # Relative paths are the sandbox's (beside the cross file); absolute ones stay as given.
    lines += [
        f"{name} = {_quoted(path if path.startswith('/') else '@DIRNAME@/' + path)}"
        for name, path in sorted(binaries.items())
    ]
    lines += [
        "",
        "[host_machine]",
        "system = 'linux'",
        f"cpu_family = '{family}'",
        f"cpu = '{cpu}'",
        f"endian = '{endian}'",
        "",
        "[properties]",
    ]
    lines += [f"{key} = {_quoted(value)}" for key, value in sorted(properties.items())]
    return "\n".join(lines) + "\n"


def toolchain_cpu(target: str) -> str:
    """The CPU of a toolchain's target triple (`aarch64-linux-gnu.2.28` -> `aarch64`)."""
    return target.split("-", 1)[0] if target else ""
