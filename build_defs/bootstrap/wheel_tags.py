"""Which declared platform and CPython version a pinned file serves, read from its name.

Standard library only: the store and the launcher use it before any venv exists. A
platform is declared in `3rdparty/artifacts.json` ("platforms"), named as Pants names
them in `[pex-cli].known_versions` (linux_x86_64, linux_arm64, macos_x86_64,
macos_arm64), with the newest glibc or macOS its runners have: a wheel is usable there
when one of its platform tags is at most that new. A Linux platform with `"libc": "musl"`
(e.g. musllinux_x86_64) takes musllinux tags up to its musl version instead: no Pants
runs there, but wheels built for it bundle files pinned for it (OpenBLAS's musl build).
"""

from __future__ import annotations

import platform as _platform
import re
from dataclasses import dataclass

_MANYLINUX_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
# The machine names wheel tags use for each platform's architecture.
_LINUX_ARCH = {"x86_64": ("x86_64",), "arm64": ("aarch64",)}
_MACOS_ARCH = {
    "x86_64": ("x86_64", "intel", "universal", "universal2", "fat64", "fat3"),
    "arm64": ("arm64", "universal2"),
}


@dataclass(frozen=True)
class Platform:
    """One declared platform: `system` (linux|macos), `arch` (x86_64|arm64), `os_max`
    (glibc, musl or macOS version, e.g. (2, 35), (1, 2) or (14, 0)) and, on Linux, `libc`
    (glibc|musl)."""

    name: str
    system: str
    arch: str
    os_max: tuple[int, int]
    libc: str = "glibc"

    @classmethod
    def from_json(cls, name: str, obj: dict) -> "Platform":
        major, minor = (int(p) for p in obj["os_max"].split("."))
        if obj["system"] not in ("linux", "macos") or obj["arch"] not in ("x86_64", "arm64"):
            raise ValueError(f"platform {name}: system must be linux|macos and arch x86_64|arm64")
        libc = obj.get("libc", "glibc")
        if libc not in ("glibc", "musl") or (obj["system"] == "macos" and "libc" in obj):
            raise ValueError(f"platform {name}: libc is glibc or musl, and only for linux")
        return cls(name, obj["system"], obj["arch"], (major, minor), libc)

    def marker_env(self) -> dict[str, str]:
        """The PEP 508 marker variables that name this platform."""
        machine = {
            "linux": {"x86_64": "x86_64", "arm64": "aarch64"},
            "macos": {"x86_64": "x86_64", "arm64": "arm64"},
        }
        return {
            "sys_platform": "darwin" if self.system == "macos" else "linux",
            "platform_system": "Darwin" if self.system == "macos" else "Linux",
            "platform_machine": machine[self.system][self.arch],
        }

    def platform_tag_rank(self, tag: str) -> int | None:
        """None if the tag cannot run here; else a rank (higher is more specific)."""
        if self.system == "linux":
            arch = _LINUX_ARCH[self.arch][0]
            if not tag.endswith("_" + arch):
                return None
            head = tag[: -len(arch) - 1]
            family = "musllinux" if self.libc == "musl" else "manylinux"
            if head in _MANYLINUX_LEGACY and family == "manylinux":
                version = _MANYLINUX_LEGACY[head]
            else:
                m = re.fullmatch(family + r"_(\d+)_(\d+)", head)
                if not m:  # the other libc's tags, linux_<arch>: not for this platform
                    return None
                version = (int(m.group(1)), int(m.group(2)))
            return version[0] * 100 + version[1] if version <= self.os_max else None
        m = re.fullmatch(r"macosx_(\d+)_(\d+)_(\w+)", tag)
        if not m or m.group(3) not in _MACOS_ARCH[self.arch]:
            return None
        version = (int(m.group(1)), int(m.group(2)))
        if version > self.os_max:
            return None
        exact = 10000 if m.group(3) == self.arch else 0
        return exact + version[0] * 100 + version[1]


def parse_wheel(filename: str) -> tuple[list[str], list[str], list[str]] | None:
    """(python tags, abi tags, platform tags) of a wheel file name; None if not a wheel."""
    if not filename.endswith(".whl"):
        return None
    parts = filename[: -len(".whl")].split("-")
    if len(parts) not in (5, 6):
        raise ValueError(f"not a wheel file name: {filename}")
    py, abi, plat = parts[-3:]
    return py.split("."), abi.split("."), plat.split(".")


def python_rank(py_tags: list[str], abi_tags: list[str], version: str) -> int | None:
    """None if no tag pair runs on CPython `version` (e.g. "3.12"); else a rank."""
    major, minor = (int(p) for p in version.split(".")[:2])
    best = None
    for py in py_tags:
        for abi in abi_tags:
            rank = None
            if py == f"cp{major}{minor}" and abi in (f"cp{major}{minor}", "none", "abi3"):
                rank = 3
            elif abi == "abi3" and re.fullmatch(r"cp3(\d+)", py) and int(py[3:]) <= minor:
                rank = 2
            elif abi == "none" and py in (f"py{major}", f"py{major}{minor}"):
                rank = 1
            if rank is not None and (best is None or rank > best):
                best = rank
    return best


def runs_on(filename: str, plat: Platform, python: str | None = None) -> bool:
    """True if the file is usable on `plat` (and on CPython `python`, when given).
    Files that are not wheels (source archives, tools) are usable everywhere."""
    return rank_on(filename, plat, python) is not None


def rank_on(filename: str, plat: Platform, python: str | None = None) -> tuple[int, int] | None:
    parsed = parse_wheel(filename)
    if parsed is None:
        return (0, 0)
    py_tags, abi_tags, plat_tags = parsed
    if python is None:
        py_rank = 0
    else:
        py_rank = python_rank(py_tags, abi_tags, python)
        if py_rank is None:
            return None
    if plat_tags == ["any"]:
        return (py_rank, 0)
    ranks = [r for r in (plat.platform_tag_rank(t) for t in plat_tags) if r is not None]
    return (py_rank, max(ranks)) if ranks else None


def is_platform_specific(filename: str) -> bool:
    parsed = parse_wheel(filename)
    return parsed is not None and parsed[2] != ["any"]


def host_store_platform_name() -> str:
    """The Pants platform name of this host, in the store's vocabulary (`linux_x86_64`), or a
    ValueError saying Pants does not run here."""
    system = {"Linux": "linux", "Darwin": "macos"}.get(_platform.system())
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(
        _platform.machine().lower()
    )
    if not system or not arch:
        raise ValueError(
            f"Pants 2.17 runs on Linux and macOS (x86_64, arm64), not on {_platform.system()} {_platform.machine()}"
        )
    return f"{system}_{arch}"


def host_store_platform() -> Platform:
    """This host as a `Platform`: its system, architecture and glibc or macOS version (a
    ValueError where Pants does not run, or on a Linux without glibc)."""
    name = host_store_platform_name()
    system, arch = name.split("_", 1)
    if system == "linux":
        libc, version = _platform.libc_ver()
        if libc != "glibc":
            raise ValueError(
                f"this Linux host has no glibc ({libc or 'unknown libc'}); manylinux wheels need one"
            )
    else:
        version = _platform.mac_ver()[0]
    major, minor = (int(p) for p in (version.split(".") + ["0"])[:2])
    return Platform(name, system, arch, (major, minor))
