"""Bring one pinned file from the artifact store into the graph, verified by sha256 and size."""

from __future__ import annotations

import os
from dataclasses import dataclass

from pants.core.util_rules.archive import ExtractedArchive, MaybeExtractArchiveRequest
from pants.engine.addresses import Address
from pants.engine.fs import Digest, DownloadFile, FileDigest
from pants.engine.internals.selectors import Get
from pants.engine.rules import collect_rules, rule
from pants.engine.target import Target
from pants.util.logging import LogLevel

from build_defs.inputs.subsystem import ArtifactStore
from build_defs.inputs.target_types import PinnedFilenameField, PinnedSha256Field, PinnedSizeField


@dataclass(frozen=True)
class StoreArtifactRequest:
    filename: str
    sha256: str
    size: int
    owner: Address
    # Extract the file (".zip" for wheels, ".tar.gz" for sdists) instead of returning it.
    extract_as: str | None = None

    @classmethod
    def pinned_by(cls, tgt: Target, extract_as: str | None = None) -> "StoreArtifactRequest":
        """The file a target pins with its `filename`, `sha256` and `size` fields."""
        return cls(
            tgt[PinnedFilenameField].value,
            tgt[PinnedSha256Field].value,
            tgt[PinnedSizeField].value,
            tgt.address,
            extract_as,
        )


@dataclass(frozen=True)
class StoreArtifact:
    digest: Digest


class MissingArtifactError(Exception):
    pass


@rule(desc="Read a pinned artifact from the store", level=LogLevel.DEBUG)
async def store_artifact(request: StoreArtifactRequest, store: ArtifactStore) -> StoreArtifact:
    if not store.root:
        raise MissingArtifactError(
            "[artifact-store].root is not set: run Pants through ./pants, which fills the store."
        )
    path = os.path.join(store.root, "files", request.filename)
    # A guard for a clearer message; the bytes are verified by DownloadFile below.
    if not os.path.exists(path):
        raise MissingArtifactError(
            f"{request.filename} (pinned by {request.owner}) is not in the artifact store "
            f"{store.root}. List it in 3rdparty/artifacts.json (build_defs/bootstrap/pin.py) "
            "and run ./pants again to fetch it."
        )
    downloaded = await Get(
        Digest,
        DownloadFile(f"file://{path}", FileDigest(request.sha256, request.size)),
    )
    if request.extract_as is None:
        return StoreArtifact(downloaded)
    extracted = await Get(
        ExtractedArchive, MaybeExtractArchiveRequest(downloaded, use_suffix=request.extract_as)
    )
    return StoreArtifact(extracted.digest)


def rules():
    return collect_rules()
