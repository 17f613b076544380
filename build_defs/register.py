"""The build_defs Pants plugin: build any meson-python project into a repaired, tested wheel.

Grouped by concern, the way Pants groups its backends; each package owns its target types
(`target_types.py`), its options (`subsystem.py`) and its rules. From the top layer down
(a package imports only from packages below it; `tests/unit/test_layers.py` checks it):
- `goals/`: `package` (wheels, sdists, release sets), `test` (wheel tests), `repro-check`,
  `graph-export`, `verify`, `release-matrix`, `fingerprint`;
- `evidence/`: SBOMs inside wheels, provenance beside every artifact;
- `wheels/`: sandbox isolation, building and repairing wheels, emulation;
- `toolchains/`: C/C++ toolchains, interpreters, locked tool environments;
- `inputs/`: pinned files from the artifact store, Debian packages, project sources;
- `platforms/`: what differs per wheel platform (names, host detection, repair tool);
- `bootstrap/`: standard library only, run by `./pants` before Pants starts.
"""

from pants.build_graph.build_file_aliases import BuildFileAliases

from build_defs.evidence import pinned_inputs, provenance, sbom, tool
from build_defs.goals import (
    fingerprint,
    graph_export,
    package_release_set,
    package_sdist,
    package_source_cpython,
    package_wheel,
    release_matrix,
    repro_check,
)
from build_defs.goals import target_types as goal_targets
from build_defs.goals import (
    verify,
    wheel_test_runner,
)
from build_defs.inputs import (
    address_fields,
    debian_package,
    native_library,
    project_source,
    store_artifact,
)
from build_defs.inputs import target_types as input_targets
from build_defs.toolchains import (
    cc_toolchain,
    host_programs,
    host_toolchain,
    interpreter,
    target_interpreter,
)
from build_defs.toolchains import target_types as toolchain_targets
from build_defs.toolchains import (
    tool_env,
    zig,
)
from build_defs.wheels import (
    build_wheel,
    emulation,
    isolation,
    repair_wheel,
    root_fs,
    root_tools,
    source_cpython,
    source_interpreter,
)
from build_defs.wheels import target_types as wheel_targets


def rules():
    return [
        *address_fields.rules(),
        *debian_package.rules(),
        *native_library.rules(),
        *project_source.rules(),
        *store_artifact.rules(),
        *toolchain_targets.rules(),
        *cc_toolchain.rules(),
        *host_programs.rules(),
        *host_toolchain.rules(),
        *zig.rules(),
        *interpreter.rules(),
        *target_interpreter.rules(),
        *tool_env.rules(),
        *wheel_targets.rules(),
        *build_wheel.rules(),
        *emulation.rules(),
        *isolation.rules(),
        *root_fs.rules(),
        *root_tools.rules(),
        *source_cpython.rules(),
        *source_interpreter.rules(),
        *repair_wheel.rules(),
        *pinned_inputs.rules(),
        *provenance.rules(),
        *sbom.rules(),
        *tool.rules(),
        *goal_targets.rules(),
        *fingerprint.rules(),
        *graph_export.rules(),
        *package_release_set.rules(),
        *package_sdist.rules(),
        *package_source_cpython.rules(),
        *package_wheel.rules(),
        *release_matrix.rules(),
        *repro_check.rules(),
        *verify.rules(),
        *wheel_test_runner.rules(),
    ]


def target_types():
    return [
        *input_targets.target_types(),
        *toolchain_targets.target_types(),
        *wheel_targets.target_types(),
        *goal_targets.target_types(),
    ]


def build_file_aliases():
    return BuildFileAliases(
        objects={**input_targets.build_file_objects(), **toolchain_targets.build_file_objects()}
    )
