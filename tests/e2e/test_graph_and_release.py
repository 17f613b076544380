"""End to end: graph-export's files, the errors a release set gives, and the CI matrix."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import yaml  # pants: no-infer-dep (PyYAML comes with Pants, in plugin-tests)

from tests.e2e.repo import run_pants

WHEEL = "tests/fixtures/mini:wheel@python=3.12"


def test_graph_export_writes_the_wheels_real_graph(clone: Path) -> None:
    result = run_pants(clone, "graph-export", WHEEL)
    assert result.returncode == 0
    (json_file,) = (clone / "dist/graph").glob("*.json")
    graph = json.loads(json_file.read_text())
    nodes = {n["address"]: n["type"] for n in graph["nodes"]}
    edges = {(e["from"], e["to"]) for e in graph["edges"]}
    assert nodes[WHEEL] == "meson_wheel"
    assert nodes["3rdparty/toolchains:host"] == "cc_toolchain"
    assert nodes["3rdparty/python:cpython-3.12"] == "host_cpython"
    for dependency in (
        "tests/fixtures/mini:mini",
        "3rdparty/toolchains:host",
        "3rdparty/python:cpython-3.12",
    ):
        assert (WHEEL, dependency) in edges, dependency
    # Every edge joins two exported nodes, and the DOT file holds the same graph.
    assert all(a in nodes and b in nodes for a, b in edges)
    dot = json_file.with_suffix(".dot").read_text()
    assert (
        dot.count(" -> ") == len(edges) and f'"{WHEEL}" -> "3rdparty/python:cpython-3.12";' in dot
    )
    assert f"{WHEEL}: {len(nodes)} targets, {len(edges)} edges" in result.stdout


def _release_set(clone: Path, name: str, artifacts: list[str]) -> None:
    with open(clone / "tests/fixtures/probe/BUILD", "a") as f:
        f.write(f"\nrelease_set(name={name!r}, artifacts={artifacts!r})\n")


def test_release_set_errors_name_the_artifact(clone: Path) -> None:
    _release_set(clone, "not-packageable", ["3rdparty/python:cpython-3.12"])
    _release_set(
        clone, "other-platform", [":wheel", "numpy_src:wheel-macosx_arm64-accelerate@python=3.13"]
    )
    _release_set(clone, "missing", [":no-such-target"])
    result = run_pants(clone, "package", "tests/fixtures/probe:not-packageable")
    assert result.returncode != 0
    assert "3rdparty/python:cpython-3.12 is not one packageable target" in result.stderr
    result = run_pants(clone, "package", "tests/fixtures/probe:other-platform")
    assert result.returncode != 0
    assert "is a macosx_arm64 wheel and this machine is" in result.stderr
    result = run_pants(clone, "package", "tests/fixtures/probe:missing")
    assert result.returncode != 0
    assert "no-such-target" in result.stderr and "does not exist" in result.stderr
    assert not (clone / "dist").exists() or not any((clone / "dist").rglob("*.whl"))


def test_help_describes_every_target_type(clone: Path) -> None:
    result = run_pants(clone, "help-all")
    assert result.returncode == 0
    types = json.loads(result.stdout)["name_to_target_type_info"]
    ours = (
        "cc_toolchain",
        "zig_toolchain",
        "host_cpython",
        "meson_project",
        "source_release",
        "native_library",
        "meson_wheel",
        "wheel_test",
        "release_sdist",
        "release_set",
    )
    for name in ours:
        info = types[name]
        assert info["description"], name
        assert all(field["description"] for field in info["fields"]), name


def test_release_matrix_is_the_graphs_and_the_build_job_runs_as_written(clone: Path) -> None:
    printed = run_pants(clone, "release-matrix", "//:")
    assert printed.returncode == 0
    matrix = json.loads(printed.stdout)
    # The same, read independently from the targets: the release sets, their wheels' fields,
    # and the wheel_test targets whose `wheel` names those wheels.
    peeked = {
        t["address"]: t for t in json.loads(run_pants(clone, "peek", "//:", "numpy_src::").stdout)
    }
    tests_of: dict[str, set[str]] = {}
    for test in (t for t in peeked.values() if t["target_type"] == "wheel_test"):
        named = "numpy_src" + test["wheel"]
        tested = (
            f"{named}@python={test['python']}"
            if f"{named}@python={test['python']}" in peeked
            else named
        )
        tests_of.setdefault(tested, set()).add(test["address"])
    expected = []
    for release in sorted(
        (t for t in peeked.values() if t["target_type"] == "release_set"),
        key=lambda t: t["address"],
    ):
        wheels = [
            peeked[a]
            for a in release["artifacts"]
            if a in peeked and peeked[a]["target_type"] == "meson_wheel"
        ]
        ((platform, runner),) = {(w["platform"], w["runner"]) for w in wheels}
        expected.append(
            {
                "release_set": release["address"],
                "platform": platform,
                "runner": runner,
                "dist_dir": "dist/" + release["address"].split(":")[1],
                "tests": " ".join(sorted(set().union(*(tests_of[w["address"]] for w in wheels)))),
            }
        )
    assert {e["platform"] for e in expected} == {
        "manylinux_x86_64",
        "manylinux_aarch64",
        "musllinux_x86_64",
        "musllinux_aarch64",
    }
    assert matrix == {"include": expected}
    # A set with a wheel no wheel_test covers is refused: CI would publish it untested.
    _release_set(clone, "untested", ["numpy_src:wheel-gcc@python=3.12"])
    untested = run_pants(clone, "release-matrix", "tests/fixtures/probe:untested")
    assert untested.returncode != 0
    assert "no `wheel_test` tests numpy_src:wheel-gcc@python=3.12" in untested.stderr
    # The Linux build job's package and verify steps, run exactly as the workflow writes
    # them, on the fixture release set.
    workflow = yaml.safe_load((Path.cwd() / ".github/workflows/release.yml").read_text())
    steps = {s.get("name"): s for s in workflow["jobs"]["build"]["steps"]}
    for name, env in (
        ("Build the release set", {"RELEASE_SET": "tests/fixtures/mini:release"}),
        ("Verify it (sums, RECORD, SBOM, provenance, pins)", {"DIST_DIR": "dist/release"}),
        (
            "Test the set's wheels in clean venvs (the wheel_test targets the matrix names)",
            {"WHEEL_TESTS": "tests/fixtures/mini:wheel-test"},
        ),
    ):
        command = steps[name]["run"].replace("./pants ", "./pants --no-pantsd ")
        result = subprocess.run(
            ["bash", "-e", "-c", command],
            cwd=clone,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=1500,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert (clone / "dist/release/SHA256SUMS").read_text().count(".whl") == 4
