"""Locked Python tool environments (meson-python, auditwheel, ...) for one CPython version."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from textwrap import dedent
from typing import Optional

from pants.backend.python.target_types import PythonRequirementsField
from pants.backend.python.util_rules.interpreter_constraints import InterpreterConstraints
from pants.backend.python.util_rules.pex import PexRequest, VenvPex, VenvPexRequest
from pants.backend.python.util_rules.pex_environment import PexEnvironment
from pants.backend.python.util_rules.pex_from_targets import PexFromTargetsRequest
from pants.engine.addresses import Address, Addresses, UnparsedAddressInputs
from pants.engine.fs import Digest, DigestContents, DigestSubset, PathGlobs
from pants.engine.internals.selectors import Get
from pants.engine.rules import collect_rules, rule
from pants.engine.target import Target, TransitiveTargets, TransitiveTargetsRequest
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.toolchains.interpreter import Interpreter


@dataclass(frozen=True)
class ToolEnvRequest:
    """A venv holding exactly these locked requirements, on exactly this interpreter."""

    requirements: tuple[str, ...]
    owner: Address
    interpreter: Interpreter
    name: str


@dataclass(frozen=True)
class ToolEnv:
    """A locked tool environment as a process input: `digest` (with `append_only_caches`)
    holds it, `prefix_lines` find its prefix. For a host interpreter it is a pex venv
    (`venv`); for an interpreter in a root file system, a venv made inside that root."""

    digest: Digest
    append_only_caches: FrozenDict[str, str]
    interpreter: Interpreter
    # The file names of the distributions installed (pex's PEX-INFO, pip's report): of each
    # locked requirement, the one artifact this interpreter took (a wheel pex built from a
    # locked sdist has its own name). Provenance names these, not every alternative in the lock.
    installed: tuple[str, ...]
    # Shell lines (`$ROOT` set) that set `TOOL_PREFIX` to the environment's directory.
    prefix_lines: str
    venv: Optional[VenvPex] = None

    @classmethod
    def of_venv(
        cls, venv: VenvPex, interpreter: Interpreter, installed: tuple[str, ...]
    ) -> "ToolEnv":
        return cls(
            venv.digest,
            FrozenDict(venv.append_only_caches or {}),
            interpreter,
            installed,
            f"""TOOL_PREFIX="$("$ROOT/{venv.python.path}" -c 'import sys; print(sys.prefix)')"\n""",
            venv,
        )

    def activate(self) -> str:
        """Shell lines that seed the environment, set `TOOL_PREFIX` to its directory, and stop
        unless it runs on the fingerprinted interpreter."""
        expected = self.interpreter.path
        return self.prefix_lines + dedent(
            f"""\
            base="$("$TOOL_PREFIX/bin/python" -c 'import os, sys; print(os.path.realpath(sys._base_executable))')"
            if [ "$base" != {shlex.quote(expected)} ]; then
              echo "the tool venv runs on $base, not on the fingerprinted {expected} ({self.interpreter.address})" >&2
              exit 71
            fi
            """
        )


async def requirement_targets(request: ToolEnvRequest) -> list[Target]:
    """The `python_requirement` targets a request names; a `python_requirements` generator
    stands for the requirements it generates."""
    addresses = await Get(
        Addresses,
        UnparsedAddressInputs(
            request.requirements,
            owning_address=request.owner,
            description_of_origin=f"the requirements of {request.owner}",
        ),
    )
    closure = await Get(TransitiveTargets, TransitiveTargetsRequest(addresses))
    return [t for t in closure.closure if t.has_field(PythonRequirementsField)]


@rule(desc="Prepare a locked tool environment", level=LogLevel.DEBUG)
async def tool_env(request: ToolEnvRequest, pex_env: PexEnvironment) -> ToolEnv:
    requirements = sorted(t.address for t in await requirement_targets(request))
    pex_request = await Get(
        PexRequest,
        PexFromTargetsRequest(
            requirements,
            output_filename=f"{request.name}.pex",
            internal_only=True,
            include_source_files=False,
            # The exact version fingerprinted; `activate()` checks it is the same binary.
            hardcoded_interpreter_constraints=InterpreterConstraints(
                [f"CPython=={request.interpreter.runner_version}"]
            ),
            description=f"{request.name} environment for CPython {request.interpreter.version}",
        ),
    )
    venv = await Get(
        VenvPex,
        VenvPexRequest(pex_request, pex_env.in_sandbox(working_directory=None)),
    )
    pex_info = await Get(
        DigestContents,
        Digest,
        await Get(Digest, DigestSubset(venv.digest, PathGlobs([f"{venv.pex_filename}/PEX-INFO"]))),
    )
    if len(pex_info) != 1:
        raise ValueError(
            f"The {request.name} environment of {request.owner} has no PEX-INFO at "
            f"{venv.pex_filename}/PEX-INFO: pex no longer writes a packed layout here, so "
            "the installed distributions cannot be read for the provenance."
        )
    installed = tuple(sorted(json.loads(pex_info[0].content)["distributions"]))
    return ToolEnv.of_venv(venv, request.interpreter, installed)


def rules():
    return collect_rules()
