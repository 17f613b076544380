"""A wheel's RECORD and contents: check it, and add files keeping it valid.

Standard library only: the plugin imports it in the engine (`pants verify`), and the SBOM
tool runs it in its sandbox. Adding files copies every existing entry's bytes as they are
(no recompression, so the result does not depend on the host's zlib) and stores the new
files uncompressed with a fixed time, so the same inputs always give the same wheel.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import struct
import time
import zipfile
import zlib

_EOCD = struct.Struct("<4sHHHHIIH")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_LOCAL = struct.Struct("<4sHHHHHIIIHH")


class WheelRecordError(Exception):
    pass


def record_hash(data: bytes) -> str:
    """RECORD's hash notation: `sha256=` and the unpadded urlsafe base64 digest."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def dist_info_dir(names: list[str]) -> str:
    """The wheel's single top-level `*.dist-info` directory."""
    found = sorted({n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".dist-info")})
    if len(found) != 1:
        raise WheelRecordError(f"expected one .dist-info directory, found {found or 'none'}")
    return found[0]


def check_record(wheel: bytes) -> list[str]:
    """Every difference between the wheel's files and its RECORD (empty when it is valid)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(wheel))
    except zipfile.BadZipFile as e:
        return [f"not a readable zip archive: {e}"]
    with zf:
        names = zf.namelist()
        try:
            record_path = f"{dist_info_dir(names)}/RECORD"
        except WheelRecordError as e:
            return [str(e)]
        if record_path not in names:
            return [f"{record_path} is missing"]
        problems = [
            f"{n} appears twice in the archive"
            for n in sorted({n for n in names if names.count(n) > 1})
        ]
        listed: dict[str, tuple[str, str]] = {}
        for row in csv.reader(io.StringIO(zf.read(record_path).decode("utf-8"))):
            if row:
                path, hash_, size = (row + ["", ""])[:3]
                listed[path] = (hash_, size)
        for name in names:
            if (
                name.endswith("/")
                or name == record_path
                or name.endswith((".jws", ".p7s"))
                and name.startswith(record_path)
            ):
                continue
            if name not in listed:
                problems.append(f"{name} is in the wheel but not in RECORD")
                continue
            hash_, size = listed.pop(name)
            try:
                data = zf.read(name)
            except (zipfile.BadZipFile, zlib.error) as e:
                problems.append(f"{name} cannot be read: {e}")
                continue
            if hash_ != record_hash(data):
                problems.append(
                    f"{name}: RECORD says {hash_ or 'no hash'}, the file is {record_hash(data)}"
                )
            if size != str(len(data)):
                problems.append(
                    f"{name}: RECORD says {size or 'no'} bytes, the file has {len(data)}"
                )
        listed.pop(record_path, None)
        problems.extend(f"{path} is in RECORD but not in the wheel" for path in sorted(listed))
    return problems


def _central_directory(wheel: bytes) -> tuple[list[tuple[bytes, str, int]], int]:
    """(raw central record, name, local header offset) per entry, and where the directory starts."""
    end = wheel.rfind(b"PK\x05\x06")
    if end < 0:
        raise WheelRecordError("not a zip archive (no end of central directory)")
    _, disk, _, count, total, size, start, _ = _EOCD.unpack_from(wheel, end)
    if disk or count != total or count == 0xFFFF or start == 0xFFFFFFFF:
        raise WheelRecordError("multi-disk and ZIP64 archives are not supported")
    entries, pos = [], start
    for _ in range(count):
        fields = _CENTRAL.unpack_from(wheel, pos)
        if fields[0] != b"PK\x01\x02":
            raise WheelRecordError(f"bad central directory record at byte {pos}")
        name_len, extra_len, comment_len, offset = fields[10], fields[11], fields[12], fields[16]
        length = _CENTRAL.size + name_len + extra_len + comment_len
        name = wheel[pos + _CENTRAL.size : pos + _CENTRAL.size + name_len].decode("utf-8")
        entries.append((wheel[pos : pos + length], name, offset))
        pos += length
    return entries, start


def _stored_entry(name: str, data: bytes, offset: int, epoch: int) -> tuple[bytes, bytes]:
    """Local and central records of an uncompressed file (mode 0644, time from `epoch`)."""
    t = time.gmtime(max(epoch, 315532800))  # zip times start in 1980
    dos_time = (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)
    dos_date = ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday
    raw_name = name.encode("utf-8")
    flags = 0x800 if not raw_name.isascii() else 0
    crc = zlib.crc32(data)
    local = _LOCAL.pack(
        b"PK\x03\x04", 20, flags, 0, dos_time, dos_date, crc, len(data), len(data), len(raw_name), 0
    )
    central = _CENTRAL.pack(
        b"PK\x01\x02",
        0x0314,
        20,
        flags,
        0,
        dos_time,
        dos_date,
        crc,
        len(data),
        len(data),
        len(raw_name),
        0,
        0,
        0,
        0,
        0o100644 << 16,
        offset,
    )
    return local + raw_name + data, central + raw_name


def add_files(wheel: bytes, files: dict[str, bytes], epoch: int) -> bytes:
    """The wheel with `files` added before a rewritten RECORD that lists them.

    Existing entries keep their bytes; RECORD moves to the end, as wheel tools write it.
    """
    entries, cd_start = _central_directory(wheel)
    names = [name for _, name, _ in entries]
    record_path = f"{dist_info_dir(names)}/RECORD"
    clash = sorted(set(files) & set(names))
    if clash:
        raise WheelRecordError(f"the wheel already has {clash}")
    if record_path not in names:
        raise WheelRecordError(f"{record_path} is missing")
    bounds = sorted(offset for _, _, offset in entries) + [cd_start]
    following = {start: bounds[i + 1] for i, start in enumerate(bounds[:-1])}
    body, central = bytearray(), bytearray()
    record = b""
    for raw, name, offset in entries:
        chunk = wheel[offset : following[offset]]
        if name == record_path:
            with zipfile.ZipFile(io.BytesIO(wheel)) as zf:
                record = zf.read(record_path)
            continue
        central += raw[:42] + struct.pack("<I", len(body)) + raw[46:]
        body += chunk
    lines = [line for line in record.decode("utf-8").splitlines() if line]
    own = [line for line in lines if line.split(",", 1)[0] == record_path] or [f"{record_path},,"]
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    for path, data in files.items():
        writer.writerow([path, record_hash(data), str(len(data))])
    new_record = (
        "\n".join([*(l for l in lines if l not in own)]) + "\n" + rows.getvalue() + own[0] + "\n"
    )
    for name, data in [*files.items(), (record_path, new_record.encode("utf-8"))]:
        local, record_entry = _stored_entry(name, data, len(body), epoch)
        central += record_entry
        body += local
    count = len(entries) + len(files)
    eocd = _EOCD.pack(b"PK\x05\x06", 0, 0, count, count, len(central), len(body), 0)
    return bytes(body + central + eocd)
