#!/usr/bin/env bash
# Prints how long ./pants takes before it hands over to Pants, on a warm machine
# (store verified, venv and pex tool built): the launcher's cost on every run.
# Usage: tests/benchmarks/launcher_overhead.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-10}"
PANTS_BOOTSTRAP_ONLY=1 ./pants  # warm up (first run may install)
python3 - "$runs" <<'PY'
import os, statistics, subprocess, sys, time
runs = int(sys.argv[1])
env = {**os.environ, "PANTS_BOOTSTRAP_ONLY": "1"}
times = []
for _ in range(runs):
    start = time.perf_counter()
    subprocess.run(["./pants"], env=env, check=True)
    times.append(time.perf_counter() - start)
print(f"launcher overhead over {runs} runs: median {statistics.median(times) * 1000:.0f} ms, "
      f"max {max(times) * 1000:.0f} ms")
PY
