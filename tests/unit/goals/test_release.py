"""Pure functions behind repro-check and release manifests."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile

from build_defs.goals.package_release_set import manifest_files
from build_defs.goals.repro_check import differing_members


def _zip(members: dict[str, bytes], date=(2020, 1, 1, 0, 0, 0)) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=date), data)
    return buf.getvalue()


def _tar(members: dict[str, bytes], mtime: int = 0) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), mtime
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_identical_wheels_have_no_differing_members() -> None:
    # Two archives written separately (different compression, so different bytes) with the
    # same members, times and modes: nothing differs.
    members = {"pkg/__init__.py": b"x = 1\n" * 100, "pkg-1.dist-info/RECORD": b"r"}
    stored, deflated = io.BytesIO(), io.BytesIO()
    for buf, compression in ((stored, zipfile.ZIP_STORED), (deflated, zipfile.ZIP_DEFLATED)):
        with zipfile.ZipFile(buf, "w", compression=compression) as zf:
            for name, data in members.items():
                zf.writestr(
                    zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)),
                    data,
                    compress_type=compression,
                )
    assert stored.getvalue() != deflated.getvalue()
    assert differing_members("pkg.whl", stored.getvalue(), deflated.getvalue()) == []


def test_differing_members_are_named() -> None:
    a = _zip({"pkg/__init__.py": b"x = 1\n", "pkg/_noise.py": b"1", "pkg/old.py": b""})
    b = _zip({"pkg/__init__.py": b"x = 1\n", "pkg/_noise.py": b"2", "pkg/new.py": b""})
    assert differing_members("pkg.whl", a, b) == ["pkg/_noise.py", "pkg/new.py", "pkg/old.py"]


def test_timestamps_alone_are_a_difference() -> None:
    a = _zip({"pkg/__init__.py": b""}, date=(2020, 1, 1, 0, 0, 0))
    b = _zip({"pkg/__init__.py": b""}, date=(2026, 11, 24, 12, 0, 0))
    assert differing_members("pkg.whl", a, b) == ["pkg/__init__.py"]
    assert differing_members("p.tar.gz", _tar({"p/a": b""}, 1), _tar({"p/a": b""}, 2)) == ["p/a"]


def test_manifest_is_sorted_and_in_sha256sum_format() -> None:
    wheel = "b-1.0-cp312-cp312-manylinux_2_28_x86_64.whl"
    entries = [
        {"name": wheel, "size": 2, "sha256": "bb" * 32, "address": "x:b"},
        {"name": "a-1.0.tar.gz", "size": 1, "sha256": "aa" * 32, "address": "x:a"},
        {"name": f"{wheel}.intoto.jsonl", "size": 3, "sha256": "cc" * 32, "address": "x:b"},
    ]
    sums, manifest = manifest_files(entries)
    assert (
        sums
        == f"{'aa' * 32}  a-1.0.tar.gz\n{'bb' * 32}  {wheel}\n{'cc' * 32}  {wheel}.intoto.jsonl\n"
    )
    data = json.loads(manifest)
    assert [e["name"] for e in data["artifacts"]] == [
        "a-1.0.tar.gz",
        wheel,
        f"{wheel}.intoto.jsonl",
    ]
    assert data["artifacts"][1] == {
        "name": wheel,
        "size": 2,
        "sha256": "bb" * 32,
        "address": "x:b",
        "kind": "wheel",
        "tag": "cp312-cp312-manylinux_2_28_x86_64",
    }
    assert data["artifacts"][0]["kind"] == "sdist"
    assert data["artifacts"][2]["kind"] == "provenance" and data["artifacts"][2]["subject"] == wheel
    # Deterministic: the same entries in another order give the same bytes.
    assert manifest_files(list(reversed(entries))) == (sums, manifest)


def test_release_sets_refuse_a_remote_cache() -> None:
    import pytest

    from build_defs.goals.package_release_set import ReleaseSetError, refuse_remote_cache

    refuse_remote_cache("//:release", False, False)
    for read, write in ((True, False), (False, True), (True, True)):
        with pytest.raises(
            ReleaseSetError, match="refusing to build a release set with a remote cache"
        ):
            refuse_remote_cache("//:release", read, write)
