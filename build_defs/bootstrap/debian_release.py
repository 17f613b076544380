"""Debian's signed chain, as apt follows it: a suite's `InRelease` is OpenPGP-signed by the
archive's keys and lists the sha256 and size of each index file (`Packages.xz`,
`Sources.xz`); only an index that matches its line in a verified `InRelease` is read, so a
pin can never come from an index someone altered between the mirror and us.

The trust anchor is in the repository: `3rdparty/debian/archive-keys.json` lists the
fingerprints of the archive keys we accept and the suites they sign. The key material comes
from Debian's `debian-archive-keyring` package as installed on the host
(`/usr/share/keyrings/debian-archive-keyring.gpg`, or `NUMPY_RELEASE_DEBIAN_KEYRING`):
a key in that keyring but not in our list is refused. Signatures are checked by `gpgv`
(GnuPG's verify-only tool), never by code of ours. An `InRelease` past its `Valid-Until` is
refused, as apt refuses it, unless the caller accepts an expired index explicitly (apt's
`Check-Valid-Until=no`); the pin then records that it did.

Standard library only, like the rest of the bootstrap.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

KEYRING_ENV = "NUMPY_RELEASE_DEBIAN_KEYRING"
HOST_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
ACCEPTED_KEYS = Path(__file__).resolve().parents[2] / "3rdparty" / "debian" / "archive-keys.json"
EXPIRED_FLAG = "--allow-expired-debian-index"


class ReleaseError(Exception):
    pass


@dataclass(frozen=True)
class Trust:
    """Which keys may sign a suite's `InRelease`, and where their key material is."""

    keyring: Path
    fingerprints: frozenset[str]

    @classmethod
    def debian(cls, suite: str, keys_file: Path = ACCEPTED_KEYS) -> "Trust":
        """The production trust: the repository's accepted keys for `suite`."""
        keys = json.loads(keys_file.read_text())["keys"]
        accepted = frozenset(fpr for fpr, key in keys.items() if suite in key["suites"])
        if not accepted:
            raise ReleaseError(
                f"no accepted archive key signs the suite {suite} ({keys_file.name} lists the "
                "suites each key signs; docs/pins-and-bumping.md says how to add one)"
            )
        keyring = Path(os.environ.get(KEYRING_ENV) or HOST_KEYRING)
        if not keyring.is_file():
            raise ReleaseError(
                f"no Debian archive keyring at {keyring}: install Debian's debian-archive-keyring "
                f"package (`apt-get install debian-archive-keyring`) or set {KEYRING_ENV}"
            )
        return cls(keyring, accepted)


@dataclass(frozen=True)
class VerifiedRelease:
    """What a verified `InRelease` vouches for."""

    suite: str
    date: str  # its `Date:` line
    valid_until: str | None
    sha256: str  # of the InRelease file as fetched
    signed_by: tuple[str, ...]  # accepted fingerprints whose signatures are good
    files: dict[str, tuple[str, int]]  # index path -> (sha256, size), from its SHA256 list
    expired_accepted: bool = False

    def record(self, path: str, index_sha256: str) -> dict:
        """What a pin records of the signed index it came from."""
        record = {
            "suite": self.suite,
            "inrelease_date": self.date,
            "inrelease_sha256": self.sha256,
            "signed_by": list(self.signed_by),
            "index": path,
            "index_sha256": index_sha256,
        }
        if self.expired_accepted:
            record["expired_accepted"] = f"Valid-Until {self.valid_until}"
        return record


def _fields(text: str) -> tuple[dict[str, str], dict[str, tuple[str, int]]]:
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, int]] = {}
    section = None
    for line in text.splitlines():
        if line[:1] in (" ", "\t"):
            if section == "SHA256":
                digest, size, path = line.split()
                files[path] = (digest, int(size))
            continue
        key, _, value = line.partition(":")
        section = key
        fields[key] = value.strip()
    return fields, files


def verify_inrelease(
    data: bytes,
    suite: str,
    trust: Trust,
    *,
    now: datetime | None = None,
    allow_expired: bool = False,
) -> VerifiedRelease:
    """Check `InRelease`'s signature with gpgv against `trust`, then read only the signed text."""
    with tempfile.TemporaryDirectory() as tmp:
        signed, out = Path(tmp) / "InRelease", Path(tmp) / "signed"
        signed.write_bytes(data)
        try:
            result = subprocess.run(
                ["gpgv", "--keyring", str(trust.keyring), "--status-fd", "1", "--output", str(out)]
                + [str(signed)],
                capture_output=True,
                text=True,
            )
        except FileNotFoundError as e:
            raise ReleaseError(
                f"{suite}: no gpgv on PATH to check its InRelease ({e}): install Debian's gpgv "
                "package (`apt-get install gpgv`). Nothing was pinned."
            ) from e
        # VALIDSIG <signing key> ... <primary key>: either may be the one we list.
        valid = [
            (words[2], words[-1])
            for words in (line.split() for line in result.stdout.splitlines())
            if words[:2] == ["[GNUPG:]", "VALIDSIG"]
        ]
        accepted = tuple(
            sorted({primary for key, primary in valid if {key, primary} & trust.fingerprints})
        )
        if not accepted:
            why = (
                f"signed by {', '.join(p for _, p in valid)}, none of them an accepted key"
                if valid
                else "no valid signature ("
                + (result.stderr.strip().splitlines() or ["?"])[-1]
                + ")"
            )
            raise ReleaseError(
                f"{suite}: its InRelease does not verify against Debian's archive keys: {why}. "
                "Nothing was pinned."
            )
        text = out.read_text(encoding="utf-8")
    fields, files = _fields(text)
    valid_until = fields.get("Valid-Until")
    expired = False
    if valid_until:
        limit = parsedate_to_datetime(valid_until)
        if (now or datetime.now(timezone.utc)) > limit:
            if not allow_expired:
                raise ReleaseError(
                    f"{suite}: its InRelease expired on {valid_until} (Valid-Until; dated "
                    f"{fields.get('Date')}), so it no longer proves the index is current, and apt "
                    f"would refuse it too. Nothing was pinned. To pin from it anyway, pass "
                    f"{EXPIRED_FLAG} (apt's Check-Valid-Until=no); the manifest records it."
                )
            expired = True
    return VerifiedRelease(
        suite=suite,
        date=fields.get("Date", ""),
        valid_until=valid_until,
        sha256=hashlib.sha256(data).hexdigest(),
        signed_by=accepted,
        files=files,
        expired_accepted=expired,
    )


def check_index(release: VerifiedRelease, path: str, data: bytes) -> str:
    """The sha256 of index file `path` (e.g. `main/binary-arm64/Packages.xz`) once it matches
    its line in the verified `InRelease`; otherwise a `ReleaseError` naming what differs."""
    if path not in release.files:
        raise ReleaseError(
            f"{release.suite}: {path} is not listed in its signed InRelease. Nothing was pinned."
        )
    want_sha, want_size = release.files[path]
    got_sha = hashlib.sha256(data).hexdigest()
    if (got_sha, len(data)) != (want_sha, want_size):
        raise ReleaseError(
            f"{release.suite}: {path} is not the file its signed InRelease lists: sha256 {got_sha} "
            f"and {len(data)} bytes, where the InRelease says sha256 {want_sha} and {want_size} "
            "bytes. The mirror or the network altered it. Nothing was pinned."
        )
    return got_sha
