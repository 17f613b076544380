"""The build_defs Pants plugin: build any meson-python project into a repaired wheel."""

from build_defs import dependency_inference, package, project_source, tool_env, toolchain, wheel
from build_defs import target_types as _target_types


def rules():
    return [
        *dependency_inference.rules(),
        *package.rules(),
        *project_source.rules(),
        *tool_env.rules(),
        *toolchain.rules(),
        *wheel.rules(),
    ]


def target_types():
    return _target_types.target_types()
