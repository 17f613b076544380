"""Locked tool environments for an interpreter that runs in a root file system.

Pants' pex cannot make these: the pinned pex resolves only for CPythons it knows, and the
interpreter cannot run on the host anyway. So the venv is made inside the root, by the
root's own CPython (`-m venv`) and the pip wheel its Debian packages ship, from exactly the
pinned wheels of the requirement set (the manifest's set named like the resolve, each
verified by sha256 on its way from the store), with no index and the resolve's constraints
file. pip picks the artifact each requirement has for this interpreter; its report names
them for the provenance. The venv is a cached process output made at its final path under
the fixed build root, where every later process of the root finds it again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pants.backend.python.subsystems.setup import PythonSetup
from pants.backend.python.target_types import (
    PythonRequirementResolveField,
    PythonRequirementsField,
)
from pants.core.util_rules.system_binaries import BashBinary
from pants.engine.fs import (
    AddPrefix,
    CreateDigest,
    Digest,
    DigestContents,
    FileContent,
    MergeDigests,
    PathGlobs,
)
from pants.engine.internals.selectors import Get, MultiGet
from pants.engine.process import Process, ProcessResult
from pants.engine.rules import collect_rules, rule
from pants.option.global_options import GlobMatchErrorBehavior
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from build_defs.inputs.store_artifact import StoreArtifact, StoreArtifactRequest
from build_defs.inputs.subsystem import ArtifactStore
from build_defs.toolchains.tool_env import ToolEnv, ToolEnvRequest, requirement_targets
from build_defs.wheels.isolation import Isolation, process_script
from build_defs.wheels.root_fs import root_fs_for


@dataclass(frozen=True)
class RootToolEnvRequest:
    request: ToolEnvRequest


class RootToolEnvError(Exception):
    pass


@dataclass(frozen=True)
class PlacedToolEnvRequest:
    """The tool environment of `request`, made where its interpreter runs. A rule's input
    (not only `tool_env_for`'s), so a caller can prepare an environment in a `MultiGet`
    beside other work: the finished wheel prepares its repair tools while the wheel builds."""

    request: ToolEnvRequest


@rule(desc="Prepare a tool environment where its interpreter runs", level=LogLevel.DEBUG)
async def placed_tool_env(placed: PlacedToolEnvRequest) -> ToolEnv:
    """A pex venv on a host interpreter, a venv made in the root for an interpreter that
    runs in a root file system."""
    request = placed.request
    if request.interpreter.root_packages:
        return await Get(ToolEnv, RootToolEnvRequest(request))
    return await Get(ToolEnv, ToolEnvRequest, request)


async def tool_env_for(request: ToolEnvRequest) -> ToolEnv:
    """The tool environment of `request`, wherever its interpreter runs."""
    return await Get(ToolEnv, PlacedToolEnvRequest(request))


def wheel_matches(filename: str, cpu: str) -> bool:
    """Whether a pinned wheel can run on Linux `cpu` at all (pip chooses among those)."""
    platform_tag = filename[: -len(".whl")].rsplit("-", 1)[-1]
    return platform_tag == "any" or any(
        tag.endswith(f"_{cpu}") and ("linux" in tag) for tag in platform_tag.split(".")
    )


@rule(desc="Prepare a locked tool environment in a root file system", level=LogLevel.DEBUG)
async def root_tool_env(
    wrapped: RootToolEnvRequest,
    isolation: Isolation,
    bash: BashBinary,
    store: ArtifactStore,
    python_setup: PythonSetup,
) -> ToolEnv:
    request = wrapped.request
    interpreter = request.interpreter
    targets = await requirement_targets(request)
    resolves = sorted(
        {t[PythonRequirementResolveField].normalized_value(python_setup) for t in targets}
    )
    if len(resolves) != 1:
        raise RootToolEnvError(
            f"The {request.name} environment of {request.owner} must come from one resolve, "
            f"not {resolves or 'none'}."
        )
    (resolve,) = resolves
    requirements = sorted({str(r) for t in targets for r in t[PythonRequirementsField].value})
    constraints_path = python_setup.resolves_to_constraints_file(()).get(resolve)
    globs = [store.manifest, *([constraints_path] if constraints_path else [])]
    files = await Get(
        DigestContents,
        PathGlobs(
            globs,
            glob_match_error_behavior=GlobMatchErrorBehavior.error,
            description_of_origin=f"the manifest and the constraints of resolve {resolve}",
        ),
    )
    by_path = {fc.path: fc.content for fc in files}
    manifest = json.loads(by_path[store.manifest])
    # The architecture the tools run on: the build interpreter's, for a cross target.
    cpu = interpreter.facts.get("build_triplet", interpreter.facts["target_triplet"]).split("-")[0]
    pinned = [
        a
        for a in manifest["artifacts"]
        if resolve in a.get("sets", ()) and wheel_matches(a["filename"], cpu)
    ]
    if not pinned:
        raise RootToolEnvError(
            f"The manifest {store.manifest} pins no wheel of set {resolve!r} for Linux {cpu}: "
            f"add CPython {interpreter.version} to the set's `pythons` and run "
            f"`build_defs/bootstrap/pin.py {resolve}`."
        )
    wheels = await MultiGet(
        Get(
            StoreArtifact,
            StoreArtifactRequest(a["filename"], a["sha256"], a["size"], request.owner),
        )
        for a in pinned
    )
    wheels_dir = f".{request.name}-wheels"
    prefix = f".tools-{request.name}"
    wheels_digest = await Get(
        Digest, AddPrefix(await Get(Digest, MergeDigests(w.digest for w in wheels)), wheels_dir)
    )
    root = await root_fs_for(interpreter)
    report = f"{prefix}.report.json"
    constraints = f'-c "$ROOT/{request.name}.constraints.txt" ' if constraints_path else ""
    script = process_script(
        "make_tool_env.sh",
        isolation,
        f"""\
        export PATH=/usr/bin:/bin HOME="$ROOT/.home" LC_ALL=C SOURCE_DATE_EPOCH=0
        /usr/bin/python{interpreter.version} -m venv --without-pip "$ROOT/{prefix}"
        pip_wheel="$(echo /usr/share/python-wheels/pip-*.whl)"
        "$ROOT/{prefix}/bin/python" "$pip_wheel/pip" install --isolated --quiet --no-index \\
          --no-cache-dir --no-compile --only-binary=:all: --root-user-action=ignore \\
          --use-deprecated=legacy-certs \\
          --find-links "$ROOT/{wheels_dir}" -r "$ROOT/{request.name}.requirements.txt" \\
          {constraints}--report "$ROOT/{report}"
        """,
        fixed_root=True,
        in_root=True,
    )
    inputs = await Get(
        Digest,
        CreateDigest(
            [
                FileContent("make_tool_env.sh", script.encode()),
                FileContent(
                    f"{request.name}.requirements.txt",
                    "".join(f"{r}\n" for r in requirements).encode(),
                ),
                *(
                    [FileContent(f"{request.name}.constraints.txt", by_path[constraints_path])]
                    if constraints_path
                    else []
                ),
            ]
        ),
    )
    result = await Get(
        ProcessResult,
        Process(
            argv=(bash.path, "make_tool_env.sh"),
            input_digest=await Get(Digest, MergeDigests([inputs, wheels_digest])),
            immutable_input_digests=root.immutable_inputs,
            output_directories=(prefix,),
            output_files=(report,),
            env=FrozenDict({**isolation.env, **interpreter.env, **root.env}),
            description=f"Make the {request.name} environment for CPython {interpreter.facts['version']} in its root",
            level=LogLevel.INFO,
        ),
    )
    contents = await Get(DigestContents, Digest, result.output_digest)
    (report_content,) = [fc.content for fc in contents if fc.path == report]
    installed = tuple(
        sorted(
            item["download_info"]["url"].rsplit("/", 1)[-1]
            for item in json.loads(report_content)["install"]
        )
    )
    return ToolEnv(
        digest=result.output_digest,
        append_only_caches=FrozenDict(),
        interpreter=interpreter,
        installed=installed,
        prefix_lines=f'TOOL_PREFIX="$ROOT/{prefix}"\n',
    )


def rules():
    return collect_rules()
