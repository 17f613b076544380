"""`pants fingerprint`: the interpreter an interpreter target stands for on this host, as the
next build keys on it.

The fingerprint is computed by the same rule every build uses (`InterpreterRequest`: the
probe runs as a Pants process with the client's `PATH`, `PYENV_ROOT` and `HOME`), so what
this goal prints is what builds see, whether pantsd runs or not. It is not a field of the
target: field values are read from BUILD files, and a host fact is not one.
"""

from __future__ import annotations

import json

from pants.engine.console import Console
from pants.engine.goal import Goal, GoalSubsystem, Outputting
from pants.engine.internals.selectors import Get, MultiGet
from pants.engine.rules import collect_rules, goal_rule
from pants.engine.target import UnexpandedTargets

from build_defs.toolchains.interpreter import Interpreter, InterpreterRequest, is_interpreter


class FingerprintSubsystem(Outputting, GoalSubsystem):
    name = "fingerprint"
    help = (
        "Print, as JSON, what each given interpreter target (`host_cpython`, `debian_cpython`) "
        "finds on this host: path, exact version, ABI facts, sha256s, and the fingerprint over "
        "them that keys every build, repair and test using it. Other targets are skipped."
    )


class Fingerprint(Goal):
    subsystem_cls = FingerprintSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


@goal_rule
async def fingerprint(
    console: Console, subsystem: FingerprintSubsystem, targets: UnexpandedTargets
) -> Fingerprint:
    chosen = sorted((t for t in targets if is_interpreter(t)), key=lambda t: t.address)
    if not chosen:
        console.print_stderr(
            "fingerprint: none of the given targets is an interpreter (`host_cpython`, `debian_cpython`, `source_cpython`)."
        )
        return Fingerprint(exit_code=1)
    found = await MultiGet(Get(Interpreter, InterpreterRequest(t.address)) for t in chosen)
    rows = [
        {
            "address": t.address.spec,
            "target_type": t.alias,
            "fingerprint": {**dict(i.facts), "fingerprint": i.fingerprint},
        }
        for t, i in zip(chosen, found)
    ]
    with subsystem.output(console) as write_stdout:
        write_stdout(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    return Fingerprint(exit_code=0)


def rules():
    return collect_rules()
