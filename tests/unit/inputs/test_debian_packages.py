"""Debian packages as pinned inputs: apt's mirror found without naming one in the repo, a
suite's index resolved (with dependency closure for a rootfs), `.deb` files unpacked in the
rule itself, and a target CPython assembled from them."""

from __future__ import annotations

import io
import tarfile

import pytest

from build_defs.bootstrap import debian
from build_defs.inputs.deb_archive import DebArchiveError
from build_defs.inputs.debian_package import package_files
from build_defs.toolchains.interpreter import InterpreterError
from build_defs.toolchains.target_interpreter import TARGET_PYTHON_DIR, target_python_files


def deb(files: dict[str, bytes], compression: str = "xz") -> bytes:
    """A minimal `.deb`: an ar archive with debian-binary, control and data members."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode=f"w:{compression}") as tar:
        for path, content in files.items():
            info = tarfile.TarInfo("./" + path)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    out = b"!<arch>\n"
    for name, content in [
        ("debian-binary", b"2.0\n"),
        ("control.tar.xz", b""),
        (f"data.tar.{compression}", data.getvalue()),
    ]:
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(content):<10}`\n".encode() + content
        out += b"\n" if len(content) % 2 else b""
    return out


def test_files_under_a_directory_and_single_files_land_where_asked() -> None:
    package = deb(
        {
            "usr/include/python3.13/Python.h": b"py",
            "usr/include/python3.13/cpython/x.h": b"x",
            "usr/lib/other.so": b"no",
        }
    )
    got = package_files(
        package, "p.deb", {"usr/include/python3.13/": "inc/", "usr/lib/other.so": "lib/o.so"}
    )
    assert got == {"inc/Python.h": b"py", "inc/cpython/x.h": b"x", "lib/o.so": b"no"}
    assert package_files(package, "p.deb", {"usr/share/": "s/"}) == {}


def test_a_file_that_is_not_a_deb_is_named() -> None:
    with pytest.raises(DebArchiveError, match="wheel.whl is not a Debian package"):
        package_files(b"PK\x03\x04", "wheel.whl", {})


_SYSCONFIG = b"build_time_vars = {'EXT_SUFFIX': '.cpython-313-aarch64-linux-gnu.so', 'SOABI': 'cpython-313-aarch64-linux-gnu', 'Py_ENABLE_SHARED': 1}\n"


def _cpython_files() -> dict[str, bytes]:
    return {
        "include/python3.13/Python.h": b"#include <pyconfig.h>\n",
        "include/python3.13/pyconfig.h": b"#include <aarch64-linux-gnu/python3.13/pyconfig.h>\n",
        "include/python3.13/patchlevel.h": b'#define PY_VERSION              "3.13.5"\n',
        "arch-pyconfig.h": b"#define SIZEOF_LONG_DOUBLE 16\n",
        "sysconfig/_sysconfigdata__linux_aarch64-linux-gnu.py": _SYSCONFIG,
    }


def test_the_target_cpython_takes_the_architecture_pyconfig_and_target_facts() -> None:
    files, facts = target_python_files(
        _cpython_files(), "3.13", "aarch64-linux-gnu", "_sysconfigdata__linux_aarch64-linux-gnu"
    )
    assert (
        files[f"{TARGET_PYTHON_DIR}/include/python3.13/pyconfig.h"]
        == b"#define SIZEOF_LONG_DOUBLE 16\n"
    )
    assert not any(p.endswith("arch-pyconfig.h") for p in files)
    assert (
        facts["version"] == "3.13.5" and facts["EXT_SUFFIX"] == ".cpython-313-aarch64-linux-gnu.so"
    )
    assert facts["SOABI"] == "cpython-313-aarch64-linux-gnu" and facts["Py_ENABLE_SHARED"] == "1"
    pc = files[f"{TARGET_PYTHON_DIR}/pkgconfig/python-3.13.pc"].decode()
    assert "prefix=${pcfiledir}/.." in pc and "Cflags: -I${includedir}/python3.13" in pc
    # NumPy's Cython check asks pkg-config for `python3`: the same target headers.
    assert files[f"{TARGET_PYTHON_DIR}/pkgconfig/python3.pc"].decode() == pc
    # The headers' hash changes with any header.
    changed = {**_cpython_files(), "arch-pyconfig.h": b"#define SIZEOF_LONG_DOUBLE 8\n"}
    assert (
        target_python_files(
            changed, "3.13", "aarch64-linux-gnu", "_sysconfigdata__linux_aarch64-linux-gnu"
        )[1]["include_sha256"]
        != facts["include_sha256"]
    )


def test_packages_without_the_architecture_pyconfig_are_refused() -> None:
    files = {k: v for k, v in _cpython_files().items() if k != "arch-pyconfig.h"}
    with pytest.raises(InterpreterError, match="libpython3.13-dev"):
        target_python_files(
            files, "3.13", "aarch64-linux-gnu", "_sysconfigdata__linux_aarch64-linux-gnu"
        )


def test_apt_mirror_comes_from_apt_configuration(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(debian.MIRROR_ENV, raising=False)
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm\n\n"
        "Types: deb\nURIs: http://mirror.invalid/debian-security\nSuites: bookworm-security\n"
    )
    assert debian.mirror(str(tmp_path)) == "http://mirror.invalid/debian/"
    monkeypatch.setenv(debian.MIRROR_ENV, "file:///srv/mirror")
    assert debian.mirror(str(tmp_path)) == "file:///srv/mirror/"


def test_no_apt_mirror_is_an_error_naming_the_variable(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(debian.MIRROR_ENV, raising=False)
    with pytest.raises(debian.DebianError, match=debian.MIRROR_ENV):
        debian.mirror(str(tmp_path))


_INDEX = """\
Package: python3.13
Version: 3.13.5-2
Architecture: arm64
Depends: python3.13-minimal (= 3.13.5-2), media-types | mime-support, tzdata
Filename: pool/main/p/python3.13/python3.13_3.13.5-2_arm64.deb
Size: 10
SHA256: aa

Package: python3.13-minimal
Version: 3.13.5-2
Architecture: arm64
Pre-Depends: libc6 (>= 2.38)
Depends: zlib1g
Filename: pool/main/p/python3.13/python3.13-minimal_3.13.5-2_arm64.deb
Size: 11
SHA256: bb

Package: mime-support-ng
Version: 1
Architecture: all
Provides: media-types
Filename: pool/main/m/mime/mime-support-ng_1_all.deb
Size: 12
SHA256: cc

Package: tzdata
Version: 2026f
Architecture: all
Depends: debconf (>= 0.5) | debconf-2.0
Filename: pool/main/t/tzdata/tzdata_2026f_all.deb
Size: 13
SHA256: dd

Package: libc6
Version: 2.41
Architecture: arm64
Filename: pool/main/g/glibc/libc6_2.41_arm64.deb
Size: 14
SHA256: ee

Package: zlib1g
Version: 1.3
Architecture: arm64
Filename: pool/main/z/zlib/zlib1g_1.3_arm64.deb
Size: 15
SHA256: ff
"""


def test_the_closure_follows_depends_pre_depends_and_virtual_packages() -> None:
    index = debian.parse_packages(_INDEX)
    names = [
        p.name for p in debian.closure(index, ["python3.13"], exclude=["debconf", "debconf-2.0"])
    ]
    assert names == [
        "libc6",
        "mime-support-ng",
        "python3.13",
        "python3.13-minimal",
        "tzdata",
        "zlib1g",
    ]
    with pytest.raises(debian.DebianError, match="debconf"):
        debian.closure(index, ["python3.13"], exclude=[])
