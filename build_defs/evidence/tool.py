"""The locked venv the SBOM and provenance scripts run in, and processes that run them.

The scripts (`tools/`) import CycloneDX and in-toto libraries that cannot live in Pants'
own venv, so they run as sandboxed processes; their inputs and outputs are digests, and
Pants caches them like any build step.
"""

from __future__ import annotations

import pkgutil
from dataclasses import dataclass

from pants.backend.python.util_rules.pex import VenvPex, VenvPexProcess
from pants.engine.addresses import Address, Addresses, UnparsedAddressInputs
from pants.engine.fs import CreateDigest, Digest, FileContent, MergeDigests
from pants.engine.internals.selectors import Get
from pants.engine.process import Process
from pants.engine.rules import collect_rules, rule
from pants.engine.target import FieldSet, InferDependenciesRequest, InferredDependencies
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from build_defs.evidence.subsystem import EvidenceSubsystem
from build_defs.toolchains.interpreter import Interpreter, InterpreterRequest
from build_defs.toolchains.tool_env import ToolEnv, ToolEnvRequest
from build_defs.wheels.target_types import MesonWheelSourceField, MesonWheelToolchainField

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
    interpreter: Interpreter
    installed: tuple[str, ...]  # what pex installed into the venv (`ToolEnv.installed`)


@dataclass(frozen=True)
class EvidenceProcessRequest:
    script: str  # a file name in `tools/`
    args: tuple[str, ...]
    input_digest: Digest
    description: str
    output_directories: tuple[str, ...] = ()
    output_files: tuple[str, ...] = ()


@rule(desc="Prepare the SBOM and provenance tools", level=LogLevel.DEBUG)
async def evidence_tool(evidence: EvidenceSubsystem) -> EvidenceTool:
    (interpreter_address,) = await Get(
        Addresses,
        UnparsedAddressInputs(
            (evidence.interpreter,),
            owning_address=None,
            description_of_origin="the `[evidence].interpreter` option",
        ),
    )
    interpreter = await Get(Interpreter, InterpreterRequest(interpreter_address))
    env = await Get(
        ToolEnv,
        ToolEnvRequest(tuple(evidence.requirements), interpreter_address, interpreter, "evidence"),
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
    assert env.venv, "the evidence tools run on a host interpreter"
    return EvidenceTool(env.venv, scripts, interpreter, env.installed)


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
            # Keyed on the exact interpreter: an upgraded one runs the tools again.
            extra_env=tool.interpreter.env,
        ),
    )


@dataclass(frozen=True)
class WheelEvidenceFieldSet(FieldSet):
    required_fields = (MesonWheelSourceField, MesonWheelToolchainField)


class InferWheelEvidenceDependencies(InferDependenciesRequest):
    infer_from = WheelEvidenceFieldSet


@rule(desc="Infer the evidence tools that write into a wheel")
async def infer_wheel_evidence_dependencies(
    request: InferWheelEvidenceDependencies, evidence: EvidenceSubsystem
) -> InferredDependencies:
    """The SBOM written into a wheel is part of its bytes: the tools' requirement set, their
    interpreter and their scripts are inputs of the wheel, like its compiler."""
    addresses = await Get(
        Addresses,
        UnparsedAddressInputs(
            (*evidence.requirements, evidence.interpreter, *evidence.tool_sources),
            owning_address=None,
            description_of_origin="the `[evidence]` options",
        ),
    )
    return InferredDependencies(addresses)


def rules():
    return [*collect_rules(), UnionRule(InferDependenciesRequest, InferWheelEvidenceDependencies)]
