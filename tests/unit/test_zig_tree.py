"""The kept zig tree: copied once per pin into zig's cache, compared with the pinned input
before every use, so that zig's runtime-library cache hits across Pants runs while what the
cache holds can never change what is compiled."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

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


def _setup(root: Path) -> subprocess.CompletedProcess:
    script = 'set -eu\nROOT="$1"\n' + _ZIG_TREE_SETUP.format(
        cache=ZIG_CACHE, sha256=SHA, pinned=ZIG_PINNED_DIR, zig_dir=ZIG_DIR, filename="ziglang.whl"
    )
    return subprocess.run(["/bin/bash", "-c", script, "_", str(root)], capture_output=True, text=True)


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
    assert (second / ZIG_DIR / "ziglang" / "zig").stat().st_ino == inode  # the same files: zig's cache hits


def test_a_kept_tree_that_differs_from_the_pin_stops_the_build(tmp_path: Path) -> None:
    root = _sandbox(tmp_path / "run")
    assert _setup(root).returncode == 0
    kept = root / ZIG_CACHE / "tree" / SHA / "ziglang" / "lib" / "c++.h"
    kept.write_text("tampered\n")
    os.unlink(root / ZIG_DIR)
    result = _setup(root)
    assert result.returncode == 72
    assert "differs from the pinned ziglang.whl; delete it and build again" in result.stderr
