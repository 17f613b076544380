"""Static checks of .github/: YAML, GitHub's workflow schema, zizmor, and our hardening rules.

The checkers are pinned and hashed in 3rdparty/python/workflow-checks.txt and installed
from the artifact store, offline. Fixtures under tests/fixtures/workflows/ are broken on
purpose, so each check is shown to fail.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml  # pants: no-infer-dep (PyYAML comes with Pants, in plugin-tests)

from tests.unit.support import locked_venv

WORKFLOWS = sorted(Path(".github/workflows").glob("*.yml"))
FIXTURES = Path("tests/fixtures/workflows")
SHA_PIN = re.compile(r"^\s*-?\s*uses:\s*[\w.-]+/[\w./-]+@[0-9a-f]{40}\s+#\s*v\d")


@pytest.fixture(scope="module")
def tools(tmp_path_factory) -> Path:
    return locked_venv(
        tmp_path_factory.mktemp("workflow-checks") / "venv", "3rdparty/python/workflow-checks.txt"
    )


def _schema(tools: Path, *files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(tools / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
    )


def _zizmor(tools: Path, *paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(tools / "zizmor"), "--offline", "--pedantic", *map(str, paths)],
        capture_output=True,
        text=True,
    )


def _hardening_problems(path: Path) -> list[str]:
    """Our rules: full-SHA pins with a version comment, read-only default permissions,
    no persisted checkout credentials, no pull_request_target, no `${{ }}` inside `run:`."""
    text = path.read_text()
    doc = yaml.safe_load(text)
    problems = []
    for line in text.splitlines():
        if re.match(r"^\s*-?\s*uses:", line) and not SHA_PIN.match(line):
            problems.append(
                f"{path}: not pinned to a full commit SHA with a version comment: {line.strip()}"
            )
    if doc.get("permissions") != {"contents": "read"}:
        problems.append(f"{path}: top-level permissions must be `contents: read`")
    triggers = doc.get(True) or doc.get("on") or {}  # YAML 1.1 reads `on:` as True
    if "pull_request_target" in triggers:
        problems.append(f"{path}: pull_request_target")
    for name, job in (doc.get("jobs") or {}).items():
        for step in job.get("steps", ()):
            if (
                str(step.get("uses", "")).startswith("actions/checkout@")
                and (step.get("with") or {}).get("persist-credentials") is not False
            ):
                problems.append(
                    f"{path}: job {name}: checkout without `persist-credentials: false`"
                )
            if "${{" in str(step.get("run", "")):
                problems.append(
                    f"{path}: job {name}: an expression inside `run:` ({step['run'].strip()[:60]})"
                )
    return problems


def test_there_are_workflows() -> None:
    assert WORKFLOWS


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=str)
def test_workflow_parses_as_yaml(workflow: Path) -> None:
    doc = yaml.safe_load(workflow.read_text())
    assert isinstance(doc, dict) and doc.get("jobs"), workflow


def test_workflows_match_githubs_schema(tools: Path) -> None:
    result = _schema(tools, *WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_in_github_dir(tools: Path) -> None:
    result = _zizmor(tools, Path(".github"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=str)
def test_workflow_follows_our_hardening_rules(workflow: Path) -> None:
    assert _hardening_problems(workflow) == []


def test_the_checks_fail_on_broken_workflows(tools: Path) -> None:
    broken = _schema(tools, FIXTURES / "broken.yml")
    assert (
        broken.returncode != 0
        and "mapping values are not allowed here" in broken.stdout + broken.stderr
    )
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load((FIXTURES / "broken.yml").read_text())
    unhardened = _zizmor(tools, FIXTURES / "unhardened.yml")
    assert unhardened.returncode != 0
    for audit in ("artipacked", "excessive-permissions", "template-injection"):
        assert f"[{audit}]" in unhardened.stdout + unhardened.stderr, audit
    problems = _hardening_problems(FIXTURES / "unhardened.yml")
    assert any("actions/checkout@v4" in p for p in problems)
    assert any("top-level permissions" in p for p in problems)
    assert any("persist-credentials" in p for p in problems)
    assert any("an expression inside `run:`" in p for p in problems)


def _release_workflow() -> dict:
    return yaml.safe_load(Path(".github/workflows/release.yml").read_text())


def test_the_build_matrix_is_read_from_the_graph() -> None:
    jobs = _release_workflow()["jobs"]
    (matrix_step,) = [s for s in jobs["matrix"]["steps"] if s.get("id") == "matrix"]
    assert "./pants release-matrix //:" in matrix_step["run"]
    assert jobs["build"]["strategy"]["matrix"] == "${{ fromJSON(needs.matrix.outputs.matrix) }}"
    assert jobs["build"]["runs-on"] == "${{ matrix.runner }}"
    # No job builds anything but the graph's output: no Windows job, no hand-kept platform.
    for name, job in jobs.items():
        assert "windows" not in str(job.get("runs-on", "")).lower(), name


def test_triggers_publishing_and_secrets_are_where_they_belong() -> None:
    doc = _release_workflow()
    triggers = doc.get(True) or doc["on"]
    assert triggers["schedule"][0]["cron"] == "42 2 * * SUN,WED"
    assert "pull_request" in triggers
    assert triggers["workflow_dispatch"]["inputs"]["environment"]["options"] == [
        "none",
        "testpypi",
        "pypi",
    ]
    jobs = doc["jobs"]
    with_id_token = sorted(
        n for n, j in jobs.items() if (j.get("permissions") or {}).get("id-token") == "write"
    )
    assert with_id_token == ["pypi-publish", "testpypi-publish"]
    for name in with_id_token:
        assert jobs[name]["environment"] == name.split("-")[0]
        (publish,) = [
            s
            for s in jobs[name]["steps"]
            if str(s.get("uses", "")).startswith("pypa/gh-action-pypi-publish@")
        ]
        assert publish["with"]["attestations"] is True
    assert "check-version" in jobs["pypi-publish"]["needs"]
    # The nightly token is in that one step's environment, and nowhere else.
    text = Path(".github/workflows/release.yml").read_text()
    assert text.count("secrets.") == 1
    (upload,) = [
        s for s in jobs["nightly-upload"]["steps"] if "ANACONDA_TOKEN" in (s.get("env") or {})
    ]
    assert "--require-hashes" in "".join(s.get("run", "") for s in jobs["nightly-upload"]["steps"])
    # Release jobs use no cache: no Actions cache, no remote (REAPI) cache for Pants.
    assert "actions/cache" not in text and "cache:" not in text
    assert "remote-cache" not in text and "remote_cache" not in text and "remote-store" not in text
