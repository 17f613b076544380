"""The build_defs Pants plugin: build any meson-python project into a repaired, tested wheel.

Grouped by concern, the way Pants groups its backends:
- `inputs/`: pinned files from the artifact store, project sources, native libraries;
- `toolchains/`: C/C++ toolchains, interpreters, locked tool environments;
- `wheels/`: sandbox isolation, building, repairing and testing wheels;
- `platforms/`: what differs per wheel platform (the repair tool: auditwheel, delocate);
- `evidence/`: SBOMs inside wheels, provenance beside every artifact, `verify`;
- `goals/`: `package` (wheels, sdists, release sets), `repro-check`, `graph-export`, `verify`, `release-matrix`.
"""

from build_defs import dependency_inference
from build_defs import target_types as _target_types
from build_defs.evidence import pinned_inputs, provenance, sbom, tool
from build_defs.goals import graph_export, package, release, release_matrix, repro_check, sdist, verify
from build_defs.inputs import debian_package, native_library, project_source, store_artifact
from build_defs.toolchains import host, interpreter, target_interpreter, tool_env, toolchain
from build_defs.wheels import emulation, isolation, repair, wheel, wheel_test


def rules():
    return [
        *dependency_inference.rules(),
        *pinned_inputs.rules(),
        *provenance.rules(),
        *sbom.rules(),
        *tool.rules(),
        *graph_export.rules(),
        *interpreter.rules(),
        *target_interpreter.rules(),
        *isolation.rules(),
        *native_library.rules(),
        *package.rules(),
        *project_source.rules(),
        *release.rules(),
        *release_matrix.rules(),
        *repro_check.rules(),
        *sdist.rules(),
        *store_artifact.rules(),
        *debian_package.rules(),
        *tool_env.rules(),
        *host.rules(),
        *toolchain.rules(),
        *repair.rules(),
        *wheel.rules(),
        *wheel_test.rules(),
        *emulation.rules(),
        *verify.rules(),
    ]


def target_types():
    return _target_types.target_types()
