"""Start, stop or ask about a local BuildGrid: a REAPI CAS and action cache for developer builds.

    python build_defs/bootstrap/cache_server.py start [--port 50051] [--data DIR]
    python build_defs/bootstrap/cache_server.py status
    python build_defs/bootstrap/cache_server.py stop

`start` fetches the pinned BuildGrid (the on-demand set `buildgrid` of
`3rdparty/artifacts.json`) into the store, installs it `--require-hashes` into a private
venv on CPython 3.13, checks `3rdparty/remote-cache/buildgrid.yml` with `bgd server lint`,
serves it on loopback only with its CAS on disk under the user's cache directory, waits
until the port answers, and prints the address for `--remote-store-address`. Builds read
and write it with `--pants-config-files=3rdparty/remote-cache/pants.toml`; release builds refuse it.
Standard library only, like the rest of the bootstrap.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import launcher  # noqa: E402  # pants: no-infer-dep (a sibling script; BUILD names it)
import store  # noqa: E402  # pants: no-infer-dep (a sibling script; BUILD names it)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "3rdparty" / "remote-cache" / "buildgrid.yml"
REQUIREMENTS = ROOT / "3rdparty" / "python" / "buildgrid.txt"
SET = "buildgrid"


class CacheServerError(Exception):
    pass


def state_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "numpy-release" / "buildgrid"


def find_python313(explicit: str | None) -> str:
    """CPython 3.13 (BuildGrid 0.9.1 needs it): --python, pyenv's versions, or PATH."""
    found = launcher.find_cpython("3.13", explicit)
    if not found:
        raise CacheServerError(
            "BuildGrid 0.9.1 needs CPython 3.13 and none was found (pyenv versions, python3.13 on PATH); "
            "install one or pass --python /path/to/python3.13."
        )
    return found


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _running_pid() -> int | None:
    try:
        pid = int((state_dir() / "server.pid").read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def start(port: int, data: Path, python: str | None, timeout: float) -> str:
    if _running_pid():
        raise CacheServerError(
            f"a cache server is already running ({(state_dir() / 'address').read_text().strip()}); stop it first."
        )
    if _answers(port):
        raise CacheServerError(f"127.0.0.1:{port} is already in use; pick another --port.")
    store_dir = store.default_store_dir()
    arts = [a for a in store.load_manifest(ROOT / "3rdparty" / "artifacts.json") if SET in a.sets]
    store.Store(store_dir).ensure(arts, log=lambda m: print(f"cache-server: {m}", file=sys.stderr))
    venv = launcher.hashed_venv(
        find_python313(python),
        state_dir().parent / "buildgrid-venv",
        str(store_dir),
        REQUIREMENTS,
        "BuildGrid",
        log=lambda m: print(f"cache-server: {m}", file=sys.stderr),
    )
    bgd = venv / "bin" / "bgd"
    state = state_dir()
    (data / "cas").mkdir(parents=True, exist_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "BUILDGRID_ADDRESS": f"127.0.0.1:{port}", "BUILDGRID_DATA": str(data)}
    lint = subprocess.run(
        [str(bgd), "server", "lint", str(CONFIG)], env=env, capture_output=True, text=True
    )
    if lint.returncode != 0:
        raise CacheServerError(f"bgd server lint {CONFIG} failed:\n{lint.stdout}{lint.stderr}")
    log = open(state / "server.log", "ab")
    server = subprocess.Popen(
        [str(bgd), "server", "start", str(CONFIG)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while not _answers(port):
        if server.poll() is not None:
            raise CacheServerError(
                f"BuildGrid exited with {server.returncode}; see {state / 'server.log'}"
            )
        if time.monotonic() > deadline:
            server.terminate()
            raise CacheServerError(
                f"BuildGrid did not answer on 127.0.0.1:{port} within {timeout:.0f} s; see {state / 'server.log'}"
            )
        time.sleep(0.2)
    address = f"grpc://127.0.0.1:{port}"
    (state / "server.pid").write_text(str(server.pid))
    (state / "address").write_text(address + "\n")
    return address


def stop(timeout: float = 20) -> bool:
    pid = _running_pid()
    if pid is None:
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            break
        time.sleep(0.2)
    else:
        os.killpg(pid, signal.SIGKILL)
    (state_dir() / "server.pid").unlink(missing_ok=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument(
        "--port", type=int, default=50051, help="loopback port to serve on (default 50051)"
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="directory for the CAS (default: numpy-release/buildgrid/ under the user's cache)",
    )
    parser.add_argument("--python", default=None, help="a CPython 3.13 to run BuildGrid with")
    parser.add_argument(
        "--timeout", type=float, default=120, help="seconds to wait for the server to answer"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            print(start(args.port, args.data or state_dir(), args.python, args.timeout))
        elif args.command == "stop":
            print(
                "cache-server: stopped" if stop() else "cache-server: not running", file=sys.stderr
            )
        else:
            pid = _running_pid()
            if pid is None:
                print("cache-server: not running", file=sys.stderr)
                return 1
            print((state_dir() / "address").read_text().strip())
    except (CacheServerError, store.StoreError, launcher.LauncherError) as e:
        print(f"cache-server: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
