"""Wheel mode normalisation: modes change, nothing else does."""

from __future__ import annotations

import io
import zipfile

import pytest

from build_defs.wheels.archive_modes import ArchiveError, normalize_zip_modes


def _wheel(modes: dict[str, int]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, mode in modes.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, b"" if name.endswith("/") else name.encode() * 50)
    return buf.getvalue()


def _modes(data: bytes) -> dict[str, int]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: i.external_attr >> 16 for i in zf.infolist()}


def test_private_modes_become_public_and_executables_stay_executable() -> None:
    private = _wheel({"pkg/": 0o40700, "pkg/__init__.py": 0o100600, "pkg/_ext.so": 0o100700})
    normal = normalize_zip_modes(private)
    assert _modes(normal) == {"pkg/": 0o40755, "pkg/__init__.py": 0o100644, "pkg/_ext.so": 0o100755}
    # The members themselves are untouched, and the archive is still valid.
    with zipfile.ZipFile(io.BytesIO(normal)) as zf:
        assert zf.testzip() is None
        assert zf.read("pkg/__init__.py") == b"pkg/__init__.py" * 50


def test_the_same_files_under_any_umask_give_the_same_bytes() -> None:
    under_0022 = _wheel({"pkg/__init__.py": 0o100644, "pkg/_ext.so": 0o100755})
    under_0077 = _wheel({"pkg/__init__.py": 0o100600, "pkg/_ext.so": 0o100700})
    assert under_0022 != under_0077
    assert normalize_zip_modes(under_0077) == normalize_zip_modes(under_0022) == under_0022


def test_group_writable_files_lose_the_write_bit() -> None:
    assert _modes(normalize_zip_modes(_wheel({"a.py": 0o100666})))["a.py"] == 0o100644


def test_not_a_zip_is_an_error() -> None:
    with pytest.raises(ArchiveError, match="not a zip archive"):
        normalize_zip_modes(b"plain bytes")
