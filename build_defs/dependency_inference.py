"""Make the address-valued fields of `meson_wheel` real graph edges.

`pants dependencies`, `dependents` and `paths` then show that a wheel depends on its
source, its toolchain and its locked build and repair requirements.
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.engine.addresses import Addresses, UnparsedAddressInputs
from pants.engine.internals.selectors import Get
from pants.engine.rules import collect_rules, rule
from pants.engine.target import FieldSet, InferDependenciesRequest, InferredDependencies
from pants.engine.unions import UnionRule

from build_defs.target_types import (
    MesonWheelBuildRequirementsField,
    MesonWheelNativeDepsField,
    MesonWheelRepairRequirementsField,
    MesonWheelSourceField,
    MesonWheelToolchainField,
)


@dataclass(frozen=True)
class MesonWheelInputsFieldSet(FieldSet):
    required_fields = (MesonWheelSourceField, MesonWheelToolchainField)

    source: MesonWheelSourceField
    toolchain: MesonWheelToolchainField
    build_requirements: MesonWheelBuildRequirementsField
    repair_requirements: MesonWheelRepairRequirementsField
    native_deps: MesonWheelNativeDepsField


class InferMesonWheelDependencies(InferDependenciesRequest):
    infer_from = MesonWheelInputsFieldSet


@rule(desc="Infer the inputs of a meson_wheel")
async def infer_meson_wheel_dependencies(
    request: InferMesonWheelDependencies,
) -> InferredDependencies:
    fs = request.field_set
    specs = (
        fs.source.value,
        fs.toolchain.value,
        *(fs.build_requirements.value or ()),
        *(fs.repair_requirements.value or ()),
        *(fs.native_deps.value or ()),
    )
    addresses = await Get(
        Addresses,
        UnparsedAddressInputs(
            specs, owning_address=fs.address, description_of_origin=f"the fields of {fs.address}"
        ),
    )
    return InferredDependencies(addresses)


def rules():
    return [*collect_rules(), UnionRule(InferDependenciesRequest, InferMesonWheelDependencies)]
