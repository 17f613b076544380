"""Make the address-valued fields of this plugin's targets real graph edges.

`pants dependencies`, `dependents` and `paths` then show that a wheel depends on its
source, its toolchain, its native libraries and its locked requirements, that a release
depends on its artifacts, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from pants.engine.addresses import Address, Addresses, UnparsedAddressInputs
from pants.engine.internals.selectors import Get
from pants.engine.rules import collect_rules, rule
from pants.engine.target import FieldSet, InferDependenciesRequest, InferredDependencies
from pants.engine.unions import UnionRule

from build_defs.target_types import (
    MesonWheelBuildRequirementsField,
    MesonWheelInterpreterField,
    MesonWheelPythonField,
    MesonWheelNativeDepsField,
    MesonWheelRepairRequirementsField,
    MesonWheelSourceField,
    MesonWheelToolchainField,
    ReleaseSdistSourceField,
    ReleaseSetArtifactsField,
    TargetCPythonBuildInterpreterField,
)


@dataclass(frozen=True)
class AddressFieldsRequest:
    """Addresses written in fields of `owner`, resolved relative to it."""

    owner: Address
    specs: tuple[str, ...]

    @classmethod
    def of(cls, owner: Address, *fields: Iterable[str] | str | None) -> "AddressFieldsRequest":
        specs: list[str] = []
        for value in fields:
            if isinstance(value, str):
                specs.append(value)
            elif value:
                specs.extend(value)
        return cls(owner, tuple(specs))


@rule(desc="Resolve addresses written in target fields")
async def resolve_address_fields(request: AddressFieldsRequest) -> InferredDependencies:
    addresses = await Get(
        Addresses,
        UnparsedAddressInputs(
            request.specs,
            owning_address=request.owner,
            description_of_origin=f"the fields of {request.owner}",
        ),
    )
    return InferredDependencies(addresses)


@dataclass(frozen=True)
class MesonWheelInputsFieldSet(FieldSet):
    required_fields = (MesonWheelSourceField, MesonWheelToolchainField)

    source: MesonWheelSourceField
    toolchain: MesonWheelToolchainField
    build_requirements: MesonWheelBuildRequirementsField
    repair_requirements: MesonWheelRepairRequirementsField
    native_deps: MesonWheelNativeDepsField
    interpreter: MesonWheelInterpreterField
    python: MesonWheelPythonField


class InferMesonWheelDependencies(InferDependenciesRequest):
    infer_from = MesonWheelInputsFieldSet


@rule(desc="Infer the inputs of a meson_wheel")
async def infer_meson_wheel_dependencies(
    request: InferMesonWheelDependencies,
) -> InferredDependencies:
    fs = request.field_set
    return await Get(
        InferredDependencies,
        AddressFieldsRequest,
        AddressFieldsRequest.of(
            fs.address,
            fs.source.value,
            fs.toolchain.value,
            fs.build_requirements.value,
            fs.repair_requirements.value,
            fs.native_deps.value,
            fs.interpreter.for_python(fs.python.value),
        ),
    )


@dataclass(frozen=True)
class ReleaseSdistInputsFieldSet(FieldSet):
    required_fields = (ReleaseSdistSourceField,)

    source: ReleaseSdistSourceField


class InferReleaseSdistDependencies(InferDependenciesRequest):
    infer_from = ReleaseSdistInputsFieldSet


@rule(desc="Infer the source of a release_sdist")
async def infer_release_sdist_dependencies(
    request: InferReleaseSdistDependencies,
) -> InferredDependencies:
    fs = request.field_set
    return await Get(
        InferredDependencies, AddressFieldsRequest, AddressFieldsRequest.of(fs.address, fs.source.value)
    )


@dataclass(frozen=True)
class ReleaseSetInputsFieldSet(FieldSet):
    required_fields = (ReleaseSetArtifactsField,)

    artifacts: ReleaseSetArtifactsField


class InferReleaseSetDependencies(InferDependenciesRequest):
    infer_from = ReleaseSetInputsFieldSet


@rule(desc="Infer the artifacts of a release_set")
async def infer_release_set_dependencies(
    request: InferReleaseSetDependencies,
) -> InferredDependencies:
    fs = request.field_set
    return await Get(
        InferredDependencies, AddressFieldsRequest, AddressFieldsRequest.of(fs.address, fs.artifacts.value)
    )


@dataclass(frozen=True)
class TargetCPythonInputsFieldSet(FieldSet):
    required_fields = (TargetCPythonBuildInterpreterField,)

    build_interpreter: TargetCPythonBuildInterpreterField


class InferTargetCPythonDependencies(InferDependenciesRequest):
    infer_from = TargetCPythonInputsFieldSet


@rule(desc="Infer the build interpreter of a target interpreter")
async def infer_target_cpython_dependencies(
    request: InferTargetCPythonDependencies,
) -> InferredDependencies:
    fs = request.field_set
    return await Get(
        InferredDependencies, AddressFieldsRequest, AddressFieldsRequest.of(fs.address, fs.build_interpreter.value)
    )


def rules():
    return [
        *collect_rules(),
        UnionRule(InferDependenciesRequest, InferTargetCPythonDependencies),
        UnionRule(InferDependenciesRequest, InferMesonWheelDependencies),
        UnionRule(InferDependenciesRequest, InferReleaseSdistDependencies),
        UnionRule(InferDependenciesRequest, InferReleaseSetDependencies),
    ]
