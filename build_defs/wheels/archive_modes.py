"""Normalise the Unix file modes recorded in a zip archive (a wheel), in place.

A build under a restrictive umask (0077) writes 0600/0700 files, and wheel writers record
those modes: the wheel's bytes then depend on the caller's umask, and it installs files
that only their owner can read. Modes live only in each central-directory entry's
"external attributes", so normalising them rewrites those four bytes per entry and leaves
every compressed member untouched: a wheel whose modes are already normal keeps its bytes.
"""

from __future__ import annotations

import struct

_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_S_IFMT = 0o170000
_S_IFDIR = 0o040000


class ArchiveError(Exception):
    pass


def normal_mode(mode: int) -> int:
    """0644 for files, 0755 for directories and for files anyone may execute."""
    kind = mode & _S_IFMT
    if kind == _S_IFDIR:
        return _S_IFDIR | 0o755
    return kind | (0o755 if mode & 0o111 else 0o644)


def _central_directory(data: bytes) -> tuple[int, int]:
    """(offset, number of entries) of the central directory."""
    eocd = data.rfind(_EOCD, max(0, len(data) - 65557))
    if eocd < 0:
        raise ArchiveError("not a zip archive: no end-of-central-directory record")
    entries, _size, offset = struct.unpack_from("<HII", data, eocd + 10)
    if entries == 0xFFFF or offset == 0xFFFFFFFF:
        locator = eocd - 20
        if locator < 0 or data[locator : locator + 4] != _ZIP64_LOCATOR:
            raise ArchiveError("zip64 archive without a zip64 locator")
        (record,) = struct.unpack_from("<Q", data, locator + 8)
        if data[record : record + 4] != _ZIP64_EOCD:
            raise ArchiveError("zip64 end-of-central-directory record not found")
        entries, _size, offset = struct.unpack_from("<QQQ", data, record + 32)
    return offset, entries


def normalize_zip_modes(data: bytes) -> bytes:
    """`data` with every entry's Unix mode normalised (see `normal_mode`)."""
    out = bytearray(data)
    pos, entries = _central_directory(data)
    for _ in range(entries):
        if out[pos : pos + 4] != _CENTRAL:
            raise ArchiveError(f"corrupt central directory at offset {pos}")
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", out, pos + 28)
        (attr,) = struct.unpack_from("<I", out, pos + 38)
        mode = attr >> 16
        if mode:  # entries without Unix modes (made on DOS) have none to normalise
            struct.pack_into("<I", out, pos + 38, (normal_mode(mode) << 16) | (attr & 0xFFFF))
        pos += 46 + name_len + extra_len + comment_len
    return bytes(out)
