"""Linux wheels (manylinux, musllinux): `auditwheel repair`, which bundles the libraries
an extension links into the top-level `<dist>.libs/` directory, renamed with a hash."""

from __future__ import annotations

import shlex

from build_defs.evidence.wheel_record import in_libs_dir
from build_defs.platforms.repair_tool import RepairCommand, RepairTool


def auditwheel_script(cmd: RepairCommand) -> str:
    plat = f"--plat {shlex.quote(cmd.policy)} " if cmd.policy else ""
    # auditwheel finds the native dependencies' shared libraries here, and nowhere else.
    return (
        f'export LD_LIBRARY_PATH="{cmd.library_path}"\n'
        f'"$TOOL_PREFIX/bin/auditwheel" repair {plat}-w "$ROOT/{cmd.out_dir}" "$ROOT/{cmd.wheel}"\n'
    )


AUDITWHEEL = RepairTool(name="auditwheel", script=auditwheel_script, is_bundled=in_libs_dir)
