"""Reading a Debian package (`.deb`): an `ar` archive whose `data.tar.*` member holds the
files. Standard library only, and no imports from the plugin: the rules import it, and the
emulated root file system's unpacker (`wheels/scripts/unpack_rootfs.py`) runs it beside
itself in a sandbox.
"""

from __future__ import annotations


class DebArchiveError(Exception):
    pass


def ar_members(data: bytes, name: str) -> dict[str, bytes]:
    """The members of an `ar` archive, by name."""
    if not data.startswith(b"!<arch>\n"):
        raise DebArchiveError(f"{name} is not a Debian package (no ar header)")
    members, offset = {}, 8
    while offset + 60 <= len(data):
        header = data[offset : offset + 60]
        member, size = header[:16].decode().strip().rstrip("/"), int(header[48:58])
        members[member] = data[offset + 60 : offset + 60 + size]
        offset += 60 + size + size % 2
    return members


def data_tar(data: bytes, name: str) -> bytes:
    """The compressed tar of a `.deb`'s files (`data.tar.xz`, `.zst`, `.gz`, ...)."""
    tars = [
        member
        for member_name, member in ar_members(data, name).items()
        if member_name.startswith("data.tar")
    ]
    if len(tars) != 1:
        raise DebArchiveError(f"{name} has no single data.tar member")
    return tars[0]
