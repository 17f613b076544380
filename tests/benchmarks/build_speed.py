"""Build speed under Pants against the raw build, side by side on one machine. Prints figures;
asserts nothing (speed targets live here, never in timed tests).

    python3 tests/benchmarks/build_speed.py --quick            # the zig fixture; CI runs this
    python3 tests/benchmarks/build_speed.py [--repeat 3]       # one NumPy wheel, by hand
    python3 tests/benchmarks/build_speed.py --json out.json    # also write the results

Every figure is repeated and reported as median (min-max). Measured:
- `cold`: `./pants package` with pantsd warm, inputs fetched and the process cache off
  (`--no-local-cache`): the "Build wheel" process and the whole command, in A-B-A order with
  a raw replay of that process's own kept sandbox script (`__run.sh`) before and after, so
  drift on a shared machine shows. Raw and Pants start from the same zig cache state (its
  runtime libraries and object cache as the previous run left them).
- `noop`: the same command again with the process cache on, as a fraction of cold;
- `remote`: a build with an empty local store reading a local BuildGrid that an earlier
  build with another empty store wrote, as a fraction of cold;
- `graph`: `./pants dependencies --transitive` of the wheel against `./pants --version`;
- `peak_rss`: the raw build's peak memory;
- `launcher`: `./pants` up to the hand-over to Pants (PANTS_BOOTSTRAP_ONLY).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGETS = {"quick": "tests/fixtures/mini_zig:wheel", "numpy": "numpy_src:wheel@python=3.12"}
_STAMP = re.compile(r"^(\d\d):(\d\d):(\d\d\.\d+) \[INFO\] (Starting|Completed): Build wheel ", re.M)
_KEPT = re.compile(r"(?i)preserving local process execution dir [`\"']?(/[^\s`\"']+)[`\"']? for [`\"']?Build wheel")


def pants(*args: str, check: bool = True) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run(["./pants", *args], cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if check and result.returncode != 0:
        sys.exit(f"benchmark: ./pants {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return elapsed, result


def build_process_seconds(log: str) -> float:
    """The "Build wheel" process's duration, from Pants' own Starting/Completed lines."""
    stamps = {kind: int(h) * 3600 + int(m) * 60 + float(s) for h, m, s, kind in _STAMP.findall(log)}
    if set(stamps) != {"Starting", "Completed"}:
        sys.exit("benchmark: Pants ran no build process (is the process cache off?)")
    return (stamps["Completed"] - stamps["Starting"]) % 86400


def raw_replay(sandbox: Path) -> tuple[float, int]:
    """Run the kept sandbox's own script again, from the state the build started in: its
    outputs and everything the script creates removed. Returns seconds and peak RSS (kB)."""
    # The wheel, meson's build directory (src/build, or the replay would be incremental) and
    # the links the script makes (build_defs/wheels/wheel.py, toolchains/toolchain.py).
    for name in ("built", "src/build", ".build-tools", "zig"):
        path = sandbox / name
        if path.is_symlink():
            path.unlink()
        elif path.exists():
            shutil.rmtree(path)
    for name in (".home", "pkgconfig"):
        shutil.rmtree(sandbox / name, ignore_errors=True)
        (sandbox / name).mkdir()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    result = subprocess.run(["/bin/bash", "__run.sh"], cwd=sandbox, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"benchmark: the raw replay in {sandbox} failed:\n{result.stderr[-3000:]}")
    return elapsed, max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def machine() -> dict:
    mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal:"))
    return {"cores": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1), "load_before": os.getloadavg(),
            "date": datetime.now().isoformat(timespec="seconds")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the zig fixture instead of NumPy (what CI runs)")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions of each figure (default 3, quick 2)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    target = TARGETS["quick" if args.quick else "numpy"]
    repeat = args.repeat or (2 if args.quick else 3)
    results: dict = {"target": target, "machine": machine()}
    pants("--version")  # pantsd warm, inputs fetched

    raw_before, raw_after, build, whole, rss, sandboxes = [], [], [], [], [], []
    for _ in range(repeat):
        elapsed, run = pants("--no-local-cache", "--keep-sandboxes=always", "package", target)
        kept = Path(_KEPT.search(run.stderr).group(1))
        sandboxes.append(kept)
        if len(sandboxes) == 1:
            raw_replay(kept)  # the replay's first run warms what the Pants run warmed
        seconds, peak = raw_replay(kept)
        raw_before.append(seconds)
        elapsed, run = pants("--no-local-cache", "package", target)
        build.append(build_process_seconds(run.stderr))
        whole.append(elapsed)
        seconds, peak = raw_replay(kept)
        raw_after.append(seconds)
        rss.append(peak / 1024)
    results["cold"] = {"raw_before": summary(raw_before), "build_process": summary(build),
                       "whole_command": summary(whole), "raw_after": summary(raw_after)}
    raw = statistics.median(raw_before + raw_after)
    results["cold"]["build_process_over_raw"] = statistics.median(build) / raw
    results["cold"]["whole_command_over_raw"] = statistics.median(whole) / raw
    results["peak_rss_mib"] = summary(rss)

    pants("package", target)  # into the process cache
    noop = [pants("package", target)[0] for _ in range(repeat)]
    results["noop"] = {**summary(noop), "over_cold": statistics.median(noop) / statistics.median(whole)}

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server = [sys.executable, str(ROOT / "build_defs/bootstrap/cache_server.py")]
        env = {**os.environ, "XDG_CACHE_HOME": f"{tmp}/xdg"}
        subprocess.run([*server, "start", "--port", str(port), "--data", f"{tmp}/bgd"], env=env, check=True,
                       capture_output=True)
        try:
            remote = ["--no-pantsd", "--pants-config-files=3rdparty/remote-cache/pants.toml",
                      f"--remote-store-address=grpc://127.0.0.1:{port}"]
            pants(*remote, f"--local-store-dir={tmp}/store-write", "package", target)
            cold_fresh, reads = [], []
            for i in range(repeat):
                reads.append(pants(*remote, f"--local-store-dir={tmp}/store-read-{i}", "package", target)[0])
                cold_fresh.append(pants("--no-pantsd", f"--local-store-dir={tmp}/store-cold-{i}",
                                        "--no-local-cache", "package", target)[0])
        finally:
            subprocess.run([*server, "stop"], env=env, capture_output=True)
    results["remote"] = {"empty_local_store_remote_read": summary(reads), "empty_local_store_no_cache": summary(cold_fresh),
                         "over_cold": statistics.median(reads) / statistics.median(cold_fresh)}

    deps = [pants("dependencies", "--transitive", target)[0] for _ in range(repeat)]
    version = [pants("--version")[0] for _ in range(repeat)]
    results["graph"] = {"dependencies_transitive": summary(deps), "version": summary(version),
                        "ratio": statistics.median(deps) / statistics.median(version)}

    launcher = []
    env = {**os.environ, "PANTS_BOOTSTRAP_ONLY": "1"}
    for _ in range(max(repeat, 5)):
        start = time.perf_counter()
        subprocess.run(["./pants"], cwd=ROOT, env=env, check=True, capture_output=True)
        launcher.append(time.perf_counter() - start)
    results["launcher_seconds"] = summary(launcher)
    for kept in sandboxes:
        shutil.rmtree(kept, ignore_errors=True)

    def fmt(s: dict) -> str:
        return f"{s['median']:.2f} ({s['min']:.2f}-{s['max']:.2f})"

    m = results["machine"]
    print(f"machine: {m['cores']} cores, {m['memory_gib']} GiB, load before {m['load_before'][0]:.2f}; target {target}; {repeat} runs each")
    c = results["cold"]
    print(f"cold, A-B-A: raw {fmt(c['raw_before'])} s | Pants build process {fmt(c['build_process'])} s, "
          f"whole command {fmt(c['whole_command'])} s | raw {fmt(c['raw_after'])} s")
    print(f"  build process / raw: {c['build_process_over_raw']:.3f}   whole command / raw: {c['whole_command_over_raw']:.3f}")
    print(f"no-op re-run (pantsd warm): {fmt(results['noop'])} s = {results['noop']['over_cold']:.4f} of cold")
    r = results["remote"]
    print(f"empty local store, warm BuildGrid: {fmt(r['empty_local_store_remote_read'])} s against "
          f"{fmt(r['empty_local_store_no_cache'])} s without a cache = {r['over_cold']:.3f}")
    g = results["graph"]
    print(f"dependencies --transitive {fmt(g['dependencies_transitive'])} s / --version {fmt(g['version'])} s = {g['ratio']:.2f}")
    print(f"peak memory of the build: {fmt(results['peak_rss_mib'])} MiB")
    print(f"launcher overhead: {fmt(results['launcher_seconds'])} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
