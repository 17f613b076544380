"""`pants package` for `meson_wheel`: build, repair, and write to dist/ the wheel (its sha256
logged) and its build provenance, `<wheel>.provenance.json`."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from pants.build_graph.address import Address, AddressInput
from pants.engine.internals.session import SessionValues
from pants.option.options_bootstrapper import OptionsBootstrapper
from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.fs import EMPTY_DIGEST, CreateDigest, Digest, DigestContents, FileContent, MergeDigests, RemovePrefix
from pants.engine.internals.selectors import Get, MultiGet
from pants.engine.rules import collect_rules, rule
from pants.engine.target import InferredDependencies, WrappedTarget, WrappedTargetRequest
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel
from pants.version import VERSION as PANTS_VERSION

from build_defs.dependency_inference import AddressFieldsRequest
from build_defs.target_types import (
    PinnedFilenameField,
    PinnedSha256Field,
    SourceDateEpochField,
    SourceReleaseDateEpochField,
    SourceVersionField,
    UpstreamCommitField,
    UpstreamRepositoryField,
    UpstreamTagField,
)
from build_defs.toolchains.toolchain import CcToolchain, CcToolchainRequest
from build_defs.wheels.wheel import (
    REPAIR_OUT,
    WrongPlatformError,
    check_buildable_here,
    BuildWheelRequest,
    BuiltWheel,
    MesonWheelFieldSet,
    RepairedWheel,
    RepairWheelRequest,
    host_platform,
    interpreter_for,
)
from build_defs.toolchains.interpreter import InterpreterError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackageMesonWheelFieldSet(MesonWheelFieldSet, PackageFieldSet):
    pass


def logged_artifact(path: str, sha256: str, size: int) -> BuiltPackageArtifact:
    """An artifact whose log line under "Wrote dist/..." gives its sha256 and size."""
    return BuiltPackageArtifact(path, extra_log_lines=(f"    sha256 {sha256}  {size} bytes",))


def _source_record(tgt) -> dict:
    """What a provenance record says about the project source target."""
    record = {"address": tgt.address.spec, "type": tgt.alias}
    for key, field in (
        ("version", SourceVersionField),
        ("filename", PinnedFilenameField),
        ("sha256", PinnedSha256Field),
        ("upstream_repository", UpstreamRepositoryField),
        ("upstream_tag", UpstreamTagField),
        ("upstream_commit", UpstreamCommitField),
        ("source_date_epoch", SourceReleaseDateEpochField),
        ("source_date_epoch", SourceDateEpochField),
    ):
        if tgt.has_field(field) and tgt[field].value is not None:
            record[key] = tgt[field].value
    return record


def named_explicitly(address: Address, args: tuple[str, ...]) -> bool:
    """True when the command line names `address` itself rather than a glob holding it."""
    for arg in args:
        if arg.startswith("-") or ":" not in arg or arg.endswith("::"):
            continue
        try:
            parsed = AddressInput.parse(arg, description_of_origin="the command line")
        except Exception:
            continue
        if address == Address(
            parsed.path_component, target_name=parsed.target_component, parameters=parsed.parameters
        ):
            return True
    return False


@rule(desc="Package a meson-python wheel", level=LogLevel.DEBUG)
async def package_meson_wheel(
    field_set: PackageMesonWheelFieldSet, session_values: SessionValues
) -> BuiltPackage:
    named = named_explicitly(field_set.address, session_values[OptionsBootstrapper].args[1:])
    # A glob (`numpy_src::`) holds wheels for other platforms: skip those, one line each.
    # Named on its own, such a wheel stops the build (and release sets check it themselves).
    try:
        check_buildable_here(field_set)
    except WrongPlatformError as e:
        if named:
            raise
        logger.warning(f"Skipping {field_set.address}: {e}")
        return BuiltPackage(EMPTY_DIGEST, ())
    if not named:
        try:
            await interpreter_for(field_set)
        except InterpreterError as e:
            logger.warning(f"Skipping {field_set.address}: {e}".splitlines()[0])
            return BuiltPackage(EMPTY_DIGEST, ())
    built = await Get(BuiltWheel, BuildWheelRequest(field_set))
    repaired = await Get(RepairedWheel, RepairWheelRequest(field_set, built))
    digest = await Get(Digest, RemovePrefix(repaired.digest, REPAIR_OUT))
    contents = await Get(DigestContents, Digest, digest)
    wheel = contents[0]
    sha256 = hashlib.sha256(wheel.content).hexdigest()

    source_inputs, toolchain_inputs = await MultiGet(
        Get(InferredDependencies, AddressFieldsRequest, AddressFieldsRequest.of(field_set.address, field_set.source.value)),
        Get(InferredDependencies, AddressFieldsRequest, AddressFieldsRequest.of(field_set.address, field_set.toolchain.value)),
    )
    (source_address,), (toolchain_address,) = source_inputs.include, toolchain_inputs.include
    source_wrapped, toolchain = await MultiGet(
        Get(WrappedTarget, WrappedTargetRequest(source_address, description_of_origin=str(field_set.address))),
        Get(CcToolchain, CcToolchainRequest(toolchain_address)),
    )
    provenance = {
        "artifact": {"name": wheel.path, "sha256": sha256, "size": len(wheel.content)},
        "target": field_set.address.spec,
        "source": _source_record(source_wrapped.target),
        "toolchain": {"address": toolchain.address.spec, "programs": dict(toolchain.programs)},
        "interpreter": {
            "address": built.interpreter.address.spec,
            "fingerprint": built.interpreter.fingerprint,
            "facts": dict(built.interpreter.facts),
        },
        "native_libraries": [{"address": n.address.spec, "pin": n.pin} for n in built.native_libraries],
        "build": {
            "python": field_set.python.value,
            "build_requirements": list(field_set.build_requirements.value or ()),
            "repair_requirements": list(field_set.repair_requirements.value or ()),
            "setup_args": list(field_set.setup_args.value or ()),
            "config_settings": dict(field_set.config_settings.value or {}),
            "plat": field_set.plat.value,
            "platform": host_platform(),
            "pants": PANTS_VERSION,
            "isolation": built.isolation.effective,
            "isolation_mode": built.isolation.mode,
        },
    }
    provenance_name = f"{wheel.path}.provenance.json"
    provenance_digest = await Get(
        Digest,
        CreateDigest(
            [FileContent(provenance_name, (json.dumps(provenance, indent=2, sort_keys=True) + "\n").encode())]
        ),
    )
    return BuiltPackage(
        await Get(Digest, MergeDigests([digest, provenance_digest])),
        (
            logged_artifact(wheel.path, sha256, len(wheel.content)),
            BuiltPackageArtifact(provenance_name),
        ),
    )


def rules():
    return [*collect_rules(), UnionRule(PackageFieldSet, PackageMesonWheelFieldSet)]
