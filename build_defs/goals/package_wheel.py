"""`pants package` for `meson_wheel`: build, repair and SBOM the wheel, and write it to dist/
(its sha256 logged) with its provenance (`<wheel>.intoto.jsonl`, `<wheel>.build-host.json`)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from pants.build_graph.address import Address, AddressInput
from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.fs import EMPTY_DIGEST, Digest, MergeDigests
from pants.engine.internals.selectors import Get, MultiGet
from pants.engine.internals.session import SessionValues
from pants.engine.rules import collect_rules, rule
from pants.engine.target import InferredDependencies
from pants.engine.unions import UnionRule
from pants.option.options_bootstrapper import OptionsBootstrapper
from pants.util.logging import LogLevel

from build_defs.evidence.provenance import ArtifactProvenance, ProvenanceRequest
from build_defs.evidence.sbom import FinishedWheel, FinishedWheelRequest
from build_defs.inputs.address_fields import AddressFieldsRequest
from build_defs.platforms import registry
from build_defs.toolchains.cc_toolchain import CcToolchain, CcToolchainRequest
from build_defs.toolchains.interpreter import InterpreterError
from build_defs.wheels.build_wheel import (
    MesonWheelFieldSet,
    WrongPlatformError,
    check_buildable,
    interpreter_for,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackageMesonWheelFieldSet(MesonWheelFieldSet, PackageFieldSet):
    pass


def logged_artifact(path: str, sha256: str, size: int) -> BuiltPackageArtifact:
    """An artifact whose log line under "Wrote dist/..." gives its sha256 and size."""
    return BuiltPackageArtifact(path, extra_log_lines=(f"    sha256 {sha256}  {size} bytes",))


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
        await check_buildable(field_set)
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
    wheel = await Get(FinishedWheel, FinishedWheelRequest(field_set))
    built = wheel.built
    source_inputs, toolchain_inputs = await MultiGet(
        Get(
            InferredDependencies,
            AddressFieldsRequest,
            AddressFieldsRequest.of(field_set.address, field_set.source.value),
        ),
        Get(
            InferredDependencies,
            AddressFieldsRequest,
            AddressFieldsRequest.of(field_set.address, field_set.toolchain.value),
        ),
    )
    (source_address,), (toolchain_address,) = source_inputs.include, toolchain_inputs.include
    toolchain = await Get(CcToolchain, CcToolchainRequest(toolchain_address))
    external = {
        "target": field_set.address.spec,
        "source": source_address.spec,
        "python": field_set.python.value,
        "interpreter": built.interpreter.address.spec,
        "toolchain": toolchain_address.spec,
        "setupArgs": list(field_set.setup_args.value or ()),
        "configSettings": dict(field_set.config_settings.value or {}),
        "nativeDeps": [n.address.spec for n in built.native_libraries],
        "platform": field_set.platform.value or "",
        "repairPolicy": field_set.repair_policy.value or "",
    }
    internal = {
        "isolation": built.isolation.effective,
        "isolationMode": built.isolation.mode,
        "fixedBuildRoot": built.isolation.fixed_root,
        "sourceDateEpoch": str(built.source_date_epoch),
    }
    host = {
        "platform": registry.host_wheel_platform(),
        "toolchain": {"address": toolchain.address.spec, "programs": dict(toolchain.programs)},
        "interpreter": {"address": built.interpreter.address.spec, **built.interpreter.host_facts},
    }
    provenance = await Get(
        ArtifactProvenance,
        ProvenanceRequest(
            field_set.address,
            wheel.filename,
            wheel.sha256,
            "meson_wheel",
            json.dumps(external, sort_keys=True),
            json.dumps(internal, sort_keys=True),
            json.dumps(host, sort_keys=True),
            wheel.installed,
        ),
    )
    return BuiltPackage(
        await Get(Digest, MergeDigests([wheel.digest, provenance.digest])),
        (
            logged_artifact(wheel.filename, wheel.sha256, wheel.size),
            BuiltPackageArtifact(provenance.statement),
            BuiltPackageArtifact(provenance.host_record),
        ),
    )


def rules():
    return [*collect_rules(), UnionRule(PackageFieldSet, PackageMesonWheelFieldSet)]
