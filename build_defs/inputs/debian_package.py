"""Files out of pinned Debian packages (`.deb`), brought into the graph from the store.

A `.deb` is an `ar` archive whose `data.tar.*` member holds the files (`deb_archive.py`).
Both formats are read in the rule itself (standard library: the bytes are already in Pants'
store, verified against their pins), so unpacking needs no host program and gives the same
digest on any host. Only the files asked for are kept.
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass

from pants.engine.addresses import Address
from pants.engine.fs import CreateDigest, Digest, DigestContents, FileContent
from pants.engine.internals.selectors import Get, MultiGet
from pants.engine.rules import collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.inputs.deb_archive import data_tar
from build_defs.inputs.store_artifact import StoreArtifact, StoreArtifactRequest


@dataclass(frozen=True)
class DebianFilesRequest:
    """From `packages` (dicts of `filename`, `sha256`, `size`), the files under each source
    path of `wanted` (a file, or a directory ending in `/`), placed at its destination."""

    packages: tuple[FrozenDict, ...]
    wanted: FrozenDict[str, str]
    owner: Address


def package_files(data: bytes, name: str, wanted: dict[str, str]) -> dict[str, bytes]:
    """The regular files of one `.deb` that `wanted` asks for, by destination path."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data_tar(data, name))) as tar:
        for member in tar.getmembers():
            path = member.name[2:] if member.name.startswith("./") else member.name
            if not member.isfile():
                continue
            for source, dest in wanted.items():
                if path == source:
                    out[dest] = tar.extractfile(member).read()
                elif source.endswith("/") and path.startswith(source):
                    out[dest + path[len(source) :]] = tar.extractfile(member).read()
    return out


@rule(desc="Unpack files from pinned Debian packages", level=LogLevel.DEBUG)
async def debian_files(request: DebianFilesRequest) -> Digest:
    debs = await MultiGet(
        Get(
            StoreArtifact,
            StoreArtifactRequest(p["filename"], p["sha256"], p["size"], request.owner),
        )
        for p in request.packages
    )
    contents = await MultiGet(Get(DigestContents, Digest, d.digest) for d in debs)
    files: dict[str, bytes] = {}
    for package, (content,) in zip(request.packages, contents):
        files.update(package_files(content.content, package["filename"], dict(request.wanted)))
    return await Get(
        Digest, CreateDigest([FileContent(path, data) for path, data in sorted(files.items())])
    )


def rules():
    return collect_rules()
