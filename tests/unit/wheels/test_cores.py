"""The cores Pants gives a process reach its script as `$JOBS`, through the isolation
wrapper's re-run of the script."""

from __future__ import annotations

import subprocess
from pathlib import Path

from build_defs.wheels.cores import sharing_cores
from build_defs.wheels.isolation import Isolation, process_script


def _run(tmp_path: Path, script: str, given: int) -> str:
    (tmp_path / "job.sh").write_text(script)
    kwargs = sharing_cores("/bin/bash", "job.sh")
    assert kwargs["concurrency_available"] > 1
    # What Pants' bounded runner does: the template in argv becomes the slots it gives.
    argv = [a.replace("{pants_concurrency}", str(given)) for a in kwargs["argv"]]
    return subprocess.run(argv, cwd=tmp_path, check=True, capture_output=True, text=True).stdout


def test_the_script_sees_the_cores_it_was_given(tmp_path: Path) -> None:
    assert _run(tmp_path, 'echo "jobs=$JOBS"\n', 3) == "jobs=3\n"


def test_the_cores_survive_the_isolation_wrapper(tmp_path: Path) -> None:
    # Isolated (this host allows the namespaces: the e2e tests need them too), the script
    # runs a second time inside `unshare`; the number must still be there.
    script = process_script(
        "job.sh", Isolation("strict", "isolated", "/mnt"), 'echo "jobs=$JOBS"\n', fixed_root=False
    )
    assert _run(tmp_path, script, 1).splitlines()[-1] == "jobs=1"
