"""Rule tests for pinned sources, native libraries' bundling checks and platform guards."""

from __future__ import annotations

import hashlib
from pathlib import Path
from textwrap import dedent

import pytest
from pants.core.util_rules import archive, system_binaries
from pants.engine.addresses import Address
from pants.engine.fs import DigestContents
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import QueryRule, RuleRunner, engine_error

from build_defs.inputs import project_source, store_artifact
from build_defs.inputs.project_source import ProjectTree, ProjectTreeRequest
from build_defs.inputs.store_artifact import MissingArtifactError
from build_defs.inputs.target_types import SourceReleaseTarget
from build_defs.platforms.registry import host_wheel_platform
from build_defs.wheels.build_wheel import (
    REBUILD_SALT,
    MesonWheelFieldSet,
    WrongPlatformError,
    check_buildable_here,
    checked_build_env,
)
from build_defs.wheels.target_types import MesonWheelTarget
from tests.unit.support import sdist_bytes


@pytest.fixture
def rule_runner() -> RuleRunner:
    return RuleRunner(
        rules=[
            *project_source.rules(),
            *store_artifact.rules(),
            *archive.rules(),
            *system_binaries.rules(),
            QueryRule(ProjectTree, [ProjectTreeRequest]),
        ],
        target_types=[SourceReleaseTarget],
    )


def _pin(rule_runner: RuleRunner, tmp_path: Path, data: bytes, sha256: str | None = None) -> None:
    store = tmp_path / "store"
    (store / "files").mkdir(parents=True, exist_ok=True)
    (store / "files" / "demo-1.0.tar.gz").write_bytes(data)
    rule_runner.write_files(
        {
            "src/BUILD": dedent(
                f"""\
                source_release(
                    name="demo",
                    version="1.0",
                    filename="demo-1.0.tar.gz",
                    sha256="{sha256 or hashlib.sha256(data).hexdigest()}",
                    size={len(data)},
                    source_date_epoch=1700000000,
                )
                """
            )
        }
    )
    rule_runner.set_options([f"--artifact-store-root={store}"], env_inherit={"PATH"})


def test_source_release_is_extracted_under_src(rule_runner: RuleRunner, tmp_path: Path) -> None:
    data = sdist_bytes(
        {"demo-1.0/meson.build": b"project('demo')\n", "demo-1.0/pkg/a.c": b"int a;\n"}
    )
    _pin(rule_runner, tmp_path, data)
    tree = rule_runner.request(
        ProjectTree, [ProjectTreeRequest(Address("src", target_name="demo"))]
    )
    contents = {fc.path: fc.content for fc in rule_runner.request(DigestContents, [tree.digest])}
    assert contents == {"src/meson.build": b"project('demo')\n", "src/pkg/a.c": b"int a;\n"}
    assert tree.source_date_epoch == 1700000000


def test_source_release_with_wrong_digest_is_refused(
    rule_runner: RuleRunner, tmp_path: Path
) -> None:
    data = sdist_bytes({"demo-1.0/meson.build": b"project('demo')\n"})
    _pin(rule_runner, tmp_path, data, sha256="0" * 64)
    with pytest.raises(ExecutionError, match="0{64}"):
        rule_runner.request(ProjectTree, [ProjectTreeRequest(Address("src", target_name="demo"))])


def test_source_release_missing_from_store_says_what_to_do(
    rule_runner: RuleRunner, tmp_path: Path
) -> None:
    _pin(rule_runner, tmp_path, b"whatever")
    (tmp_path / "store" / "files" / "demo-1.0.tar.gz").unlink()
    with engine_error(
        MissingArtifactError,
        contains="demo-1.0.tar.gz (pinned by src:demo) is not in the artifact store",
    ):
        rule_runner.request(ProjectTree, [ProjectTreeRequest(Address("src", target_name="demo"))])


def _wheel_field_set(
    platform: str | None, python: str = "3.12", build_env: dict | None = None
) -> MesonWheelFieldSet:
    tgt = MesonWheelTarget(
        {
            "build_env": build_env or {},
            "source": ":src",
            "python": python,
            "build_requirements": [],
            "repair_requirements": [],
            "toolchain": ":tc",
            "platform": platform,
            "runner": "macos-14",
        },
        Address("numpy_src", target_name="wheel", parameters={"python": python}),
    )
    return MesonWheelFieldSet.create(tgt)


def test_other_platforms_stop_with_the_runner_they_need() -> None:
    check_buildable_here(_wheel_field_set(host_wheel_platform()))
    check_buildable_here(_wheel_field_set(None))
    other = "macosx_arm64" if host_wheel_platform() != "macosx_arm64" else "manylinux_x86_64"
    with pytest.raises(
        WrongPlatformError, match=f"is a {other} wheel and this machine is .*`macos-14` runner"
    ):
        check_buildable_here(_wheel_field_set(other))
    with pytest.raises(WrongPlatformError, match="free-threaded CPython 3.14t"):
        check_buildable_here(_wheel_field_set(None, "3.14t"))
    # Windows: one sentence, whatever the host (Pants 2.17 does not run there).
    for windows in ("win_amd64", "win_arm64"):
        with pytest.raises(
            WrongPlatformError, match=f"is a {windows} wheel: Pants 2.17 does not run on Windows"
        ):
            check_buildable_here(_wheel_field_set(windows))


def test_build_env_may_not_set_what_the_rule_sets() -> None:
    assert checked_build_env(_wheel_field_set(None, build_env={"B": "2", "A": "1"})) == [
        ("A", "1"),
        ("B", "2"),
    ]
    # `[meson-build].rebuild_salt` keys the build through this variable: a target cannot.
    for name in ("PATH", REBUILD_SALT):
        with pytest.raises(ValueError, match=f"`build_env` may not set {name}: the build rule"):
            checked_build_env(_wheel_field_set(None, build_env={name: "x"}))
    with pytest.raises(ValueError, match="is not an environment variable name"):
        checked_build_env(_wheel_field_set(None, build_env={"A-B": "x"}))


def test_isolation_refusal_names_the_fix_for_the_host() -> None:
    from build_defs.wheels.isolation import MACOS_REFUSAL, refusal_message

    linux = refusal_message("network namespace refused: unshare: Operation not permitted")
    assert "apparmor_restrict_unprivileged_userns=0" in linux and "best-effort" in linux
    macos = refusal_message(MACOS_REFUSAL)
    # No Linux sysctl advice on a Mac: only the opt-out, and that releases refuse it.
    assert (
        "sysctl" not in macos and "no macOS sandbox yet" in macos and "release sets refuse" in macos
    )
