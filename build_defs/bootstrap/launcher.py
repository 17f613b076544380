"""The Python half of `./pants`: everything after finding CPython 3.9.

    python3.9 build_defs/bootstrap/launcher.py BUILDROOT [PANTS ARGS...]

`./pants` (POSIX sh, so it starts under dash and macOS's bash 3.2 alike) only finds a
CPython 3.9 and execs this file, which needs nothing but the standard library and no
host tool (no GNU sha256sum, flock or stat):

1. refuse any PANTS_* variable that could change what a build reads;
2. fill and verify the artifact store with what this host's platform uses
   (`store.py ensure`, the one step that may use the network);
3. install pantsbuild.pants from the store into a private venv (`--require-hashes`),
   once per interpreter and pin file, under a file lock;
4. build the pinned pex tool from its wheel and check its sha256 and size against
   `[pex-cli].known_versions` in pants.toml;
5. exec Pants with the arguments and only the environment it needs.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wheel_tags  # noqa: E402  # pants: no-infer-dep (a sibling script; BUILD names it)

# Display and test-running switches; nothing that changes a build's inputs.
HONOURED_PANTS_VARS = (
    "PANTS_LEVEL",
    "PANTS_COLORS",
    "PANTS_DYNAMIC_UI",
    "PANTS_PANTSD",
    "PANTS_TEST_FORCE",
    "PANTS_TEST_OUTPUT",
    "PANTS_KEEP_SANDBOXES",
)
LAUNCHER_VARS = ("PANTS_PYTHON", "PANTS_BOOTSTRAP_ONLY")
PASSED_VARS = (
    "HOME",
    "PATH",
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "COLUMNS",
    "LINES",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "USER",
    "LOGNAME",
    "PYENV_ROOT",
    "XDG_CACHE_HOME",
)

# Run by the Pants venv's interpreter, which has `toml`: the pex tool pin for a platform.
_PEX_PIN = """
import sys, toml
cli = toml.load(sys.argv[1])["pex-cli"]
plat = sys.argv[2]
for entry in cli["known_versions"]:
    version, p, sha, size = entry.split("|")
    if version == cli["version"] and p == plat:
        print(version, sha, size)
        break
else:
    sys.exit(f"pants.toml [pex-cli].known_versions has no entry for {cli['version']} on {plat}")
"""


class LauncherError(Exception):
    pass


def note(message: str) -> None:
    print(f"./pants: {message}", file=sys.stderr)


def pants_environment(environ: dict[str, str], store: str) -> dict[str, str]:
    """The environment Pants runs with; a PANTS_* variable that is not a display or
    test-running switch stops the launcher, naming it."""
    env = {"NO_SCIE_WARNING": "1", "NUMPY_RELEASE_STORE": store}
    env.update({k: environ[k] for k in PASSED_VARS if k in environ})
    for name in sorted(environ):
        if not name.startswith("PANTS_") or name in LAUNCHER_VARS:
            continue
        if name not in HONOURED_PANTS_VARS:
            flag = name[len("PANTS_") :].lower().replace("_", "-")
            raise LauncherError(
                f"{name} is set, and ./pants passes Pants no PANTS_* variable that could change a build.\n"
                f"Unset it, and give the option on the command line instead (e.g. --{flag}=...).\n"
                f"Honoured: {' '.join(HONOURED_PANTS_VARS)}"
            )
        env[name] = environ[name]
    return env


def sha256_and_size(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest(), path.stat().st_size


def find_cpython(version: str, explicit: str | None = None) -> str | None:
    """CPython `version` ("3.13"): `explicit` if given, else pyenv's versions, else PATH."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates = (
        [explicit]
        if explicit
        else [
            *sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}")),
            shutil.which(f"python{version}"),
        ]
    )
    check = (
        f"import sys; assert sys.version_info[:2] == {tuple(int(p) for p in version.split('.'))}"
    )
    for candidate in candidates:
        if (
            candidate
            and subprocess.run([candidate, "-c", check], capture_output=True).returncode == 0
        ):
            return candidate
    return None


def hashed_venv(
    python: str,
    venvs: Path,
    store: str,
    requirements: Path,
    what: str,
    log: Callable[[str], None] = note,
) -> Path:
    """A private venv of `python` holding exactly a `--require-hashes` pin file, installed
    from the store, keyed by the interpreter and the pin file, made once under a file lock."""
    key = hashlib.sha256(f"{python}\n".encode() + requirements.read_bytes()).hexdigest()[:16]
    venv = venvs / key
    if (venv / ".complete").is_file():
        return venv
    venvs.mkdir(parents=True, exist_ok=True)
    with open(venvs / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be installing the same venv
        if (venv / ".complete").is_file():
            return venv
        log(f"installing {what} into {venv}")
        shutil.rmtree(venv, ignore_errors=True)
        try:
            subprocess.run([python, "-m", "venv", str(venv)], check=True)
            subprocess.run(
                [
                    str(venv / "bin/python"),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--isolated",
                    "--no-index",
                    "--no-deps",
                    "--use-pep517",
                    "--find-links",
                    f"{store}/files",
                    "--require-hashes",
                    "-r",
                    str(requirements),
                ],
                check=True,
            )
        except subprocess.CalledProcessError:
            shutil.rmtree(venv, ignore_errors=True)
            raise LauncherError(f"installing {what} from the store failed.")
        (venv / ".complete").touch()
    return venv


def pants_venv(cache_dir: Path, store: str, requirements: Path) -> Path:
    """Pants in a private venv keyed by this interpreter and the pin file."""
    return hashed_venv(
        sys.executable, cache_dir / "pants-venv", store, requirements, "pantsbuild.pants"
    )


def pex_tool(venv: Path, buildroot: Path, store: str, platform_name: str) -> Path:
    """The pex tool Pants drives, built from its pinned wheel and checked against pants.toml."""
    pin = subprocess.run(
        [str(venv / "bin/python"), "-c", _PEX_PIN, str(buildroot / "pants.toml"), platform_name],
        capture_output=True,
        text=True,
    )
    if pin.returncode != 0:
        raise LauncherError(pin.stderr.strip())
    version, sha256, size = pin.stdout.split()
    tool = Path(store) / "tools" / f"pex-{version}"
    if tool.is_file():
        return tool
    tool.parent.mkdir(parents=True, exist_ok=True)
    requirement = next(
        line.split()[0]
        for line in (buildroot / "3rdparty/bootstrap/pex-tool.txt").read_text().splitlines()
        if line.startswith("pex==")
    )
    note(f"building the pex tool {version} from its pinned wheel")
    fd, tmp_name = tempfile.mkstemp(prefix=f"pex-{version}.", suffix=".tmp", dir=tool.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        subprocess.run(
            [
                str(venv / "bin/pex"),
                "--no-pypi",
                "--find-links",
                f"{store}/files",
                "--python-shebang",
                "/usr/bin/env python3",
                requirement,
                "-c",
                "pex",
                "-o",
                str(tmp),
            ],
            check=True,
        )
        actual = sha256_and_size(tmp)
        if actual != (sha256, int(size)):
            raise LauncherError(
                f"the pex tool built from {requirement} has sha256/size {actual[0]} {actual[1]},\n"
                f"but pants.toml [pex-cli].known_versions pins {sha256} {size}."
            )
        os.replace(tmp, tool)
    except subprocess.CalledProcessError:
        raise LauncherError("building the pex tool failed.")
    finally:
        tmp.unlink(missing_ok=True)
    return tool


def main(buildroot_arg: str, *args: str) -> None:
    buildroot = Path(buildroot_arg)
    environ = dict(os.environ)
    if not environ.get("HOME") and not environ.get("XDG_CACHE_HOME"):
        raise LauncherError("HOME must be set.")
    cache_dir = (
        Path(environ.get("XDG_CACHE_HOME") or Path(environ["HOME"]) / ".cache") / "numpy-release"
    )
    store = environ.get("NUMPY_RELEASE_STORE") or str(cache_dir / "store")
    env = pants_environment(environ, store)
    try:
        platform_name = wheel_tags.host_store_platform_name()
    except ValueError as e:
        raise LauncherError(str(e))
    ensure = subprocess.run(
        [
            sys.executable,
            str(buildroot / "build_defs/bootstrap/store.py"),
            "ensure",
            "--manifest",
            str(buildroot / "3rdparty/artifacts.json"),
        ],
        env={**environ, "NUMPY_RELEASE_STORE": store},
    )
    if ensure.returncode != 0:
        raise LauncherError(f"the artifact store at {store} could not be made ready (see above).")
    venv = pants_venv(cache_dir, store, buildroot / "3rdparty/bootstrap/pants.txt")
    pex_tool(venv, buildroot, store, platform_name)
    if environ.get("PANTS_BOOTSTRAP_ONLY"):
        return
    pants = str(venv / "bin/pants")
    os.execve(pants, [pants, "--no-pantsrc", *args], env)


if __name__ == "__main__":
    try:
        main(*sys.argv[1:])
    except LauncherError as e:
        print(f"./pants: error: {e}", file=sys.stderr)
        sys.exit(1)
