"""The build_defs Pants plugin: build any meson-python project into a repaired, tested wheel."""

from build_defs import (
    dependency_inference,
    graph_export,
    interpreter,
    isolation,
    native_library,
    package,
    project_source,
    release,
    repro_check,
    sdist,
    store_artifact,
    tool_env,
    toolchain,
    wheel,
    wheel_test,
)
from build_defs import target_types as _target_types


def rules():
    return [
        *dependency_inference.rules(),
        *graph_export.rules(),
        *interpreter.rules(),
        *isolation.rules(),
        *native_library.rules(),
        *package.rules(),
        *project_source.rules(),
        *release.rules(),
        *repro_check.rules(),
        *sdist.rules(),
        *store_artifact.rules(),
        *tool_env.rules(),
        *toolchain.rules(),
        *wheel.rules(),
        *wheel_test.rules(),
    ]


def target_types():
    return _target_types.target_types()
