"""Draw a build_speed.py result (JSON) as a PNG: the cold A-B-A seconds with their min-max
range, and every ratio against its goal. Runs in the pinned matplotlib venv that
`build_speed.py --chart` makes (set `benchmark-chart` of 3rdparty/artifacts.json).

    python chart.py RESULT.json OUT.png
"""

from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")  # no screen: draw straight to the file
import matplotlib.pyplot as plt  # noqa: E402

# (label, key in "cold") for the seconds panel, in the order they ran.
SECONDS = [
    ("raw build (before)", "raw_build_before"), ("Pants build process", "build_process"),
    ("raw build (after)", "raw_build_after"), ("raw repair (before)", "raw_repair_before"),
    ("Pants repair process", "repair_process"), ("raw repair (after)", "raw_repair_after"),
    ("Pants scheduler reinit", "scheduler_reinit"), ("Pants whole command", "whole_command"),
]


def ratios(result: dict) -> list[tuple[str, float, float]]:
    """(label, measured, goal) for each ratio the issue sets a goal for."""
    cold = result["cold"]
    return [
        ("build process / raw build", cold["build_process_over_raw"], 1.05),
        ("whole / (raw build + repair)", cold["whole_command_over_raw_build_and_repair"], 1.05),
        ("  same, without scheduler reinit", cold["whole_without_reinit_over_raw_build_and_repair"], 1.05),
        ("no-op re-run / cold", result["noop"]["over_cold"], 0.01),
        ("warm BuildGrid, empty store / cold", result["remote"]["over_cold"], 0.05),
        ("dependencies --transitive / --version", result["graph"]["ratio"], 2.0),
    ]


def main(source: str, out: str) -> None:
    result = json.load(open(source))
    m = result["machine"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5), constrained_layout=True)
    labels = [label for label, _ in SECONDS]
    cold = result["cold"]
    medians = [cold[key]["median"] for _, key in SECONDS]
    below = [cold[key]["median"] - cold[key]["min"] for _, key in SECONDS]
    above = [cold[key]["max"] - cold[key]["median"] for _, key in SECONDS]
    left.barh(labels, medians, xerr=[below, above], color="#4878a8", capsize=3)
    left.invert_yaxis()
    left.set_xlabel("seconds (median, min-max)")
    left.set_title(f"cold ./pants package {result['target']}, A-B-A")
    for y, value in enumerate(medians):
        left.text(value, y, f" {value:.1f}", va="center", fontsize=8)

    rows = ratios(result)
    names = [label for label, _, _ in rows]
    values = [value for _, value, _ in rows]
    colours = ["#3a923a" if value <= goal else "#c44e52" for _, value, goal in rows]
    right.barh(names, values, color=colours)
    right.scatter([goal for _, _, goal in rows], names, marker="|", s=400, color="black", label="goal", zorder=3)
    right.invert_yaxis()
    right.set_xscale("log")
    right.set_xlabel("ratio (log scale; green meets its goal)")
    right.set_title("ratios against their goals")
    right.legend(loc="lower right")
    for y, value in enumerate(values):
        right.text(value, y, f" {value:.3f}", va="center", fontsize=8)
    fig.suptitle(f"{m['cores']} cores, {m['memory_gib']} GiB, load before {m['load_before'][0]:.2f}, {m['date']}")
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main(*sys.argv[1:])
