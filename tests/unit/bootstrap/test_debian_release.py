"""Debian pins come only through Debian's signed chain: a loopback HTTP server stands in for
the mirror (`NUMPY_RELEASE_DEBIAN_MIRROR`) and serves a suite signed with a key made here.
A good chain pins; a tampered `Packages.xz`, an unsigned or wrongly signed `InRelease` and
an expired one are refused, naming the suite, the file and what did not match; an expired
index is taken only when asked, and the record says so. The production trust accepts only
the keys listed in `3rdparty/debian/archive-keys.json`."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import lzma
import subprocess
import threading
from pathlib import Path

import pytest

from build_defs.bootstrap import debian, debian_release
from build_defs.bootstrap.debian_release import ReleaseError, Trust
from tests.e2e.repo import cpython

# The suite a real pin would name: the production trust refuses the test key for it.
SUITE = "trixie"
_STANZA = """\
Package: {name}
Version: 1.0-1
Architecture: arm64
Filename: pool/main/{name}_1.0-1_arm64.deb
Size: {size}
SHA256: {sha}
Depends: {depends}
"""


# Two stanzas of one source package (a point release, then its security update, as trixie
# lists zlib): the later one wins.
_SOURCES = """\
Package: python3.13
Version: 3.13.5-1
Directory: pool/main/p/python3.13
Checksums-Sha256:
 {a} 1000 python3.13_3.13.5-1.dsc
 {b} 2000 python3.13_3.13.5.orig.tar.xz

Package: python3.13
Version: 3.13.5-2
Directory: pool/main/p/python3.13
Checksums-Sha256:
 {c} 1001 python3.13_3.13.5-2.dsc
 {b} 2000 python3.13_3.13.5.orig.tar.xz
 {d} 963 python3.13_3.13.5.orig.tar.xz.asc
""".format(
    **{k: k * 64 for k in "abcd"}
)


def _gpg(home: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--yes", "--pinentry-mode", "loopback"]
        + ["--passphrase", "", *args],
        check=True,
        capture_output=True,
        **kwargs,
    )


def _key(home: Path, name: str) -> str:
    """A new signing key in `home`; its fingerprint."""
    home.mkdir(mode=0o700)
    _gpg(home, "--quick-gen-key", f"{name} <{name}@archive.invalid>", "ed25519", "sign", "0")
    listing = _gpg(home, "--list-keys", "--with-colons", text=True).stdout
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("keys")
    archive, other = root / "archive", root / "other"
    found = {"archive": (archive, _key(archive, "archive")), "other": (other, _key(other, "other"))}
    keyring = root / "keyring.gpg"
    keyring.write_bytes(
        _gpg(archive, "--export").stdout + _gpg(other, "--export").stdout
    )  # both keys' material: only the trust decides which signs
    found["keyring"] = keyring
    return found


def _mirror(
    root: Path, keys: dict, *, signer: str | None = "archive", valid_until: str | None = None
) -> tuple[Path, bytes]:
    """A suite: Packages.xz and an InRelease listing it (signed by `signer`, or not)."""
    packages = "\n".join(
        _STANZA.format(
            name=name, size=10 + i, sha=hashlib.sha256(name.encode()).hexdigest(), depends=dep
        )
        for i, (name, dep) in enumerate([("python3.13", "libc6"), ("libc6", "")])
    )
    index = lzma.compress(packages.encode())
    dists = root / "dists" / SUITE
    (dists / "main" / "binary-arm64").mkdir(parents=True)
    (dists / "main" / "binary-arm64" / "Packages.xz").write_bytes(index)
    sources = lzma.compress(_SOURCES.encode())
    (dists / "main" / "source").mkdir(parents=True)
    (dists / "main" / "source" / "Sources.xz").write_bytes(sources)
    release = (
        f"Origin: Test\nSuite: {SUITE}\nDate: Sat, 21 Nov 2026 09:15:44 UTC\n"
        + (f"Valid-Until: {valid_until}\n" if valid_until else "")
        + "SHA256:\n"
        + f" {hashlib.sha256(index).hexdigest()} {len(index):8d} main/binary-arm64/Packages.xz\n"
        + f" {hashlib.sha256(sources).hexdigest()} {len(sources):8d} main/source/Sources.xz\n"
    )
    (dists / "Release").write_text(release)
    if signer is None:
        (dists / "InRelease").write_text(release)
    else:
        home, fpr = keys[signer]
        _gpg(
            home,
            "--local-user",
            fpr,
            "--clearsign",
            "-o",
            str(dists / "InRelease"),
            str(dists / "Release"),
        )
    return dists, index


@pytest.fixture
def served(tmp_path, monkeypatch):
    root = tmp_path / "mirror"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(debian.MIRROR_ENV, f"http://127.0.0.1:{server.server_address[1]}/")
    yield root
    server.shutdown()
    server.server_close()


_SPEC = {
    "debian": {
        "suite": SUITE,
        "architecture": "arm64",
        "packages": ["python3.13"],
        "closure": True,
    },
    "platforms": ["linux_x86_64"],
}


def _trust(keys: dict) -> Trust:
    return Trust(keys["keyring"], frozenset({keys["archive"][1]}))


def test_a_verified_index_is_pinned_with_its_record(served: Path, keys: dict) -> None:
    _, index = _mirror(served, keys)
    entries, record = debian.resolve_set("rootfs", _SPEC, trust=_trust(keys))
    assert [(e["project"], e["sha256"]) for e in entries] == [
        ("libc6", hashlib.sha256(b"libc6").hexdigest()),
        ("python3.13", hashlib.sha256(b"python3.13").hexdigest()),
    ]
    assert record["index_sha256"] == hashlib.sha256(index).hexdigest()
    assert record["inrelease_date"] == "Sat, 21 Nov 2026 09:15:44 UTC"
    assert record["signed_by"] == [keys["archive"][1]] and "expired_accepted" not in record


def test_a_tampered_packages_index_is_refused(served: Path, keys: dict) -> None:
    dists, index = _mirror(served, keys)
    text = lzma.decompress(index).decode()
    forged = text.replace(hashlib.sha256(b"libc6").hexdigest(), "0" * 64)
    (dists / "main" / "binary-arm64" / "Packages.xz").write_bytes(lzma.compress(forged.encode()))
    with pytest.raises(
        ReleaseError,
        match=f"{SUITE}: main/binary-arm64/Packages.xz is not the file its signed InRelease lists",
    ):
        debian.resolve_set("rootfs", _SPEC, trust=_trust(keys))


@pytest.mark.parametrize(
    "signer, message",
    [(None, "no valid signature"), ("other", "none of them an accepted key")],
    ids=["unsigned", "signed-by-another-key"],
)
def test_an_inrelease_not_signed_by_an_accepted_key_is_refused(
    served: Path, keys: dict, signer: str | None, message: str
) -> None:
    _mirror(served, keys, signer=signer)
    with pytest.raises(ReleaseError, match=f"{SUITE}: its InRelease does not verify .*{message}"):
        debian.resolve_set("rootfs", _SPEC, trust=_trust(keys))


def test_an_expired_inrelease_is_refused_unless_accepted_and_then_recorded(
    served: Path, keys: dict
) -> None:
    _mirror(served, keys, valid_until="Fri, 06 Nov 2026 08:08:01 UTC")
    with pytest.raises(
        ReleaseError,
        match=r"expired on Fri, 06 Nov 2026 08:08:01 UTC .*--allow-expired-debian-index",
    ):
        debian.resolve_set("rootfs", _SPEC, trust=_trust(keys))
    _, record = debian.resolve_set("rootfs", _SPEC, trust=_trust(keys), allow_expired=True)
    assert record["expired_accepted"] == "Valid-Until Fri, 06 Nov 2026 08:08:01 UTC"


def test_no_gpgv_on_path_stops_pinning_with_the_package_to_install(
    served: Path, keys: dict, tmp_path: Path, monkeypatch
) -> None:
    _mirror(served, keys)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ReleaseError, match=f"{SUITE}: no gpgv on PATH .*apt-get install gpgv"):
        debian.resolve_set("rootfs", _SPEC, trust=_trust(keys))


def test_the_production_trust_accepts_only_debians_listed_keys(served: Path, keys: dict) -> None:
    """The same good chain, signed by a key the keyring holds but the repository does not
    list, is refused: the list, not the keyring, is the trust anchor."""
    listed = json.loads(debian_release.ACCEPTED_KEYS.read_text())["keys"]
    assert keys["archive"][1] not in listed and len(listed) >= 2
    assert all(len(fpr) == 40 and key["suites"] for fpr, key in listed.items())
    _mirror(served, keys)
    production = Trust(keys["keyring"], frozenset(listed))
    with pytest.raises(ReleaseError, match="none of them an accepted key"):
        debian.resolve_set("rootfs", _SPEC, trust=production)


def test_pin_writes_nothing_when_the_chain_is_broken(
    served: Path, keys: dict, tmp_path: Path, monkeypatch
) -> None:
    """pin.py, as a maintainer runs it, on an unsigned index: it stops naming the suite and the
    manifest keeps its bytes."""
    _mirror(served, keys, signer=None)
    manifest = tmp_path / "artifacts.json"
    manifest.write_text(
        json.dumps({"platforms": {}, "sets": {"rootfs": _SPEC}, "artifacts": []}, indent=2)
    )
    before = manifest.read_bytes()
    script = Path(debian.__file__).with_name("pin.py")
    code = (
        "import sys, runpy; sys.argv = ['pin.py', 'rootfs']; "
        f"g = runpy.run_path({str(script)!r}, run_name='pin'); "
        "import pathlib; "
        f"g['main'].__globals__['MANIFEST'] = pathlib.Path({str(manifest)!r}); "
        "sys.exit(g['main'](['rootfs']))"
    )
    # CPython 3.9 as pin.py wants it, with pip (it reads pip's configuration).
    result = subprocess.run([cpython("3.9"), "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert f"pin: set rootfs: {SUITE}: its InRelease does not verify" in result.stderr
    assert manifest.read_bytes() == before


def test_a_source_set_pins_upstream_archives_through_the_signed_sources_index(
    served: Path, keys: dict
) -> None:
    _mirror(served, keys)
    spec = {
        "debian": {"suite": SUITE, "sources": {"python3.13": ["orig.tar.xz", "orig.tar.xz.asc"]}},
        "platforms": ["linux_x86_64"],
    }
    entries, record = debian.resolve_set("sources", spec, trust=_trust(keys))
    assert [(e["filename"], e["sha256"], e["size"], e["debian_version"]) for e in entries] == [
        ("python3.13_3.13.5.orig.tar.xz", "b" * 64, 2000, "3.13.5-2"),
        ("python3.13_3.13.5.orig.tar.xz.asc", "d" * 64, 963, "3.13.5-2"),
    ]
    assert entries[0]["debian_path"] == "pool/main/p/python3.13/python3.13_3.13.5.orig.tar.xz"
    assert record["index"] == "main/source/Sources.xz"
    # A suffix the package has no file for is refused, naming what it has.
    spec["debian"]["sources"] = {"python3.13": ["orig.tar.gz"]}
    with pytest.raises(debian.DebianError, match="has no file ending in orig.tar.gz"):
        debian.resolve_set("sources", spec, trust=_trust(keys))
