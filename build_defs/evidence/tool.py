"""The locked venv the SBOM and provenance scripts run in, and processes that run them.

The scripts (`tools/`) import CycloneDX and in-toto libraries that cannot live in Pants'
own venv, so they run as sandboxed processes; their inputs and outputs are digests, and
Pants caches them like any build step.
"""

from __future__ import annotations

import pkgutil
from dataclasses import dataclass

from pants.backend.python.target_types import PythonRequirementsField
from pants.backend.python.util_rules.pex import PexRequest, VenvPex, VenvPexProcess, VenvPexRequest
from pants.backend.python.util_rules.pex_environment import PexEnvironment
from pants.backend.python.util_rules.pex_from_targets import PexFromTargetsRequest
from pants.engine.addresses import Address, Addresses, UnparsedAddressInputs
from pants.engine.fs import CreateDigest, Digest, FileContent, MergeDigests
from pants.engine.internals.selectors import Get
from pants.engine.process import Process
from pants.engine.rules import collect_rules, rule
from pants.engine.target import TransitiveTargets, TransitiveTargetsRequest
from pants.util.logging import LogLevel

from build_defs.evidence.subsystem import EvidenceSubsystem

TOOLS_DIR = "evidence_tools"
# The scripts, and the standard-library modules they share with the plugin: file name in
# the sandbox -> (package, path in it).
_FILES = {
    "wheel_sbom.py": (__package__, "tools/wheel_sbom.py"),
    "intoto_statement.py": (__package__, "tools/intoto_statement.py"),
    "validate_sbom.py": (__package__, "tools/validate_sbom.py"),
    "wheel_record.py": (__package__, "wheel_record.py"),
    "bundled_libraries.py": ("build_defs.platforms", "bundled_libraries.py"),
}


@dataclass(frozen=True)
class EvidenceTool:
    venv: VenvPex
    scripts: Digest  # the scripts, under `evidence_tools/`


@dataclass(frozen=True)
class EvidenceProcessRequest:
    script: str  # a file name in `tools/`
    args: tuple[str, ...]
    input_digest: Digest
    description: str
    output_directories: tuple[str, ...] = ()
    output_files: tuple[str, ...] = ()


@rule(desc="Prepare the SBOM and provenance tools", level=LogLevel.DEBUG)
async def evidence_tool(evidence: EvidenceSubsystem, pex_env: PexEnvironment) -> EvidenceTool:
    addresses = await Get(
        Addresses,
        UnparsedAddressInputs(
            evidence.requirements,
            owning_address=None,
            description_of_origin="the `[evidence].requirements` option",
        ),
    )
    closure = await Get(TransitiveTargets, TransitiveTargetsRequest(addresses))
    requirements: list[Address] = sorted(
        t.address for t in closure.closure if t.has_field(PythonRequirementsField)
    )
    pex_request = await Get(
        PexRequest,
        PexFromTargetsRequest(
            requirements,
            output_filename="evidence.pex",
            internal_only=True,
            include_source_files=False,
            description="SBOM and provenance tools",
        ),
    )
    venv = await Get(
        VenvPex, VenvPexRequest(pex_request, pex_env.in_sandbox(working_directory=None))
    )
    scripts = await Get(
        Digest,
        CreateDigest(
            [
                FileContent(f"{TOOLS_DIR}/{name}", pkgutil.get_data(package, path) or b"")
                for name, (package, path) in sorted(_FILES.items())
            ]
        ),
    )
    return EvidenceTool(venv, scripts)


@rule(desc="Run an evidence tool", level=LogLevel.DEBUG)
async def evidence_process(request: EvidenceProcessRequest, tool: EvidenceTool) -> Process:
    input_digest = await Get(Digest, MergeDigests([request.input_digest, tool.scripts]))
    return await Get(
        Process,
        VenvPexProcess(
            tool.venv,
            argv=(f"{TOOLS_DIR}/{request.script}", *request.args),
            input_digest=input_digest,
            output_directories=request.output_directories,
            output_files=request.output_files,
            description=request.description,
            level=LogLevel.DEBUG,
        ),
    )


def rules():
    return collect_rules()
