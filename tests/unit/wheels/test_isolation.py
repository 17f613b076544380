"""Process scripts: what must run on the host (`before_isolation`) runs there once, before
the script re-runs itself inside its namespaces, and the isolated part sees what it made."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from build_defs.wheels.isolation import Isolation, process_script


def test_before_isolation_runs_once_on_the_host_and_the_body_inside(tmp_path: Path) -> None:
    script = process_script(
        "job.sh",
        Isolation("strict", "isolated", "/mnt"),
        'echo "body in $(/usr/bin/readlink /proc/self/ns/net), sees $(/bin/cat made.txt)"\n',
        fixed_root=False,
        before_isolation='echo "host $(/usr/bin/readlink /proc/self/ns/net)" >> made.txt\n',
    )
    (tmp_path / "job.sh").write_text(script)
    out = subprocess.run(
        ["/bin/bash", "job.sh"], cwd=tmp_path, check=True, capture_output=True, text=True
    ).stdout
    made = (tmp_path / "made.txt").read_text().splitlines()
    assert made == [f"host {os.readlink('/proc/self/ns/net')}"]  # once, in the host's namespace
    body = out.splitlines()[-1]
    assert body.startswith("body in net:[") and body.endswith(f"sees {made[0]}")
    assert os.readlink("/proc/self/ns/net") not in body.split(",")[0]  # the body is isolated


def test_without_before_isolation_the_script_is_unchanged() -> None:
    isolation = Isolation("strict", "isolated", "/mnt")
    assert process_script("job.sh", isolation, "true\n", fixed_root=True) == process_script(
        "job.sh", isolation, "true\n", fixed_root=True, before_isolation=""
    )
    assert 'IN_ISOLATION:-}" ]; then\n\nfi' not in process_script(
        "job.sh", isolation, "true\n", fixed_root=True
    )
