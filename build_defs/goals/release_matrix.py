"""`pants release-matrix //:`: the CI build matrix, read from the graph.

One entry per `release_set` among the given targets: its address, the platform and runner
its wheels declare (`meson_wheel` `platform` / `runner`), and the `wheel_test` targets whose
`wheel` names those wheels, which the job runs after building. Printed as one line of
JSON (`{"include": [...]}`) for GitHub's `fromJSON`, so the workflow never keeps its own
copy of the platform list.
"""

from __future__ import annotations

import json

from pants.engine.addresses import Address, Addresses
from pants.engine.console import Console
from pants.engine.goal import Goal, GoalSubsystem
from pants.engine.internals.selectors import Get, MultiGet
from pants.engine.rules import collect_rules, goal_rule
from pants.engine.target import AllTargets, InferredDependencies, Targets
from pants.util.strutil import softwrap

from build_defs.goals.target_types import (
    ReleaseSetArtifactsField,
    WheelTestPythonField,
    WheelTestWheelField,
)
from build_defs.goals.wheel_test_runner import TestedWheel, TestedWheelRequest
from build_defs.inputs.address_fields import AddressFieldsRequest
from build_defs.platforms import registry
from build_defs.wheels.target_types import MesonWheelPlatformField, MesonWheelRunnerField


class ReleaseMatrixSubsystem(GoalSubsystem):
    name = "release-matrix"
    help = softwrap(
        """
        Print the CI build matrix of the given `release_set` targets as one line of JSON,
        `{"include": [{"release_set": ..., "platform": ..., "runner": ..., "dist_dir": ...,
        "tests": ...}]}` (`dist_dir`: where `pants package` writes the set; `tests`: the
        `wheel_test` targets of its wheels, space-separated): each set's platform and runner
        come from its wheels' `platform` and `runner` fields, which must agree, and every
        wheel needs a `wheel_test`.
        """
    )


class ReleaseMatrix(Goal):
    subsystem_cls = ReleaseMatrixSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


class ReleaseMatrixError(Exception):
    pass


@goal_rule
async def release_matrix(console: Console, targets: Targets) -> ReleaseMatrix:
    # Each wheel_test and the wheel it tests, resolved as the test itself resolves it.
    wheel_tests = [t for t in await Get(AllTargets) if t.has_field(WheelTestWheelField)]
    tested = await MultiGet(
        Get(
            TestedWheel,
            TestedWheelRequest(
                t.address, t[WheelTestWheelField].value, t[WheelTestPythonField].value
            ),
        )
        for t in wheel_tests
    )
    tests_of: dict[Address, set[str]] = {}
    for test, wheel in zip(wheel_tests, tested):
        tests_of.setdefault(wheel.address, set()).add(test.address.spec)
    include = []
    for release in sorted(
        (t for t in targets if t.has_field(ReleaseSetArtifactsField)), key=lambda t: t.address
    ):
        inferred = await Get(
            InferredDependencies,
            AddressFieldsRequest,
            AddressFieldsRequest.of(release.address, release[ReleaseSetArtifactsField].value),
        )
        artifacts = await Get(Targets, Addresses(inferred.include))
        # A wheel without a `runner` is built on its platform's runner (`platforms/`).
        pairs = {
            (
                t[MesonWheelPlatformField].value,
                registry.runner_for(
                    t[MesonWheelPlatformField].value, t[MesonWheelRunnerField].value
                ),
            )
            for t in artifacts
            if t.has_field(MesonWheelPlatformField)
        }
        if len(pairs) != 1 or None in next(iter(pairs)):
            raise ReleaseMatrixError(
                f"{release.address}: its wheels must declare one `platform` and one `runner` "
                f"to be built by CI; they declare {sorted(pairs, key=str) or 'none'}."
            )
        ((platform, runner),) = pairs
        tests = set()
        for wheel in (t for t in artifacts if t.has_field(MesonWheelPlatformField)):
            covering = tests_of.get(wheel.address, set())
            if not covering:
                # CI publishes what it builds: an untested wheel would be published untested.
                raise ReleaseMatrixError(
                    f"{release.address}: no `wheel_test` tests {wheel.address}; add one (its `wheel` "
                    "field naming that wheel) before CI may build the set."
                )
            tests |= covering
        include.append(
            {
                "release_set": release.address.spec,
                "platform": platform,
                "runner": runner,
                "dist_dir": f"dist/{release.address.target_name}",
                "tests": " ".join(sorted(tests)),
            }
        )
    if not include:
        raise ReleaseMatrixError(
            "no `release_set` among the given targets (try `pants release-matrix //:`)."
        )
    console.print_stdout(json.dumps({"include": include}, sort_keys=True, separators=(",", ":")))
    return ReleaseMatrix(exit_code=0)


def rules():
    return collect_rules()
