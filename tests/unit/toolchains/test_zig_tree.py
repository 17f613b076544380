"""The kept zig tree: unpacked once per pin into zig's cache, checked against the pinned
wheel's RECORD before every use, so that zig's runtime-library cache hits across Pants runs
while what the cache holds can never change what is compiled."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from build_defs.bootstrap import wheel_tags
from build_defs.toolchains.zig import (
    _ZIG_TREE_SETUP,
    _ZIG_TREE_UNPACK,
    ZIG_CACHE,
    ZIG_DIR,
    ZIG_MANIFEST,
    ZIG_PINNED_DIR,
    kept_tree_manifest,
)

SHA = "ab" * 32
WHEEL = "ziglang-0.0-py3-none-any.whl"


def _wheel(files: dict[str, str]) -> tuple[bytes, str]:
    """A wheel holding `files` (`ziglang/zig` executable) and its RECORD."""
    record = []
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path, text in files.items():
            info = zipfile.ZipInfo(path)
            info.external_attr = (0o755 if path.endswith("/zig") else 0o644) << 16
            zf.writestr(info, text)
            digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
            record.append(f"{path},sha256={digest.decode()},{len(text)}\n")
        record.append("ziglang-0.0.dist-info/RECORD,,\n")
        zf.writestr("ziglang-0.0.dist-info/RECORD", "".join(record))
    return buf.getvalue(), "".join(record)


FILES = {"ziglang/zig": "the pinned compiler\n", "ziglang/lib/c++.h": "header\n"}


def _sandbox(root: Path, files: dict[str, str] = FILES) -> Path:
    """A process sandbox as a build gets it: the wheel, the manifest, zig's cache."""
    wheel, record = _wheel(files)
    (root / ZIG_PINNED_DIR).mkdir(parents=True)
    (root / ZIG_PINNED_DIR / WHEEL).write_bytes(wheel)
    parts, inodes = kept_tree_manifest(record)
    (root / ZIG_MANIFEST).parent.mkdir(parents=True)
    for n, part in enumerate(parts, 1):
        Path(f"{root / ZIG_MANIFEST}.{n}.sha256").write_text(part)
    (root / ZIG_CACHE).mkdir(exist_ok=True)
    (root / "inodes").write_text(str(inodes))
    return root


def _setup(root: Path, prefix: list[str] = [], wait: bool = True, jobs: str = "2"):
    """Runs the unpacking and the setup as a process script does (`set -euo pipefail`, the
    unpacking in the sandbox before the isolation, the setup after it); without `wait`,
    returns the running process."""
    fields = dict(cache=ZIG_CACHE, sha256=SHA, filename=WHEEL)
    script = (
        'set -euo pipefail\ncd "$1"\n'
        + _ZIG_TREE_UNPACK.format(pinned=ZIG_PINNED_DIR, **fields)
        + 'ROOT="$PWD"\n'
        + _ZIG_TREE_SETUP.format(
            manifest=ZIG_MANIFEST,
            inodes=(root / "inodes").read_text(),
            zig_dir=ZIG_DIR,
            **fields,
        )
    )
    argv = [*prefix, "/bin/bash", "-c", script, "_", str(root)]
    if wait:
        return subprocess.run(argv, capture_output=True, text=True, env={"JOBS": jobs})
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _shared_cache(first: Path, other: Path) -> None:
    os.rmdir(other / ZIG_CACHE)
    os.symlink(first / ZIG_CACHE, other / ZIG_CACHE)


def test_the_tree_is_unpacked_once_and_reused(tmp_path: Path) -> None:
    first = _sandbox(tmp_path / "run1")
    result = _setup(first)
    assert result.returncode == 0, result.stderr
    kept = first / ZIG_CACHE / "tree" / SHA
    assert os.readlink(first / ZIG_DIR) == str(kept)
    assert (first / ZIG_DIR / "ziglang" / "zig").read_text() == "the pinned compiler\n"
    assert os.access(first / ZIG_DIR / "ziglang" / "zig", os.X_OK)
    inode = (kept / "ziglang" / "zig").stat().st_ino
    # The next run shares zig's cache (the same directory) and gets a fresh pinned wheel.
    second = _sandbox(tmp_path / "run2")
    _shared_cache(first, second)
    assert _setup(second).returncode == 0
    assert (
        second / ZIG_DIR / "ziglang" / "zig"
    ).stat().st_ino == inode  # the same files: zig's cache hits


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_kept_file_that_differs_from_the_pin_stops_the_build(tmp_path: Path, jobs) -> None:
    root = _sandbox(tmp_path / "run")
    assert _setup(root).returncode == 0
    (root / ZIG_CACHE / "tree" / SHA / "ziglang" / "lib" / "c++.h").write_text("tampered\n")
    os.unlink(root / ZIG_DIR)
    result = _setup(root, jobs=jobs)
    assert result.returncode == 72
    assert "c++.h: FAILED" in result.stderr
    assert f"differs from the pinned {WHEEL}; delete it and build again" in result.stderr
    assert not (root / ZIG_DIR).exists()


def test_a_file_added_to_the_kept_tree_stops_the_build(tmp_path: Path) -> None:
    # A header added beside zig's own could shadow one of them: every file counts.
    root = _sandbox(tmp_path / "run")
    assert _setup(root).returncode == 0
    (root / ZIG_CACHE / "tree" / SHA / "ziglang" / "lib" / "extra.h").write_text("#define X\n")
    os.unlink(root / ZIG_DIR)
    result = _setup(root)
    assert result.returncode == 72
    assert "has other files than the pinned" in result.stderr


def test_concurrent_builds_in_their_own_pid_namespaces_keep_one_whole_tree(
    tmp_path: Path,
) -> None:
    # Builds in a root file system each have a PID namespace, so all of them are PID 1:
    # a temporary name from `$$` was shared, and two cold builds unpacked into one directory.
    files = {**FILES, **{f"ziglang/lib/h{n}.h": f"header {n}\n" for n in range(3000)}}
    sandboxes = [_sandbox(tmp_path / f"run{n}", files) for n in range(4)]
    for sandbox in sandboxes[1:]:
        _shared_cache(sandboxes[0], sandbox)
    # As root `unshare --pid` needs nothing more; elsewhere a user namespace grants it.
    pid_namespace = ["unshare", "--pid", "--fork"] + ([] if os.geteuid() == 0 else ["-r"])
    runs = [_setup(sandbox, prefix=pid_namespace, wait=False) for sandbox in sandboxes]
    for run in runs:
        _, stderr = run.communicate()
        assert run.returncode == 0, stderr
    kept = sandboxes[0] / ZIG_CACHE / "tree"
    assert sorted(p.name for p in kept.iterdir()) == [SHA]  # no temporary copy left behind
    assert len(list((kept / SHA / "ziglang" / "lib").iterdir())) == 3001


def test_the_manifest_splits_the_bytes_and_counts_every_entry() -> None:
    _, record = _wheel(
        {"ziglang/zig": "z" * 1000, "ziglang/a": "a" * 600, "ziglang/b/c": "c" * 500}
    )
    parts, inodes = kept_tree_manifest(record)
    assert [p.count("\n") for p in parts] == [1, 2]  # zig alone; the two smaller together
    assert "  ./ziglang/b/c\n" in parts[1]
    # top, ziglang, ziglang/b, ziglang-0.0.dist-info, 3 files, RECORD, .complete
    assert inodes == 9


@pytest.mark.parametrize("path", ["../escape", "/etc/passwd", "ziglang/../../x"])
def test_a_record_naming_a_path_outside_the_tree_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="may not hold"):
        kept_tree_manifest(f"{path},sha256=AAAA,1\n")


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
