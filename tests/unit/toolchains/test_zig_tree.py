"""The kept zig tree: copied once per pin into zig's cache, compared with the pinned input
before every use, so that zig's runtime-library cache hits across Pants runs while what the
cache holds can never change what is compiled."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from build_defs.bootstrap import wheel_tags
from build_defs.toolchains.zig import _ZIG_TREE_SETUP, ZIG_CACHE, ZIG_DIR, ZIG_PINNED_DIR

SHA = "ab" * 32


def _sandbox(root: Path) -> Path:
    pinned = root / ZIG_PINNED_DIR / "ziglang"
    pinned.mkdir(parents=True)
    (pinned / "zig").write_text("the pinned compiler\n")
    (pinned / "lib").mkdir()
    (pinned / "lib" / "c++.h").write_text("header\n")
    (root / ZIG_CACHE).mkdir(exist_ok=True)
    return root


def _setup(root: Path, prefix: list[str] = [], wait: bool = True):
    """Runs the setup as a build script would (`set -euo pipefail`); without `wait`, returns
    the running process."""
    script = 'set -euo pipefail\nROOT="$1"\n' + _ZIG_TREE_SETUP.format(
        cache=ZIG_CACHE, sha256=SHA, pinned=ZIG_PINNED_DIR, zig_dir=ZIG_DIR, filename="ziglang.whl"
    )
    argv = [*prefix, "/bin/bash", "-c", script, "_", str(root)]
    if wait:
        return subprocess.run(argv, capture_output=True, text=True)
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_tree_is_kept_once_and_reused(tmp_path: Path) -> None:
    first = _sandbox(tmp_path / "run1")
    assert _setup(first).returncode == 0
    kept = first / ZIG_CACHE / "tree" / SHA
    assert os.readlink(first / ZIG_DIR) == str(kept)
    assert (first / ZIG_DIR / "ziglang" / "zig").read_text() == "the pinned compiler\n"
    inode = (kept / "ziglang" / "zig").stat().st_ino
    # The next run shares zig's cache (the same directory) and gets a fresh pinned input.
    second = _sandbox(tmp_path / "run2")
    os.rmdir(second / ZIG_CACHE)
    os.symlink(first / ZIG_CACHE, second / ZIG_CACHE)
    assert _setup(second).returncode == 0
    assert (
        second / ZIG_DIR / "ziglang" / "zig"
    ).stat().st_ino == inode  # the same files: zig's cache hits


def test_a_kept_tree_that_differs_from_the_pin_stops_the_build(tmp_path: Path) -> None:
    root = _sandbox(tmp_path / "run")
    assert _setup(root).returncode == 0
    kept = root / ZIG_CACHE / "tree" / SHA / "ziglang" / "lib" / "c++.h"
    kept.write_text("tampered\n")
    os.unlink(root / ZIG_DIR)
    result = _setup(root)
    assert result.returncode == 72
    assert "differs from the pinned ziglang.whl; delete it and build again" in result.stderr


def test_concurrent_builds_in_their_own_pid_namespaces_keep_one_whole_tree(
    tmp_path: Path,
) -> None:
    # Builds in a root file system each have a PID namespace, so all of them are PID 1:
    # a temporary name from `$$` was shared, and two cold builds copied into one directory.
    sandboxes = [_sandbox(tmp_path / f"run{n}") for n in range(4)]
    lib = sandboxes[0] / ZIG_PINNED_DIR / "ziglang" / "lib"
    for n in range(3000):  # enough files that the copies overlap in time
        (lib / f"h{n}.h").write_text(f"header {n}\n")
    for sandbox in sandboxes[1:]:
        (sandbox / ZIG_PINNED_DIR).rename(sandbox / "unused")
        subprocess.run(["cp", "-a", str(sandboxes[0] / ZIG_PINNED_DIR), str(sandbox)], check=True)
        os.rmdir(sandbox / ZIG_CACHE)
        os.symlink(sandboxes[0] / ZIG_CACHE, sandbox / ZIG_CACHE)
    # As root `unshare --pid` needs nothing more; elsewhere a user namespace grants it.
    pid_namespace = ["unshare", "--pid", "--fork"] + ([] if os.geteuid() == 0 else ["-r"])
    runs = [_setup(sandbox, prefix=pid_namespace, wait=False) for sandbox in sandboxes]
    for run in runs:
        _, stderr = run.communicate()
        assert run.returncode == 0, stderr
    kept = sandboxes[0] / ZIG_CACHE / "tree"
    assert sorted(p.name for p in kept.iterdir()) == [SHA]  # no temporary copy left behind
    assert len(list((kept / SHA / "ziglang" / "lib").iterdir())) == 3001


_ZIG_LINUX_X86_64 = (
    "ziglang-0.17.1-py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.musllinux_1_1_x86_64.whl"
)


def _host(monkeypatch, system: str, machine: str, version: str = "2.36") -> wheel_tags.Platform:
    """`wheel_tags.host_store_platform()` as on another host."""
    monkeypatch.setattr(wheel_tags._platform, "system", lambda: system)
    monkeypatch.setattr(wheel_tags._platform, "machine", lambda: machine)
    monkeypatch.setattr(wheel_tags._platform, "libc_ver", lambda: ("glibc", version))
    monkeypatch.setattr(wheel_tags._platform, "mac_ver", lambda: (version, ("", "", ""), ""))
    return wheel_tags.host_store_platform()


@pytest.mark.parametrize(
    "filename, system, machine, version, runs",
    [
        (_ZIG_LINUX_X86_64, "Linux", "x86_64", "2.36", True),
        (_ZIG_LINUX_X86_64, "Linux", "aarch64", "2.36", False),
        (_ZIG_LINUX_X86_64, "Darwin", "x86_64", "14.5", False),
        (
            "ziglang-0.17.1-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
            "Linux",
            "aarch64",
            "2.36",
            True,
        ),
        # A glibc older than the wheel's floor.
        (
            "ziglang-0.17.1-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
            "Linux",
            "aarch64",
            "2.12",
            False,
        ),
        ("ziglang-0.17.1-py3-none-macosx_11_0_arm64.whl", "Darwin", "arm64", "14.5", True),
    ],
)
def test_a_zig_toolchain_runs_only_where_its_pinned_wheel_does(
    monkeypatch, filename: str, system: str, machine: str, version: str, runs: bool
) -> None:
    # The target of the compiled code is free; the compiler itself is a host program.
    assert wheel_tags.runs_on(filename, _host(monkeypatch, system, machine, version)) is runs


def test_a_host_pants_does_not_run_on_is_named(monkeypatch) -> None:
    with pytest.raises(ValueError, match="Pants 2.17 runs on Linux and macOS"):
        _host(monkeypatch, "Windows", "AMD64")
