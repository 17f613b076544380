"""The CPython-from-source build script's guards, run by a shell as the build runs them:
upstream's signature is checked before anything is built, and a configure whose compiler
check failed for its own reasons stops the build instead of configuring quietly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pants.util.frozendict import FrozenDict

from build_defs.wheels.source_cpython import (
    _FOUND_LIBC,
    KEYRING,
    SOURCES,
    check_signature,
    dearmor,
)

_ALL_FOUND = 'D["HAVE_STRING_H"]=" 1"\nD["HAVE_STDLIB_H"]=" 1"\nD["HAVE_STDINT_H"]=" 1"\n'


def _run(tmp_path: Path, config_status: str | None) -> subprocess.CompletedProcess[str]:
    if config_status is not None:
        (tmp_path / "config.status").write_text(config_status)
    (tmp_path / "config.log").write_text(
        "checking for string.h... no\nconftest.c:1:10: error: zig: cache entry vanished\n"
    )
    return subprocess.run(
        ["/bin/sh", "-c", _FOUND_LIBC.replace("{what}", "libffi") + "\necho configured"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )


def test_every_header_found_goes_on(tmp_path: Path) -> None:
    result = _run(tmp_path, _ALL_FOUND)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "configured\n"


@pytest.mark.parametrize("header", ["string.h", "stdlib.h", "stdint.h"])
def test_a_libc_header_not_found_stops_with_the_log(tmp_path: Path, header: str) -> None:
    macro = "HAVE_" + header.replace(".", "_").upper()
    result = _run(tmp_path, _ALL_FOUND.replace(f'D["{macro}"]=" 1"\n', ""))
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"libffi: configure did not find <{header}>" in result.stderr
    if header == "string.h":
        assert "cache entry vanished" in result.stderr


def test_a_configure_without_config_status_is_not_judged(tmp_path: Path) -> None:
    # zlib's own configure script is not autoconf's.
    result = _run(tmp_path, None)
    assert result.returncode == 0, result.stderr


# Upstream's signature, checked by the same shell lines the build runs (gpgv and a key made
# here by gpg: `.ci/run` installs both).
@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--quiet", "--pinentry-mode", "loopback"]
    subprocess.run(
        [
            *gpg,
            "--passphrase",
            "",
            "--quick-gen-key",
            "Release Manager <rm@example.org>",
            "ed25519",
        ],
        check=True,
    )
    listing = subprocess.run(
        [*gpg, "--with-colons", "--list-keys"], check=True, capture_output=True, text=True
    ).stdout
    fpr = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
    armored = subprocess.run(
        [*gpg, "--armor", "--export", fpr], check=True, capture_output=True, text=True
    ).stdout
    root = tmp_path_factory.mktemp("root")
    (root / SOURCES).mkdir()
    archive = root / SOURCES / "python3.13_3.13.5.orig.tar.xz"
    archive.write_bytes(b"the release tarball")
    subprocess.run(
        [*gpg, "--armor", "--detach-sign", "--output", f"{archive}.asc", str(archive)], check=True
    )
    return {"root": root, "fpr": fpr, "armored": armored, "archive": archive}


def _check(signed: dict, signed_by: str) -> subprocess.CompletedProcess[str]:
    root = signed["root"]
    (root / SOURCES / KEYRING).write_bytes(dearmor(signed["armored"]))
    entry = FrozenDict(
        {
            "signature": FrozenDict({"filename": "python3.13_3.13.5.orig.tar.xz.asc"}),
            "keys": FrozenDict({"filename": "python3.13_3.13.5-2.debian.tar.xz"}),
            "keys_path": "debian/upstream/signing-key.asc",
            "signed_by": (signed_by,),
        }
    )
    script = "set -euo pipefail\n" + check_signature(signed["archive"].name, entry) + "echo built\n"
    return subprocess.run(
        ["/bin/bash", "-c", script],
        env={"ROOT": str(root), "HOME": str(root)},
        capture_output=True,
        text=True,
    )


def test_a_good_signature_by_a_listed_key_is_recorded(signed: dict) -> None:
    result = _check(signed, signed["fpr"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "built\n"
    record = (signed["root"] / "signature.txt").read_text()
    assert record.startswith("[GNUPG:] VALIDSIG ") and record.rstrip().endswith(signed["fpr"])


def test_a_good_signature_by_another_key_stops_the_build(signed: dict) -> None:
    result = _check(signed, "0" * 40)
    assert result.returncode == 1
    assert "built" not in result.stdout
    assert "is a good signature, but by no key of signed_by" in result.stderr


def test_a_changed_archive_stops_the_build(signed: dict) -> None:
    original = signed["archive"].read_bytes()
    signed["archive"].write_bytes(original + b" with a change")
    try:
        result = _check(signed, signed["fpr"])
    finally:
        signed["archive"].write_bytes(original)
    assert result.returncode == 1
    assert "built" not in result.stdout
    assert (
        "does not verify against the keys of python3.13_3.13.5-2.debian.tar.xz:debian/upstream/signing-key.asc"
        in result.stderr
    )


def test_dearmor_refuses_text_without_a_key_block() -> None:
    with pytest.raises(ValueError, match="no ASCII-armored public key block"):
        dearmor("-----BEGIN PGP SIGNATURE-----\n\nabcd\n-----END PGP SIGNATURE-----\n")
