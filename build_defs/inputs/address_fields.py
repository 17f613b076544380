"""Addresses written in the fields of this plugin's targets, made real graph edges.

Each target type's dependency-inference rule (beside its target, in the `target_types.py`
of its package) names the address-valued fields it has; this rule resolves them relative
to the owning target. `pants dependencies`, `dependents` and `paths` then show that a
wheel depends on its source, its toolchain, its native libraries and its locked
requirements, that a release depends on its artifacts, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from pants.engine.addresses import Address, Addresses, UnparsedAddressInputs
from pants.engine.internals.selectors import Get
from pants.engine.rules import collect_rules, rule
from pants.engine.target import InferredDependencies


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


def rules():
    return collect_rules()
