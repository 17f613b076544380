"""Build speed under Pants against the raw build, side by side on one machine. Prints figures;
asserts nothing (speed targets live here, never in timed tests).

    python3 tests/benchmarks/build_speed.py --quick            # the zig fixture; CI runs this
    python3 tests/benchmarks/build_speed.py [--repeat 3]       # one NumPy wheel, by hand
    python3 tests/benchmarks/build_speed.py --json R.json --chart R.png   # NumPy: results + chart

Every figure is repeated and reported as median (min-max). Measured:
- `cold`: `./pants package` with pantsd warm, inputs fetched and the process cache off
  (`--no-local-cache`): the "Build wheel" process and the whole command, in A-B-A order with
  a raw replay of that process's own kept sandbox script (`__run.sh`) before and after, so
  drift on a shared machine shows. Raw and Pants start from the same zig cache state (its
  runtime libraries and object cache as the previous run left them).
- `noop`: the same command again with the process cache on, as a fraction of cold;
- `build_only_cold`: the same command with only the build process cold (a new
  `[meson-build].rebuild_salt` each run; toolchain, tool venvs and probes cached, and the
  repair a cache hit since the bytes come out the same), against raw build + raw repair;
- `remote`: a build with an empty local store reading a local BuildGrid that an earlier
  build with another empty store wrote, as a fraction of cold;
- `graph`: `./pants dependencies --transitive` of the wheel against `./pants --version`;
- `peak_rss`: the raw build's peak memory;
- `launcher`: `./pants` up to the hand-over to Pants (PANTS_BOOTSTRAP_ONLY);
- `breakdown`, last: one more cold build, process by process (Pants' workunit logger).

`--release-set` measures instead how a set of wheels shares the cores: the set built by one
cold `./pants package` against each of its wheels built alone the same way (A-B-A: set,
singles, set), with the machine's peak memory in use above what it used before each run.
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
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGETS = {"quick": "tests/fixtures/mini_zig:wheel", "numpy": "numpy_src:wheel-cp312"}
# Two wheels of one kind (each built in its Debian CPython's root), so neither waits on the other.
RELEASE_SETS = {
    "quick": ("tests/fixtures/mini_zig:wheel", "tests/fixtures/mini_zig:wheel-cp314"),
    "numpy": ("numpy_src:wheel-cp313", "numpy_src:wheel-cp314"),
}
_STAMP = re.compile(r"^(\d\d):(\d\d):(\d\d\.\d+) \[INFO\] (Starting|Completed): (Build wheel|Repair wheel) ", re.M)
_KEPT = re.compile(r"(?i)preserving local process execution dir [`\"']?(/[^\s`\"']+)[`\"']? for [`\"']?(Build wheel|Repair wheel)")
_REINIT = re.compile(r"^(\d\d):(\d\d):(\d\d\.\d+) \[INFO\] (Initialization options changed|Initializing scheduler|Scheduler initialized)", re.M)
_PROCESS_MS = re.compile(r"local_process_total_time_run_ms: (\d+)")
# What each kept sandbox's script creates, removed before a replay so that it starts from
# the state the build started in: the outputs, meson's build directory (else the replay is
# incremental) and the links the scripts make (wheels/wheel.py, toolchains/toolchain.py).
_CREATED = {"Build wheel": ("built", "src/build", ".build-tools", "zig"), "Repair wheel": ("repaired",)}


def pants(*args: str, check: bool = True) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run(["./pants", *args], cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if check and result.returncode != 0:
        sys.exit(f"benchmark: ./pants {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return elapsed, result


def _seconds(h: str, m: str, s: str) -> float:
    return int(h) * 3600 + int(m) * 60 + float(s)


def process_seconds(log: str, whats: tuple[str, ...] = tuple(_CREATED)) -> dict[str, float]:
    """The "Build wheel" and "Repair wheel" processes' durations (or those of `whats`),
    from Pants' own Starting/Completed lines."""
    stamps = {(what, kind): _seconds(h, m, s) for h, m, s, kind, what in _STAMP.findall(log)}
    durations = {}
    for what in whats:
        if (what, "Starting") not in stamps or (what, "Completed") not in stamps:
            sys.exit(f"benchmark: Pants ran no {what} process (did pantsd keep its memo?)")
        durations[what] = (stamps[(what, "Completed")] - stamps[(what, "Starting")]) % 86400
    return durations


def scheduler_seconds(log: str) -> float:
    """Time pantsd spent (re)initialising its scheduler in this run: what forces processes to
    run again with pantsd alive, since pantsd memoizes every process of its session."""
    stamps = _REINIT.findall(log)
    if len(stamps) < 2:
        return 0.0
    return (_seconds(*stamps[-1][:3]) - _seconds(*stamps[0][:3])) % 86400


def raw_replay(sandbox: Path, what: str) -> tuple[float, int]:
    """Run a kept sandbox's own script again, from the state its process started in.
    Returns seconds and peak RSS (kB)."""
    for name in _CREATED[what]:
        path = sandbox / name
        if path.is_symlink():
            path.unlink()
        elif path.exists():
            shutil.rmtree(path)
    for name in (".home", "pkgconfig") if what == "Build wheel" else ():
        shutil.rmtree(sandbox / name, ignore_errors=True)
        (sandbox / name).mkdir()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    result = subprocess.run(["/bin/bash", "__run.sh"], cwd=sandbox, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"benchmark: the raw replay in {sandbox} failed:\n{result.stderr[-3000:]}")
    return elapsed, max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)


def progress(message: str) -> None:
    print(f"benchmark: {message}", file=sys.stderr, flush=True)


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


def breakdown(target: str) -> dict:
    """One more cold build with Pants' workunit logger on: where the whole command's time
    goes, process by process, split into what runs before the build process, the build
    process, and what runs after it (repair, SBOM, provenance). Processes that overlap
    are listed each with its own duration."""
    with tempfile.TemporaryDirectory() as logdir:
        elapsed, _ = pants("--backend-packages=+['tests.benchmarks.workunit_log']", "--workunit-logger-enabled",
                           f"--workunit-logger-logdir={logdir}", "--streaming-workunits-level=debug",
                           "--no-local-cache", "package", target)
        (log,) = Path(logdir).glob("*.json")
        workunits = json.loads(log.read_text())

    def start(w: dict) -> float:
        return w["start_secs"] + w["start_nanos"] / 1e9

    def length(w: dict) -> float:
        return w.get("duration_secs", 0) + w.get("duration_nanos", 0) / 1e9

    origin = min(start(w) for w in workunits)
    span = max(start(w) + length(w) for w in workunits) - origin
    processes = sorted(
        ({"description": w.get("description", "").removeprefix("Scheduling: "),
          "start": round(start(w) - origin, 2), "seconds": round(length(w), 2)}
         for w in workunits if w["name"] == "process"),
        key=lambda p: p["start"],
    )
    build = next(p for p in processes if p["description"].startswith("Build wheel"))
    return {
        "whole_command": elapsed,
        "engine_span": span,  # from the first workunit to the last: the command less start-up
        "before_build_process": build["start"],
        "build_process": build["seconds"],
        "after_build_process": span - build["start"] - build["seconds"],
        "processes": processes,
    }


def _memory_in_use_kib() -> int:
    info = {line.split(":")[0]: int(line.split()[1]) for line in open("/proc/meminfo")}
    return info["MemTotal"] - info["MemAvailable"]


def cold_with_peak_memory(*targets: str) -> tuple[float, float]:
    """One cold `./pants package` of `targets` (no pantsd, no process cache, so the set and
    each single start alike): seconds, and the machine's peak memory in use above what it
    used before, in MiB, sampled every 0.2 s."""
    baseline, peak, done = _memory_in_use_kib(), [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], _memory_in_use_kib() - baseline)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        elapsed, _ = pants("--no-pantsd", "--no-local-cache", "package", *targets)
    finally:
        done.set()
        sampler.join()
    return elapsed, peak[0] / 1024


def release_set(targets: tuple[str, ...], repeat: int) -> dict:
    """The set built at once against the sum of its wheels built one at a time."""
    sets, singles, set_peak, single_peak = [], [], [], []
    for i in range(repeat):
        for when in ("before", "after"):
            progress(f"release set {i + 1}/{repeat} ({when} the singles): {' '.join(targets)}")
            seconds, peak = cold_with_peak_memory(*targets)
            sets.append(seconds)
            set_peak.append(peak)
            if when == "before":
                alone = [cold_with_peak_memory(t) for t in targets]
                singles.append(sum(seconds for seconds, _ in alone))
                single_peak.append(max(peak for _, peak in alone))
    return {"targets": list(targets), "set": summary(sets), "sum_of_singles": summary(singles),
            "set_over_singles": statistics.median(sets) / statistics.median(singles),
            "set_peak_memory_mib": summary(set_peak), "single_peak_memory_mib": summary(single_peak)}


def print_release_set(r: dict) -> None:
    print(f"release set {' '.join(r['targets'])}, cold, no pantsd: set {fmt(r['set'])} s against the sum of its "
          f"wheels alone {fmt(r['sum_of_singles'])} s = {r['set_over_singles']:.3f}; peak memory in use "
          f"{fmt(r['set_peak_memory_mib'])} MiB (a single: {fmt(r['single_peak_memory_mib'])} MiB)")


def fmt(s: dict) -> str:
    return f"{s['median']:.2f} ({s['min']:.2f}-{s['max']:.2f})"


def draw_chart(result: Path, png: Path) -> None:
    """chart.py in a venv of the pinned matplotlib (set `benchmark-chart`), made from the store."""
    sys.path.insert(0, str(ROOT / "build_defs" / "bootstrap"))
    import launcher
    import store

    python = launcher.find_cpython("3.12")
    if not python:
        sys.exit("benchmark: the chart needs CPython 3.12 (pyenv versions or python3.12 on PATH)")
    store_dir = store.default_store_dir()
    pinned = [a for a in store.load_manifest(ROOT / "3rdparty" / "artifacts.json") if "benchmark-chart" in a.sets]
    store.Store(store_dir).ensure(pinned, log=progress)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "numpy-release" / "chart-venv"
    venv = launcher.hashed_venv(python, cache, str(store_dir), ROOT / "3rdparty" / "python" / "benchmark-chart.txt",
                                "matplotlib", log=progress)
    subprocess.run([str(venv / "bin" / "python"), str(Path(__file__).with_name("chart.py")), str(result), str(png)],
                   check=True)
    progress(f"wrote {png}")


def print_breakdown(results: dict) -> None:
    b = results["breakdown"]
    print(f"breakdown of one cold build ({b['whole_command']:.1f} s): engine {b['engine_span']:.1f} s = "
          f"{b['before_build_process']:.1f} s before the build process + {b['build_process']:.1f} s build process + "
          f"{b['after_build_process']:.1f} s after it; its slowest processes:")
    for p in sorted(b["processes"], key=lambda p: -p["seconds"])[:8]:
        print(f"  {p['seconds']:7.2f} s from {p['start']:6.2f} s  {p['description'][:90]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the zig fixture instead of NumPy (what CI runs)")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions of each figure (default 3, quick 2)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--chart", type=Path, help="also draw the results as a PNG here (needs --json)")
    parser.add_argument("--chart-only", action="store_true", help="only redraw --chart from an existing --json")
    parser.add_argument("--release-set", action="store_true",
                        help="only the release set against its wheels built one at a time, printed and in --json")
    parser.add_argument("--breakdown-only", action="store_true",
                        help="only the breakdown of one cold build (Pants' workunit logger), printed and in --json")
    args = parser.parse_args()
    if args.chart and not args.json:
        parser.error("--chart draws the --json result: give both")
    if args.chart_only:
        draw_chart(args.json, args.chart)
        return 0
    kind = "quick" if args.quick else "numpy"
    if args.release_set:
        # Its runs are all --no-pantsd: inputs fetched, and no daemon left holding memory.
        pants("--no-pantsd", "--version")
        results = {"machine": machine(), "release_set": release_set(RELEASE_SETS[kind], args.repeat or 1)}
        print_release_set(results["release_set"])
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n")
        return 0
    target = TARGETS[kind]
    repeat = args.repeat or (2 if args.quick else 3)
    results: dict = {"target": target, "machine": machine()}
    pants("--version")  # pantsd warm, inputs fetched
    if args.breakdown_only:
        results["breakdown"] = breakdown(target)
        print_breakdown(results)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n")
        return 0

    # Cold runs alternate --keep-sandboxes, so pantsd reinitialises its scheduler on each:
    # that drops its in-memory memo, the only way to run the processes again with pantsd up.
    # The reinitialisation is measured and reported on its own.
    raw = {what: {"before": [], "after": []} for what in _CREATED}
    build, repair, whole, reinit, processes, rss, sandboxes = [], [], [], [], [], [], []

    def replay_all(when: str, kept: dict[str, Path]) -> None:
        for what, sandbox in kept.items():
            seconds, peak = raw_replay(sandbox, what)
            raw[what][when].append(seconds)
            if what == "Build wheel" and when == "after":
                rss.append(peak / 1024)

    for i in range(repeat):
        _, run = pants("--no-local-cache", "--keep-sandboxes=always", "package", target)
        kept = {what: Path(path) for path, what in _KEPT.findall(run.stderr)}
        sandboxes.extend(kept.values())
        if i == 0:
            for what, sandbox in kept.items():
                raw_replay(sandbox, what)  # the replay's first run warms what the Pants run warmed
        replay_all("before", kept)
        progress(f"cold run {i + 1}/{repeat}: Pants")
        elapsed, run = pants("--no-local-cache", "--stats-log", "package", target)
        seconds = process_seconds(run.stderr)
        build.append(seconds["Build wheel"])
        repair.append(seconds["Repair wheel"])
        whole.append(elapsed)
        reinit.append(scheduler_seconds(run.stderr))
        processes.append(int(_PROCESS_MS.search(run.stderr).group(1)) / 1000)
        replay_all("after", kept)
        progress(f"cold run {i + 1}/{repeat}: whole {elapsed:.1f} s, build process {build[-1]:.1f} s")
    raw_build = statistics.median(raw["Build wheel"]["before"] + raw["Build wheel"]["after"])
    raw_repair = statistics.median(raw["Repair wheel"]["before"] + raw["Repair wheel"]["after"])
    cold = results["cold"] = {
        "raw_build_before": summary(raw["Build wheel"]["before"]), "build_process": summary(build),
        "raw_build_after": summary(raw["Build wheel"]["after"]),
        "raw_repair_before": summary(raw["Repair wheel"]["before"]), "repair_process": summary(repair),
        "raw_repair_after": summary(raw["Repair wheel"]["after"]),
        "whole_command": summary(whole), "scheduler_reinit": summary(reinit),
        "all_processes": summary(processes),
    }
    cold["build_process_over_raw"] = statistics.median(build) / raw_build
    cold["whole_command_over_raw_build_and_repair"] = statistics.median(whole) / (raw_build + raw_repair)
    cold["whole_without_reinit_over_raw_build_and_repair"] = (
        statistics.median([w - r for w, r in zip(whole, reinit)]) / (raw_build + raw_repair))
    results["peak_rss_mib"] = summary(rss)

    progress("no-op re-runs")
    pants("package", target)  # into the process cache
    noop = [pants("package", target)[0] for _ in range(repeat)]
    results["noop"] = {**summary(noop), "over_cold": statistics.median(noop) / statistics.median(whole)}

    progress("only the build cold: a new [meson-build].rebuild_salt each run")
    build_only, build_only_build, build_only_repairs = [], [], 0
    for i in range(repeat):
        salt = f"--meson-build-rebuild-salt=build-speed-{os.getpid()}-{i}-{time.time_ns()}"
        elapsed, run = pants(salt, "package", target)
        build_only.append(elapsed)
        build_only_build.append(process_seconds(run.stderr, ("Build wheel",))["Build wheel"])
        # The same bytes again: the repair (and everything after it) is a cache hit.
        build_only_repairs += "Starting: Repair wheel" in run.stderr
    results["build_only_cold"] = {
        "whole_command": summary(build_only), "build_process": summary(build_only_build),
        "repairs_run": build_only_repairs,
        "over_raw_build_and_repair": statistics.median(build_only) / (raw_build + raw_repair),
        "over_raw_build": statistics.median(build_only) / raw_build,
    }

    progress("a local BuildGrid: write, then read with empty local stores")
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

    progress("the graph and the launcher")
    # One unmeasured run first: pantsd restarts whenever the options change (the remote
    # runs above used others), and that restart is not what these figures measure.
    pants("--version")
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
    # Last: its extra backend (the workunit logger) makes pantsd rebuild its scheduler.
    progress("a breakdown of one more cold build")
    results["breakdown"] = breakdown(target)
    for kept in sandboxes:
        shutil.rmtree(kept, ignore_errors=True)

    m = results["machine"]
    print(f"machine: {m['cores']} cores, {m['memory_gib']} GiB, load before {m['load_before'][0]:.2f}; target {target}; {repeat} runs each")
    c = results["cold"]
    print(f"cold build, A-B-A: raw {fmt(c['raw_build_before'])} s | Pants build process {fmt(c['build_process'])} s | "
          f"raw {fmt(c['raw_build_after'])} s  -> build process / raw = {c['build_process_over_raw']:.3f}")
    print(f"cold repair, A-B-A: raw {fmt(c['raw_repair_before'])} s | Pants repair process {fmt(c['repair_process'])} s | "
          f"raw {fmt(c['raw_repair_after'])} s")
    print(f"cold whole command {fmt(c['whole_command'])} s, of which scheduler reinitialisation {fmt(c['scheduler_reinit'])} s "
          f"and all processes {fmt(c['all_processes'])} s")
    print(f"  whole command / (raw build + raw repair) = {c['whole_command_over_raw_build_and_repair']:.3f}; "
          f"without the reinitialisation {c['whole_without_reinit_over_raw_build_and_repair']:.3f}")
    b = results["build_only_cold"]
    print(f"only the build cold (pantsd warm, the rest cached): whole command {fmt(b['whole_command'])} s, build process "
          f"{fmt(b['build_process'])} s -> / (raw build + raw repair) = {b['over_raw_build_and_repair']:.3f}, "
          f"/ raw build = {b['over_raw_build']:.3f}; repairs run again: {b['repairs_run']}")
    print(f"no-op re-run (pantsd warm): {fmt(results['noop'])} s = {results['noop']['over_cold']:.4f} of cold")
    r = results["remote"]
    print(f"empty local store, warm BuildGrid: {fmt(r['empty_local_store_remote_read'])} s against "
          f"{fmt(r['empty_local_store_no_cache'])} s without a cache = {r['over_cold']:.3f}")
    g = results["graph"]
    print(f"dependencies --transitive {fmt(g['dependencies_transitive'])} s / --version {fmt(g['version'])} s = {g['ratio']:.2f}")
    print(f"peak memory of the build: {fmt(results['peak_rss_mib'])} MiB")
    print(f"launcher overhead: {fmt(results['launcher_seconds'])} s")
    print_breakdown(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.chart:
        draw_chart(args.json, args.chart)
    return 0


if __name__ == "__main__":
    sys.exit(main())
