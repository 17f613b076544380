"""Helpers shared by the unit tests."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path


def sdist_bytes(files: dict[str, bytes]) -> bytes:
    """A gzipped tar holding `files` (name -> content), like a source distribution."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def locked_venv(venv: Path, requirements: str, python: str = sys.executable) -> Path:
    """A venv with a hashed requirements file installed from the artifact store, offline, as
    the rules and workflows install tools; returns its `bin/` directory."""
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin/python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--require-hashes",
            "--find-links",
            os.path.join(os.environ["NUMPY_RELEASE_STORE"], "files"),
            "-r",
            requirements,
        ],
        check=True,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )
    return venv / "bin"
