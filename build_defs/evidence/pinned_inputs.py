"""Every pinned input in a target's transitive graph, with its digest: what provenance
lists as resolved dependencies and what `pants verify` compares with today's pins.

Read from the graph, never declared twice: a target pinning a file (`filename` +
`sha256`: sources, native libraries, toolchains) gives that file; a target built from
pinned Debian packages (a target interpreter's headers, a toolchain's runtime archives)
gives each package, and the signed index that vouched for its pin (read from the
manifest, `[artifact-store].manifest`: the suite's `Packages.xz` sha256 and its `InRelease`
date, as `pin.py` verified them); a lockfile target gives
the distributions it locks that were installed into the venvs that made the artifact
(when the caller knows them, `installed`: the build, repair and SBOM venvs of a wheel; pex
picks them by the interpreter's version and the platform, so two hosts of one platform
name the same ones), else every one; an interpreter target gives its machine-independent
ABI digest. Two inputs sit outside the target graph and are added here: the engine's own
pins (`[evidence].engine_requirements`, the hashed files `./pants` installs Pants and pex
from) and the repository's commit, when the build runs in a git worktree.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pants.core.target_types import LockfileSourceField
from pants.engine.addresses import Address
from pants.engine.fs import Digest, DigestContents, PathGlobs
from pants.engine.internals.selectors import Get, MultiGet
from pants.engine.rules import collect_rules, rule
from pants.engine.target import (
    HydratedSources,
    HydrateSourcesRequest,
    Target,
    TransitiveTargets,
    TransitiveTargetsRequest,
)
from pants.option.global_options import GlobMatchErrorBehavior
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel
from pants.vcs.git import GitWorktreeRequest, MaybeGitWorktree

from build_defs.evidence.subsystem import EvidenceSubsystem
from build_defs.inputs.subsystem import ArtifactStore
from build_defs.inputs.target_types import (
    DebianPackagesField,
    PinnedFilenameField,
    PinnedSha256Field,
    SourceVersionField,
    UpstreamCommitField,
    UpstreamRepositoryField,
    UpstreamTagField,
)
from build_defs.toolchains.interpreter import Interpreter, InterpreterRequest
from build_defs.toolchains.target_types import (
    CPythonVersionField,
    DebianEmulatorPackagesField,
    DebianTestPackagesField,
    SourceCPythonLibrariesField,
    SourceCPythonSignatureField,
    SourceCPythonSourceField,
)

PINNED_FILE = "pinned-file"
LOCKED_DISTRIBUTION = "locked-distribution"
INTERPRETER = "interpreter"
ENGINE = "engine"
REPOSITORY = "repository"
SIGNED_INDEX = "signed-index"


@dataclass(frozen=True)
class PinnedInput:
    """One resolved dependency: a file (or interpreter ABI, or commit) and its digest."""

    name: str
    digest: FrozenDict[str, str]
    kind: str
    # The target (or, for engine pins, the file) that pins it: where `verify` looks it up.
    pinned_by: str
    annotations: FrozenDict[str, str] = FrozenDict()

    def as_descriptor(self) -> dict:
        """An in-toto ResourceDescriptor, as JSON."""
        return {
            "name": self.name,
            "digest": dict(self.digest),
            "annotations": {"kind": self.kind, "pinnedBy": self.pinned_by, **self.annotations},
        }

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.pinned_by, self.name)


@dataclass(frozen=True)
class PinnedInputsRequest:
    address: Address
    # File names of the distributions installed into the venvs that made the artifact; a
    # lockfile's other artifacts (another platform's wheels, an sdist a wheel replaced) were
    # not inputs. None: every locked artifact.
    installed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PinnedInputs:
    inputs: tuple[PinnedInput, ...]


def build_debian_packages(tgt: Target) -> tuple[FrozenDict, ...]:
    """The pinned Debian packages a target builds from (`debian_packages`, a toolchain's
    `runtime_packages`, an interpreter's `root_packages`). A target interpreter's
    `test_packages` and `emulator_packages` only make and run the root file system wheels
    are tested in, so they are not inputs of a wheel."""
    return tuple(
        package
        for field in tgt.field_values.values()
        if isinstance(field, DebianPackagesField)
        and not isinstance(field, (DebianTestPackagesField, DebianEmulatorPackagesField))
        for package in field.value or ()
    )


def built_from_sources(tgt: Target) -> tuple[FrozenDict, ...]:
    """The pinned Debian source files a target compiles (a `source_cpython`'s CPython and C
    library archives), with upstream's signature and the archive of the keys it was checked
    with: inputs of every wheel built for it, like its build packages."""
    if not tgt.has_field(SourceCPythonSourceField):
        return ()
    libraries = tgt[SourceCPythonLibrariesField].value or ()
    signature = tgt[SourceCPythonSignatureField].value
    return (
        tgt[SourceCPythonSourceField].value,
        *(lib["source"] for lib in libraries),
        *((signature["signature"], signature["keys"]) if signature else ()),
    )


def parse_lockfile(text: str, pinned_by: str) -> list[PinnedInput]:
    """Each artifact a Pants (pex) lockfile locks, by file name and hash."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    lock = json.loads(body)
    inputs = []
    for resolve in lock.get("locked_resolves", ()):
        for req in resolve.get("locked_requirements", ()):
            for artifact in req.get("artifacts", ()):
                inputs.append(
                    PinnedInput(
                        name=artifact["url"].rsplit("/", 1)[-1],
                        digest=FrozenDict({artifact["algorithm"]: artifact["hash"]}),
                        kind=LOCKED_DISTRIBUTION,
                        pinned_by=pinned_by,
                        annotations=FrozenDict(
                            {"requirement": f"{req['project_name']}=={req['version']}"}
                        ),
                    )
                )
    return inputs


_HASHED_REQUIREMENT = re.compile(
    r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s*\\?\s*--hash=\S+)+)", re.M
)


def parse_hashed_requirements(
    text: str, projects: tuple[str, ...], pinned_by: str
) -> list[PinnedInput]:
    """The named projects' pins in a `--require-hashes` requirements file."""
    wanted = {normalize_project(p) for p in projects}
    found = []
    for m in _HASHED_REQUIREMENT.finditer(text.replace("\\\n", " ")):
        name, version, hashes = m.group(1), m.group(2), m.group(3)
        if normalize_project(name) not in wanted:
            continue
        wanted.discard(normalize_project(name))
        for alg, value in re.findall(r"--hash=(\w+):([0-9a-f]+)", hashes):
            found.append(
                PinnedInput(
                    f"{normalize_project(name)}=={version}",
                    FrozenDict({alg: value}),
                    ENGINE,
                    pinned_by,
                )
            )
    if wanted:
        raise ValueError(
            f"{pinned_by} pins no {sorted(wanted)} (see `[evidence].engine_requirements`)."
        )
    return found


def debian_signed_indexes(
    manifest: dict, packages: list[PinnedInput], manifest_path: str
) -> tuple[list[PinnedInput], list[PinnedInput]]:
    """(the packages, each annotated with the index its pin was read from; one input per
    signed index). A Debian set in the manifest records the index `pin.py` verified
    (`signed_index`); a package no signed index vouches for stops the build: it was pinned
    before the chain was checked, or by hand."""
    records = {
        name: spec["signed_index"]
        for name, spec in manifest.get("sets", {}).items()
        if "debian" in spec and "signed_index" in spec
    }
    vouched: dict[tuple[str, str], dict] = {}
    for artifact in manifest.get("artifacts", ()):
        for set_name in sorted(artifact.get("sets", ())):
            if set_name in records:
                key = (artifact["filename"], artifact["sha256"])
                vouched.setdefault(key, records[set_name])
    annotated, indexes = [], {}
    for package in packages:
        record = vouched.get((package.name, package.digest["sha256"]))
        if record is None:
            raise ValueError(
                f"{package.name} (sha256 {package.digest['sha256']}, pinned by "
                f"{package.pinned_by}) is in no Debian set of {manifest_path} that records the "
                "signed index it was read from. Pin it through Debian's signed chain: "
                "`$(pyenv root)/versions/3.9.18/bin/python build_defs/bootstrap/pin.py SET` "
                "(docs/pins-and-bumping.md)."
            )
        name = f"{record['suite']}/{record['index']}"
        annotated.append(
            PinnedInput(
                package.name,
                package.digest,
                package.kind,
                package.pinned_by,
                FrozenDict({**package.annotations, "signedIndex": name}),
            )
        )
        facts = {
            "inreleaseDate": record["inrelease_date"],
            "inreleaseSha256": record["inrelease_sha256"],
            "signedBy": ",".join(record["signed_by"]),
        }
        if "expired_accepted" in record:
            facts["expiredAccepted"] = record["expired_accepted"]
        index = PinnedInput(
            name,
            FrozenDict({"sha256": record["index_sha256"]}),
            SIGNED_INDEX,
            manifest_path,
            FrozenDict(facts),
        )
        indexes[(index.name, index.digest["sha256"])] = index
    return annotated, list(indexes.values())


def _project_version(filename: str) -> tuple[str, str]:
    """(normalized project, version) of a wheel or sdist file name."""
    if filename.endswith(".whl"):
        project, version = filename.split("-")[:2]
    else:
        stem = filename
        for ext in (".tar.gz", ".zip", ".tar.bz2"):
            if stem.endswith(ext):
                stem = stem[: -len(ext)]
        project, _, version = stem.rpartition("-")
    return normalize_project(project), version


def installed_only(inputs: list[PinnedInput], installed: tuple[str, ...]) -> list[PinnedInput]:
    """The locked distributions that were installed, and every other input: a locked wheel
    by its file name; a locked sdist when a wheel of the same project and version that no
    lockfile lists (pex built it from that sdist) was installed in its place."""
    names = set(installed)
    locked = {i.name for i in inputs if i.kind == LOCKED_DISTRIBUTION}
    built_here = {_project_version(n) for n in names - locked}
    return [
        i
        for i in inputs
        if i.kind != LOCKED_DISTRIBUTION
        or i.name in names
        or (not i.name.endswith(".whl") and _project_version(i.name) in built_here)
    ]


def manifest_installed(
    manifest: dict, inputs: list[PinnedInput], installed: tuple[str, ...], manifest_path: str
) -> list[PinnedInput]:
    """Installed distributions that no lockfile lists but the manifest pins: what a tool
    environment made in a root file system installs from a requirement set's pinned wheels
    (e.g. a wheel for a CPython the lockfiles do not cover)."""
    listed = {i.name for i in inputs if i.kind == LOCKED_DISTRIBUTION}
    pinned = {a["filename"]: a for a in manifest.get("artifacts", ())}
    return [
        PinnedInput(
            name,
            FrozenDict({"sha256": pinned[name]["sha256"]}),
            LOCKED_DISTRIBUTION,
            manifest_path,
            FrozenDict(),
        )
        for name in sorted(set(installed) - listed)
        if name in pinned
    ]


def normalize_project(name: str) -> str:
    """A project name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


@rule(desc="Collect the pinned inputs of a target", level=LogLevel.DEBUG)
async def pinned_inputs(
    request: PinnedInputsRequest, evidence: EvidenceSubsystem, store: ArtifactStore
) -> PinnedInputs:
    transitive = await Get(TransitiveTargets, TransitiveTargetsRequest([request.address]))
    inputs: list[PinnedInput] = []
    debian_packages: list[PinnedInput] = []
    lockfiles, interpreters = [], []
    for tgt in transitive.closure:
        if tgt.has_field(PinnedSha256Field) and tgt.has_field(PinnedFilenameField):
            described = {
                key: tgt[field].value
                for key, field in (
                    ("version", SourceVersionField),
                    ("upstreamRepository", UpstreamRepositoryField),
                    ("upstreamTag", UpstreamTagField),
                    ("upstreamCommit", UpstreamCommitField),
                )
                if tgt.has_field(field) and tgt[field].value
            }
            inputs.append(
                PinnedInput(
                    tgt[PinnedFilenameField].value,
                    FrozenDict({"sha256": tgt[PinnedSha256Field].value}),
                    PINNED_FILE,
                    tgt.address.spec,
                    FrozenDict(described),
                )
            )
        elif tgt.has_field(LockfileSourceField):
            lockfiles.append(tgt)
        elif tgt.has_field(CPythonVersionField):
            interpreters.append(tgt.address)
        for package in (*build_debian_packages(tgt), *built_from_sources(tgt)):
            debian_packages.append(
                PinnedInput(
                    package["filename"],
                    FrozenDict({"sha256": package["sha256"]}),
                    PINNED_FILE,
                    tgt.address.spec,
                    FrozenDict({"source": "debian"}),
                )
            )
    sources = await MultiGet(
        Get(HydratedSources, HydrateSourcesRequest(t[LockfileSourceField])) for t in lockfiles
    )
    for tgt, hydrated in zip(lockfiles, sources):
        for fc in await Get(DigestContents, Digest, hydrated.snapshot.digest):
            inputs.extend(parse_lockfile(fc.content.decode("utf-8"), tgt.address.spec))
    # Installed distributions no lockfile lists may be pinned by the manifest instead.
    locked = {i.name for i in inputs if i.kind == LOCKED_DISTRIBUTION}
    unlocked = set(request.installed or ()) - locked
    manifest: dict = {}
    if debian_packages or unlocked:
        # Debian packages need the manifest's signed indexes; installed files only may be
        # pinned there (a project without a manifest has none).
        strict = bool(debian_packages)
        manifest_files = await Get(
            DigestContents,
            PathGlobs(
                [store.manifest],
                glob_match_error_behavior=(
                    GlobMatchErrorBehavior.error if strict else GlobMatchErrorBehavior.ignore
                ),
                description_of_origin=(
                    "the `[artifact-store].manifest` option" if strict else None
                ),
            ),
        )
        manifest = json.loads(manifest_files[0].content) if manifest_files else {}
    if debian_packages:
        # One entry per package and target that pins it (a root's package may also be in a
        # source_cpython's build root): the graph names both.
        unique = list(
            {(p.name, p.digest["sha256"], p.pinned_by): p for p in debian_packages}.values()
        )
        packages, indexes = debian_signed_indexes(manifest, unique, store.manifest)
        inputs.extend(packages + indexes)
    for interpreter in await MultiGet(
        Get(Interpreter, InterpreterRequest(a)) for a in interpreters
    ):
        inputs.append(
            PinnedInput(
                f"cpython-{interpreter.facts['version']}",
                FrozenDict({"sha256": interpreter.abi_digest}),
                INTERPRETER,
                interpreter.address.spec,
                # A target interpreter (cross builds) comes from the Debian packages recorded
                # with it, not from the host.
                FrozenDict(
                    {
                        **interpreter.abi_facts,
                        **(
                            {"targetTriplet": interpreter.cross.triplet}
                            if interpreter.cross
                            else {}
                        ),
                        # An interpreter that runs in a root file system of pinned packages
                        # (listed as inputs beside it), not one found on the host.
                        **(
                            {"rootFileSystem": f"{len(interpreter.root_packages)} Debian packages"}
                            if interpreter.root_packages and not interpreter.cross
                            else {}
                        ),
                    }
                ),
            )
        )
    engine = dict(evidence.engine_requirements)
    if engine:
        contents = await Get(
            DigestContents,
            PathGlobs(
                sorted(engine),
                glob_match_error_behavior=GlobMatchErrorBehavior.error,
                description_of_origin="the `[evidence].engine_requirements` option",
            ),
        )
        for fc in contents:
            projects = tuple(p.strip() for p in engine[fc.path].split(","))
            inputs.extend(parse_hashed_requirements(fc.content.decode("utf-8"), projects, fc.path))
    worktree = await Get(MaybeGitWorktree, GitWorktreeRequest())
    if worktree.git_worktree is not None:
        git = worktree.git_worktree
        # A commit describes the inputs only if nothing outside it was changed.
        modified = bool(git.changed_files(include_untracked=True))
        inputs.append(
            PinnedInput(
                "repository",
                FrozenDict({"gitCommit": git.commit_id}),
                REPOSITORY,
                "git HEAD",
                FrozenDict({"worktree": "modified" if modified else "clean"}),
            )
        )
    if request.installed is not None:
        inputs = installed_only(inputs, request.installed)
        inputs.extend(manifest_installed(manifest, inputs, request.installed, store.manifest))
    return PinnedInputs(tuple(sorted(inputs, key=lambda i: (i.key, sorted(i.digest.items())))))


def rules():
    return collect_rules()
