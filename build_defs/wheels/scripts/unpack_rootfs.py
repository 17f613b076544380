"""Unpack Debian packages into a root file system for an emulated interpreter.

    python unpack_rootfs.py DEST VERSION DEB...

Run in a sandbox with `deb_archive.py` beside it. Unpacks every package (symlinks too), adds
the merged-/usr links Debian's installer would make and the certificate bundle
ca-certificates' maintainer script would make, and, run by the host CPython of VERSION,
precompiles the standard library, so that each emulated interpreter does not compile it
again (VERSION `-`: no precompiling). Standard library only.
"""

import compileall
import io
import os
import posixpath
import sys
import tarfile

from deb_archive import data_tar  # pants: no-infer-dep (shipped beside this script)


def inside(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo:
    # An absolute link names a file of the root file system: make it relative to it.
    if member.issym() and member.linkname.startswith("/"):
        here = posixpath.dirname("/" + member.name.lstrip("./"))
        member = member.replace(linkname=posixpath.relpath(member.linkname, here))
    return tarfile.tar_filter(member, path)


def ca_bundle(root: str) -> None:
    """`/etc/ssl/certs/ca-certificates.crt` from the certificates ca-certificates ships, as its
    maintainer script (which no unpack runs) would make it: Debian's pip reads that file as it
    starts, network or not. Sorted, so every unpack writes the same bytes."""
    share = os.path.join(root, "usr/share/ca-certificates")
    bundle = os.path.join(root, "etc/ssl/certs/ca-certificates.crt")
    if not os.path.isdir(share) or os.path.lexists(bundle):
        return
    certs = sorted(
        os.path.join(d, f) for d, _, files in os.walk(share) for f in files if f.endswith(".crt")
    )
    os.makedirs(os.path.dirname(bundle), exist_ok=True)
    with open(bundle, "wb") as out:
        for cert in certs:
            with open(cert, "rb") as f:
                data = f.read()
            out.write(data if data.endswith(b"\n") else data + b"\n")


def main(root: str, version: str, *debs: str) -> None:
    for deb in debs:
        with open(deb, "rb") as f:
            tar = data_tar(f.read(), deb)
        with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
            archive.extractall(root, filter=inside)
    for link in ("bin", "sbin", "lib"):
        if not os.path.lexists(os.path.join(root, link)):
            os.symlink(f"usr/{link}", os.path.join(root, link))
    ca_bundle(root)
    if version != "-" and not compileall.compile_dir(
        os.path.join(root, f"usr/lib/python{version}"), quiet=2, workers=0
    ):
        print("warning: some of the standard library did not precompile", file=sys.stderr)


if __name__ == "__main__":  # compileall's workers import this module again
    main(*sys.argv[1:])
