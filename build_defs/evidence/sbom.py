"""A CycloneDX SBOM inside every wheel (PEP 770), and the finished wheel that carries it.

The rule gathers what only the graph knows: the vendored components its source declares
(`vendored_components`, each checked against the source tree and its version read from it
where declared so), the native libraries the wheel may bundle, with their pinned wheels
and licenses, the toolchain's runtime archives linked into its extensions (e.g. libgcc
from a pinned Debian package), and the pinned Debian packages of a Debian CPython's build
(its root file system, a cross target's headers). `tools/wheel_sbom.py` reads the rest from
the wheel itself, writes the SBOM into `.dist-info/sboms/` and rewrites RECORD.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from pants.engine.addresses import Address, Addresses, UnparsedAddressInputs
from pants.engine.fs import (
    CreateDigest,
    Digest,
    DigestContents,
    DigestSubset,
    FileContent,
    MergeDigests,
    PathGlobs,
    RemovePrefix,
    Snapshot,
)
from pants.engine.internals.selectors import Get, MultiGet
from pants.engine.process import ProcessResult
from pants.engine.rules import collect_rules, rule
from pants.engine.target import WrappedTarget, WrappedTargetRequest
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.evidence.tool import EvidenceProcessRequest, EvidenceTool
from build_defs.inputs.project_source import SOURCE_DIR, ProjectTree, ProjectTreeRequest
from build_defs.inputs.target_types import VendoredComponentsField
from build_defs.toolchains.interpreter import Interpreter
from build_defs.toolchains.tool_env import ToolEnv
from build_defs.wheels.build_wheel import (
    BuildWheelRequest,
    BuiltWheel,
    MesonWheelFieldSet,
    check_buildable_here,
    interpreter_for,
)
from build_defs.wheels.repair_wheel import (
    REPAIR_OUT,
    RepairedWheel,
    RepairWheelRequest,
    repair_env_request,
)
from build_defs.wheels.root_tools import PlacedToolEnvRequest

SBOM_OUT = "with_sbom"


class SbomError(Exception):
    pass


@dataclass(frozen=True)
class VendoredComponentsRequest:
    source: Address


@dataclass(frozen=True)
class VendoredComponents:
    """Each declared component, its path checked and its version resolved from the source."""

    entries: tuple[FrozenDict[str, str], ...]


def read_version(entry: FrozenDict, text: str, address: Address) -> str:
    match = re.search(entry["version_pattern"], text, re.M)
    if not match:
        raise SbomError(
            f"{address}: the `version_pattern` of vendored component {entry['name']} "
            f"({entry['version_pattern']!r}) matches nothing in {entry['path']}/{entry['version_file']}. "
            "Fix the pattern in `vendored_components`."
        )
    return ".".join(g for g in match.groups() if g is not None) or match.group(0)


@rule(desc="Read the vendored components of a source", level=LogLevel.DEBUG)
async def vendored_components(request: VendoredComponentsRequest) -> VendoredComponents:
    wrapped = await Get(
        WrappedTarget, WrappedTargetRequest(request.source, description_of_origin="an SBOM")
    )
    declared = wrapped.target.get(VendoredComponentsField).value or ()
    if not declared:
        return VendoredComponents(())
    tree = await Get(ProjectTree, ProjectTreeRequest(request.source))
    snapshot = await Get(Snapshot, Digest, tree.digest)
    present = set(snapshot.files) | set(snapshot.dirs)
    entries = []
    for entry in declared:
        path = f"{SOURCE_DIR}/{entry['path'].strip('/')}"
        if path not in present:
            raise SbomError(
                f"{request.source}: vendored component {entry['name']} is declared at "
                f"{entry['path']}, which is not in the source. Fix `vendored_components`."
            )
        resolved = {
            k: entry[k] for k in ("name", "path", "license", "version", "note") if k in entry
        }
        if "version_file" in entry:
            version_path = f"{path}/{entry['version_file']}"
            subset = await Get(Digest, DigestSubset(tree.digest, PathGlobs([version_path])))
            contents = await Get(DigestContents, Digest, subset)
            if not contents:
                raise SbomError(
                    f"{request.source}: the `version_file` of vendored component {entry['name']} "
                    f"({entry['path']}/{entry['version_file']}) is not in the source."
                )
            resolved["version"] = read_version(
                entry, contents[0].content.decode("utf-8", "replace"), request.source
            )
        entries.append(FrozenDict(resolved))
    return VendoredComponents(tuple(entries))


@dataclass(frozen=True)
class WheelSbomRequest:
    field_set: MesonWheelFieldSet
    built: BuiltWheel
    repaired: RepairedWheel


@dataclass(frozen=True)
class FinishedWheel:
    """The repaired wheel with its SBOM: the one `package` writes and `wheel_test` installs."""

    digest: Digest  # the wheel alone, at the digest's root
    filename: str
    sha256: str
    size: int
    built: BuiltWheel
    # Every distribution installed into a venv that wrote its bytes (build, repair, SBOM).
    installed: tuple[str, ...]


@dataclass(frozen=True)
class FinishedWheelRequest:
    field_set: MesonWheelFieldSet
    # Set by `repro-check`: fresh, uncached build and repair.
    nonce: str = ""


def sbom_request(vendored: VendoredComponents, built: BuiltWheel, wheel_name: str) -> dict:
    """What the SBOM tool needs from the graph, as JSON."""
    return {
        "sbom_name": f"{wheel_name.split('-', 1)[0]}.cdx.json",
        "source_date_epoch": built.source_date_epoch,
        "vendored": [dict(e) for e in vendored.entries],
        "bundled_origins": [
            {
                "address": lib.address.spec,
                "patterns": list(lib.bundled_libraries),
                "project": lib.project,
                "version": lib.version,
                "filename": lib.filename,
                "sha256": lib.sha256,
                "license": lib.license_expression,
            }
            for lib in built.native_libraries
        ],
        "linked_runtime": [dict(entry) for entry in built.linked_runtime],
        "build_environment": build_environment(built.interpreter),
    }


def build_environment(interpreter: Interpreter) -> dict | None:
    """The pinned Debian packages a wheel was built with, for its SBOM: the root file system
    its build ran in (the interpreter's own packages among them) and, for a cross build, the
    target interpreter's headers. None for a host CPython: its fingerprint is a host fact,
    which the provenance and `.build-host.json` carry, not the wheel."""
    headers = interpreter.cross.header_packages if interpreter.cross else ()
    if not interpreter.root_packages and not headers:
        return None
    return {
        "interpreter": interpreter.address.spec,
        "cpython": interpreter.facts["version"],
        "root_packages": [dict(p) for p in interpreter.root_packages],
        "target_packages": [dict(p) for p in headers],
    }


@rule(desc="Write the SBOM into a wheel", level=LogLevel.DEBUG)
async def wheel_with_sbom(request: WheelSbomRequest, tool: EvidenceTool) -> FinishedWheel:
    fs = request.field_set
    (source,) = await Get(
        Addresses,
        UnparsedAddressInputs(
            (fs.source.value,),
            owning_address=fs.address,
            description_of_origin=f"the `source` of {fs.address}",
        ),
    )
    vendored = await Get(VendoredComponents, VendoredComponentsRequest(source))
    wheel_digest = await Get(Digest, RemovePrefix(request.repaired.digest, REPAIR_OUT))
    name = request.repaired.filename.rsplit("/", 1)[-1]
    request_json = json.dumps(sbom_request(vendored, request.built, name), indent=2, sort_keys=True)
    request_digest = await Get(
        Digest, CreateDigest([FileContent("sbom_request.json", request_json.encode())])
    )
    result = await Get(
        ProcessResult,
        EvidenceProcessRequest(
            "wheel_sbom.py",
            ("sbom_request.json", name, SBOM_OUT),
            await Get(Digest, MergeDigests([wheel_digest, request_digest])),
            f"Write the SBOM into {name}",
            output_directories=(SBOM_OUT,),
        ),
    )
    digest = await Get(Digest, RemovePrefix(result.output_digest, SBOM_OUT))
    (wheel,) = await Get(DigestContents, Digest, digest)
    return FinishedWheel(
        digest,
        wheel.path,
        hashlib.sha256(wheel.content).hexdigest(),
        len(wheel.content),
        request.built,
        tuple(sorted({*request.built.installed, *request.repaired.installed, *tool.installed})),
    )


@rule(desc="Build, repair and document a wheel", level=LogLevel.DEBUG)
async def finished_wheel(request: FinishedWheelRequest) -> FinishedWheel:
    """What does not need the built wheel is prepared while it builds: the repair tools'
    environment and the SBOM tools (their interpreter and venv). One after another after
    the build, they were 4.7 s of a cold NumPy wheel's critical path (2026-12-06)."""
    fs = request.field_set
    interpreter = await interpreter_for(fs)
    # A wheel that cannot be built here stops before anything is prepared for it.
    check_buildable_here(fs, interpreter.cross.wheel_platform if interpreter.cross else None)
    built, _, _ = await MultiGet(
        Get(BuiltWheel, BuildWheelRequest(fs, request.nonce)),
        Get(ToolEnv, PlacedToolEnvRequest(repair_env_request(fs, interpreter))),
        Get(EvidenceTool),
    )
    repaired = await Get(RepairedWheel, RepairWheelRequest(fs, built, request.nonce))
    return await Get(FinishedWheel, WheelSbomRequest(request.field_set, built, repaired))


def rules():
    return collect_rules()
