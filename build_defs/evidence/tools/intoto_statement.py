"""Write an in-toto Statement v1 with a SLSA Provenance v1 predicate, as one JSON line.

    python intoto_statement.py REQUEST.json OUT.intoto.jsonl

REQUEST.json (written by `build_defs/evidence/provenance.py`) holds the subject (name and
sha256), the build type, external and internal parameters, the resolved dependencies
and the builder. Everything in it is machine-independent; so is the output, whose keys
are sorted. The statement is built and validated with the in-toto-attestation bindings.
"""

from __future__ import annotations

import json
import sys

from google.protobuf import json_format  # pants: no-infer-dep (the evidence venv has it)
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement

SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"


def descriptor(entry: dict):
    rd = ResourceDescriptor(
        name=entry.get("name", ""),
        uri=entry.get("uri", ""),
        digest=entry.get("digest"),
        annotations=entry.get("annotations"),
    )
    rd.validate()
    return rd.pb


def statement(request: dict) -> str:
    provenance = provenance_pb2.Provenance()
    definition = provenance.build_definition
    definition.build_type = request["build_type"]
    definition.external_parameters.update(request["external_parameters"])
    definition.internal_parameters.update(request["internal_parameters"])
    definition.resolved_dependencies.extend(descriptor(d) for d in request["resolved_dependencies"])
    builder = provenance.run_details.builder
    builder.id = request["builder"]["id"]
    builder.version.update(request["builder"]["version"])
    subject = request["subject"]
    result = Statement(
        [descriptor({"name": subject["name"], "digest": {"sha256": subject["sha256"]}})],
        SLSA_PROVENANCE_V1,
        json_format.MessageToDict(provenance),
    )
    result.validate()
    return json.dumps(json_format.MessageToDict(result.pb), sort_keys=True, separators=(",", ":"))


def main(request_path: str, out_path: str) -> None:
    with open(request_path) as f:
        request = json.load(f)
    line = statement(request)
    with open(out_path, "w") as f:
        f.write(line + "\n")
    print(
        f"intoto_statement: {out_path}: {len(request['resolved_dependencies'])} resolved dependencies"
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
