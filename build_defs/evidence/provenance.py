"""Provenance for every packaged artifact, in two files next to it:

- `<artifact>.intoto.jsonl`: an in-toto Statement v1 with a SLSA Provenance v1 predicate
  (written by `tools/intoto_statement.py` with the in-toto-attestation bindings). Its
  subject is the artifact; its resolved dependencies are the pinned inputs of the
  artifact's graph (`pinned_inputs.py`); it holds nothing that depends on the host, so
  two machines that build the same bytes write the same statement, and `SHA256SUMS`
  covers it.
- `<artifact>.build-host.json`: what the host contributed and what differs between
  hosts (tool paths and hashes, the interpreter's path and binary hash, the host
  platform, the user). It is kept for diagnosis and stays out of `SHA256SUMS`.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass

from pants.engine.addresses import Address
from pants.engine.fs import CreateDigest, Digest, FileContent, MergeDigests
from pants.engine.internals.selectors import Get
from pants.engine.process import ProcessResult
from pants.engine.rules import collect_rules, rule
from pants.util.logging import LogLevel
from pants.version import VERSION as PANTS_VERSION

from build_defs.evidence.pinned_inputs import PinnedInputs, PinnedInputsRequest
from build_defs.evidence.subsystem import EvidenceSubsystem
from build_defs.evidence.tool import EvidenceProcessRequest

STATEMENT_SUFFIX = ".intoto.jsonl"
HOST_SUFFIX = ".build-host.json"
BUILD_TYPE_PREFIX = "urn:build-defs:"


@dataclass(frozen=True)
class ProvenanceRequest:
    address: Address  # the packaged target: its graph gives the resolved dependencies
    artifact_name: str
    sha256: str
    kind: str  # the target's alias: the build type
    # JSON objects (kept as text so the request is hashable); values are strings or lists.
    external_parameters: str
    internal_parameters: str
    host_details: str
    # The distributions installed into the venvs that made the artifact (`PinnedInputsRequest`).
    installed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ArtifactProvenance:
    digest: Digest  # the statement and the host record, at the digest's root
    statement: str
    host_record: str


def statement_request(request: ProvenanceRequest, inputs: PinnedInputs, builder_id: str) -> dict:
    """The tool's input: every field of the statement, machine-independent."""
    return {
        "subject": {"name": request.artifact_name, "sha256": request.sha256},
        "build_type": f"{BUILD_TYPE_PREFIX}{request.kind}:v1",
        "external_parameters": json.loads(request.external_parameters),
        "internal_parameters": json.loads(request.internal_parameters),
        "resolved_dependencies": [i.as_descriptor() for i in inputs.inputs],
        "builder": {"id": builder_id, "version": {"pantsbuild.pants": PANTS_VERSION}},
    }


@rule(desc="Write an artifact's provenance", level=LogLevel.DEBUG)
async def artifact_provenance(
    request: ProvenanceRequest, evidence: EvidenceSubsystem
) -> ArtifactProvenance:
    inputs = await Get(PinnedInputs, PinnedInputsRequest(request.address, request.installed))
    body = json.dumps(
        statement_request(request, inputs, evidence.builder_id), indent=2, sort_keys=True
    )
    statement = f"{request.artifact_name}{STATEMENT_SUFFIX}"
    result = await Get(
        ProcessResult,
        EvidenceProcessRequest(
            "intoto_statement.py",
            ("statement_request.json", statement),
            await Get(Digest, CreateDigest([FileContent("statement_request.json", body.encode())])),
            f"Write the provenance of {request.artifact_name}",
            output_files=(statement,),
        ),
    )
    host_record = f"{request.artifact_name}{HOST_SUFFIX}"
    host = {
        "artifact": {"name": request.artifact_name, "sha256": request.sha256},
        "note": "Host-dependent facts of this build; not covered by SHA256SUMS.",
        "user": getpass.getuser(),
        **json.loads(request.host_details),
    }
    host_digest = await Get(
        Digest,
        CreateDigest(
            [FileContent(host_record, (json.dumps(host, indent=2, sort_keys=True) + "\n").encode())]
        ),
    )
    return ArtifactProvenance(
        await Get(Digest, MergeDigests([result.output_digest, host_digest])), statement, host_record
    )


def rules():
    return collect_rules()
