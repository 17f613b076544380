"""Evidence: RECORD edits, offline checks, pinned inputs from the graph, vendored components."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from pants.core.target_types import LockfileTarget
from pants.core.util_rules import archive, system_binaries
from pants.engine.addresses import Address
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import QueryRule, RuleRunner, engine_error
from pants.util.frozendict import FrozenDict
from pants.vcs import git

from build_defs.evidence import pinned_inputs, sbom
from build_defs.evidence.checks import (
    CurrentPins,
    check_statement_subject,
    check_sums,
    compare_pins,
    parse_sums,
)
from build_defs.evidence.pinned_inputs import (
    PinnedInput,
    PinnedInputs,
    PinnedInputsRequest,
    build_debian_packages,
    parse_hashed_requirements,
    parse_lockfile,
)
from build_defs.evidence.sbom import VendoredComponents, VendoredComponentsRequest
from build_defs.evidence.wheel_record import add_files, check_record, record_hash
from build_defs.inputs import native_library, project_source, store_artifact
from build_defs.inputs import target_types as input_targets
from build_defs.inputs.target_types import (
    DebianPackage,
    MesonProjectTarget,
    NativeLibraryTarget,
    SourceReleaseTarget,
)
from build_defs.toolchains import interpreter
from build_defs.toolchains import target_types as toolchain_targets
from build_defs.toolchains.target_types import DebianCPythonTarget, ZigToolchainTarget
from tests.unit.support import sdist_bytes


def _wheel(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A wheel with a valid RECORD, written by zipfile."""
    record = (
        "".join(f"{n},{record_hash(d)},{len(d)}\n" for n, d in files.items())
        + "demo-1.0.dist-info/RECORD,,\n"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in {**files, "demo-1.0.dist-info/RECORD": record.encode()}.items():
            zf.writestr(zipfile.ZipInfo(name, (2023, 11, 14, 22, 13, 20)), data)
    return buf.getvalue()


WHEEL_FILES = {
    "demo/__init__.py": b"x = 1\n" * 100,
    "demo.libs/libfoo-1a2b3c4d.so": b"\x7fELF" + bytes(range(256)) * 4,
    "demo-1.0.dist-info/METADATA": b"Metadata-Version: 2.4\nName: demo\nVersion: 1.0\n",
}


def test_add_files_keeps_every_entry_and_a_valid_record() -> None:
    original = _wheel(WHEEL_FILES)
    assert check_record(original) == []
    out = add_files(original, {"demo-1.0.dist-info/sboms/demo.cdx.json": b"{}\n"}, 1700000000)
    assert check_record(out) == []
    with zipfile.ZipFile(io.BytesIO(original)) as a, zipfile.ZipFile(io.BytesIO(out)) as b:
        assert b.namelist()[-2:] == [
            "demo-1.0.dist-info/sboms/demo.cdx.json",
            "demo-1.0.dist-info/RECORD",
        ]
        for info in a.infolist():
            if not info.filename.endswith("RECORD"):
                moved = b.getinfo(info.filename)
                # The same compressed bytes: nothing recompressed by this host's zlib.
                assert (moved.compress_type, moved.compress_size, moved.CRC) == (
                    info.compress_type,
                    info.compress_size,
                    info.CRC,
                )
        record = b.read("demo-1.0.dist-info/RECORD").decode()
        assert record.endswith(
            "demo-1.0.dist-info/sboms/demo.cdx.json,sha256="
            + record_hash(b"{}\n")[7:]
            + ",3\ndemo-1.0.dist-info/RECORD,,\n"
        )
        assert b.getinfo("demo-1.0.dist-info/sboms/demo.cdx.json").date_time == (
            2023,
            11,
            14,
            22,
            13,
            20,
        )
    # Deterministic.
    assert out == add_files(
        original, {"demo-1.0.dist-info/sboms/demo.cdx.json": b"{}\n"}, 1700000000
    )


def test_check_record_names_each_difference() -> None:
    damaged = bytearray(_wheel(WHEEL_FILES, zipfile.ZIP_STORED))
    damaged[damaged.find(b"x = 1")] = ord("y")
    problems = check_record(bytes(damaged))
    assert problems and all(p.startswith("demo/__init__.py") for p in problems)
    out = add_files(_wheel(WHEEL_FILES), {"demo-1.0.dist-info/extra.txt": b"1"}, 0)
    with zipfile.ZipFile(io.BytesIO(out)) as zf:
        record = (
            zf.read("demo-1.0.dist-info/RECORD")
            .decode()
            .replace("demo-1.0.dist-info/extra.txt,", "gone.txt,")
        )
    problems = check_record(_rewrite_record(out, record))
    assert "gone.txt is in RECORD but not in the wheel" in problems
    assert "demo-1.0.dist-info/extra.txt is in the wheel but not in RECORD" in problems


def _rewrite_record(wheel: bytes, record: str) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(wheel))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for info in src.infolist():
            zf.writestr(info, record if info.filename.endswith("RECORD") else src.read(info))
    return buf.getvalue()


def test_sums_subject_and_pins_checks_name_the_cause() -> None:
    present = {"a.whl": b"a", "a.whl.intoto.jsonl": b"s", "b.whl": b"b"}
    sums = parse_sums(
        f"{hashlib.sha256(b'a').hexdigest()}  a.whl\n{'0' * 64}  a.whl.intoto.jsonl\n{'1' * 64}  gone.whl\n"
    )
    problems = check_sums(sums, present)
    assert any(
        p.startswith("a.whl.intoto.jsonl: sha256 ") and "differs from SHA256SUMS" in p
        for p in problems
    )
    assert "gone.whl: listed in SHA256SUMS but missing" in problems
    assert "b.whl: not listed in SHA256SUMS" in problems
    assert not any(p.startswith("a.whl:") for p in problems)

    statement = {"subject": [{"name": "b.whl", "digest": {"sha256": "f" * 64}}]}
    (problem,) = check_statement_subject("a.whl", b"a", "a.whl.intoto.jsonl", statement)
    assert "is for [('b.whl'" in problem
    assert (
        check_statement_subject(
            "b.whl",
            b"b",
            "x",
            {
                "subject": [
                    {"name": "b.whl", "digest": {"sha256": hashlib.sha256(b"b").hexdigest()}}
                ]
            },
        )
        == []
    )

    recorded = [
        PinnedInput("z-1.tar.gz", FrozenDict({"sha256": "1" * 64}), "pinned-file", "src:z"),
        PinnedInput(
            "m-1.whl", FrozenDict({"sha256": "2" * 64}), "locked-distribution", "3rdparty:lock"
        ),
        PinnedInput("o-1.whl", FrozenDict({"sha256": "3" * 64}), "pinned-file", "gone:o"),
        PinnedInput("cpython-3.12.1", FrozenDict({"sha256": "4" * 64}), "interpreter", "py:3.12"),
        PinnedInput(
            "cpython-3.13.5",
            FrozenDict({"sha256": "5" * 64}),
            "interpreter",
            "py:cross",
            FrozenDict({"targetTriplet": "aarch64-linux-gnu"}),
        ),
        PinnedInput(
            "cpython-3.14.8",
            FrozenDict({"sha256": "6" * 64}),
            "interpreter",
            "py:rooted",
            FrozenDict({"rootFileSystem": "59 Debian packages"}),
        ),
    ]
    current = CurrentPins(
        {
            "src:z": {"z-2.tar.gz": {"sha256": "5" * 64}},
            "3rdparty:lock": {"m-1.whl": {"sha256": "6" * 64}},
            "gone:o": None,
        }
    )
    problems, notes = compare_pins("a.whl", recorded, current)
    assert problems == [
        "a.whl: pin changed since the build: z-1.tar.gz is no longer pinned by src:z (it pins z-2.tar.gz now)",
        f"a.whl: pin changed since the build: m-1.whl (3rdparty:lock) was sha256:{'2' * 64}, is now sha256:{'6' * 64}",
        "a.whl: o-1.whl was pinned by gone:o, which no longer exists",
    ]
    assert notes == [
        "a.whl: built with cpython-3.12.1 (py:3.12); interpreters are found on the host, not pinned",
        "a.whl: built for cpython-3.13.5 on aarch64-linux-gnu (py:cross), from the pinned Debian packages recorded with it",
        "a.whl: built with cpython-3.14.8 (py:rooted), run in the root file system of its pinned 59 Debian packages recorded with it",
    ]
    current_ok = CurrentPins(
        {
            "src:z": {"z-1.tar.gz": {"sha256": "1" * 64}},
            "3rdparty:lock": {"m-1.whl": {"sha256": "2" * 64}},
            "gone:o": {"o-1.whl": {"sha256": "3" * 64}},
        }
    )
    assert compare_pins("a.whl", recorded, current_ok)[0] == []
    # An engine pin has one file per platform: the recorded hash must be one of them.
    engine = [PinnedInput("e==1", FrozenDict({"sha256": "7" * 64}), "engine", "e.txt")]
    both = CurrentPins({"e.txt": {"e==1": [{"sha256": "8" * 64}, {"sha256": "7" * 64}]}})
    assert compare_pins("a.whl", engine, both)[0] == []
    (changed,) = compare_pins(
        "a.whl",
        engine,
        CurrentPins({"e.txt": {"e==1": [{"sha256": "8" * 64}, {"sha256": "9" * 64}]}}),
    )[0]
    assert f"was sha256:{'7' * 64}, is now sha256:{'8' * 64} or sha256:{'9' * 64}" in changed


def test_the_repositorys_lockfile_and_engine_pins_parse() -> None:
    lock = parse_lockfile(
        Path("3rdparty/python/build.lock").read_text(), "3rdparty/python/build.lock:_build_lockfile"
    )
    names = {p.name for p in lock}
    assert any(n.startswith("meson_python-") and n.endswith(".whl") for n in names)
    assert all(len(p.digest["sha256"]) == 64 for p in lock)
    pants = parse_hashed_requirements(
        Path("3rdparty/bootstrap/pants.txt").read_text(), ("pantsbuild.pants",), "p.txt"
    )
    # One wheel per platform Pants runs on.
    assert len(pants) == 4 and len({p.digest["sha256"] for p in pants}) == 4
    assert {p.name for p in pants} == {"pantsbuild-pants==2.17.1"} and {p.kind for p in pants} == {
        "engine"
    }
    with pytest.raises(ValueError, match="pins no"):
        parse_hashed_requirements("x==1 --hash=sha256:" + "0" * 64, ("y",), "p.txt")


@pytest.fixture
def rule_runner() -> RuleRunner:
    return RuleRunner(
        rules=[
            *pinned_inputs.rules(),
            *interpreter.rules(),
            sbom.vendored_components,
            *project_source.rules(),
            *store_artifact.rules(),
            *native_library.rules(),
            *archive.rules(),
            *system_binaries.rules(),
            *git.rules(),
            QueryRule(VendoredComponents, [VendoredComponentsRequest]),
            QueryRule(PinnedInputs, [PinnedInputsRequest]),
        ],
        target_types=[
            SourceReleaseTarget,
            NativeLibraryTarget,
            MesonProjectTarget,
            ZigToolchainTarget,
            LockfileTarget,
        ],
        objects={**input_targets.build_file_objects(), **toolchain_targets.build_file_objects()},
    )


def _source(rule_runner: RuleRunner, tmp_path: Path, vendored: str) -> str:
    """Declare the pinned sdist `src:demo`; return its sha256, computed from its bytes."""
    data = sdist_bytes(
        {
            "demo-1.0/vendor/lib/version.h": b"#define LIB_MAJOR 4\n#define LIB_MINOR 2\n",
            "demo-1.0/vendor/other/a.c": b"",
        }
    )
    store = tmp_path / "store"
    (store / "files").mkdir(parents=True, exist_ok=True)
    (store / "files" / "demo-1.0.tar.gz").write_bytes(data)
    rule_runner.write_files(
        {
            "src/BUILD": (
                'source_release(name="demo", version="1.0", filename="demo-1.0.tar.gz", '
                f'sha256="{hashlib.sha256(data).hexdigest()}", size={len(data)}, '
                'source_date_epoch=1700000000, upstream_tag="v1.0", '
                f"vendored_components={vendored})\n"
            ),
            "pins.txt": "pantsbuild.pants==2.17.1 \\\n    --hash=sha256:"
            + "a" * 64
            + "\nother==1 --hash=sha256:"
            + "b" * 64
            + "\n",
        }
    )
    rule_runner.set_options(
        [
            f"--artifact-store-root={store}",
            '--evidence-engine-requirements={"pins.txt": "pantsbuild.pants"}',
        ],
        env_inherit={"PATH"},
    )
    return hashlib.sha256(data).hexdigest()


def test_vendored_components_are_checked_against_the_source(
    rule_runner: RuleRunner, tmp_path: Path
) -> None:
    _source(
        rule_runner,
        tmp_path,
        """[
            vendored_component(name="lib", path="vendor/lib", license="MIT", version_file="version.h",
                               version_pattern=r"LIB_MAJOR (\\d+)\\s+#define LIB_MINOR (\\d+)"),
            vendored_component(name="other", path="vendor/other/a.c", license="0BSD", note="no version"),
        ]""",
    )
    result = rule_runner.request(
        VendoredComponents, [VendoredComponentsRequest(Address("src", target_name="demo"))]
    )
    assert [dict(e) for e in result.entries] == [
        {"name": "lib", "path": "vendor/lib", "license": "MIT", "version": "4.2"},
        {"name": "other", "path": "vendor/other/a.c", "license": "0BSD", "note": "no version"},
    ]


@pytest.mark.parametrize(
    "entry, message",
    [
        (
            'vendored_component(name="gone", path="vendor/gone", license="MIT", version="1")',
            "vendored component gone is declared at vendor/gone, which is not in the source",
        ),
        (
            'vendored_component(name="lib", path="vendor/lib", license="MIT", version_file="version.h", version_pattern="NOPE (\\\\d+)")',
            "matches nothing in vendor/lib/version.h",
        ),
    ],
)
def test_a_wrong_vendored_declaration_stops_the_build(
    rule_runner: RuleRunner, tmp_path: Path, entry: str, message: str
) -> None:
    _source(rule_runner, tmp_path, f"[{entry}]")
    with engine_error(Exception, contains=message):
        rule_runner.request(
            VendoredComponents, [VendoredComponentsRequest(Address("src", target_name="demo"))]
        )


def test_a_declaration_without_version_or_note_is_refused(
    rule_runner: RuleRunner, tmp_path: Path
) -> None:
    _source(
        rule_runner, tmp_path, '[vendored_component(name="lib", path="vendor/lib", license="MIT")]'
    )
    with pytest.raises(
        ExecutionError, match=r"vendored_component\(lib\) needs exactly one of `version`"
    ):
        rule_runner.request(
            VendoredComponents, [VendoredComponentsRequest(Address("src", target_name="demo"))]
        )


def test_pinned_inputs_come_from_the_graph_and_the_engine_pins(
    rule_runner: RuleRunner, tmp_path: Path
) -> None:
    sha = _source(rule_runner, tmp_path, "[]")
    result = rule_runner.request(
        PinnedInputs, [PinnedInputsRequest(Address("src", target_name="demo"))]
    )
    descriptors = [i.as_descriptor() for i in result.inputs]
    assert descriptors == [
        {
            "name": "pantsbuild-pants==2.17.1",
            "digest": {"sha256": "a" * 64},
            "annotations": {"kind": "engine", "pinnedBy": "pins.txt"},
        },
        {
            "name": "demo-1.0.tar.gz",
            "digest": {"sha256": sha},
            "annotations": {
                "kind": "pinned-file",
                "pinnedBy": "src:demo",
                "version": "1.0",
                "upstreamTag": "v1.0",
            },
        },
    ]


def _deb(name: str) -> DebianPackage:
    return DebianPackage(
        filename=f"{name}_1.0_arm64.deb", sha256=hashlib.sha256(name.encode()).hexdigest(), size=1
    )


def test_debian_packages_a_target_builds_from_are_inputs_and_its_test_packages_are_not() -> None:
    """Its test root and the qemu that runs it are not inputs of a wheel."""
    interpreter_target = DebianCPythonTarget(
        {
            "version": "3.13",
            "triplet": "aarch64-linux-gnu",
            "platform": "manylinux_aarch64",
            "build_interpreter": ":cpython",
            "debian_packages": [_deb("libpython-dev")],
            "test_packages": [_deb("libc6")],
            "emulator_packages": [_deb("qemu-user")],
        },
        Address("py", target_name="cross"),
    )
    assert [p["filename"] for p in build_debian_packages(interpreter_target)] == [
        "libpython-dev_1.0_arm64.deb"
    ]
    # An interpreter in a root file system builds from every package of its root.
    rooted = DebianCPythonTarget(
        {
            "version": "3.14",
            "triplet": "x86_64-linux-gnu",
            "platform": "manylinux_x86_64",
            "debian_packages": [_deb("libpython-dev")],
            "root_packages": [_deb("libpython-dev"), _deb("libc6")],
        },
        Address("py", target_name="rooted"),
    )
    assert sorted(p["filename"] for p in build_debian_packages(rooted)) == [
        "libc6_1.0_arm64.deb",
        "libpython-dev_1.0_arm64.deb",
        "libpython-dev_1.0_arm64.deb",
    ]


_SIGNED = {
    "suite": "trixie",
    "inrelease_date": "Sat, 21 Nov 2026 09:15:44 UTC",
    "inrelease_sha256": "e" * 64,
    "signed_by": ["F" * 40],
    "index": "main/binary-arm64/Packages.xz",
    "index_sha256": "f" * 64,
}


def _toolchain_with_runtime(
    rule_runner: RuleRunner, tmp_path: Path, signed_index: dict | None
) -> dict:
    """`tc:zig`, whose runtime archive comes from a Debian package of the manifest's set
    `runtime`, which records `signed_index` (or none); the package's entry."""
    _source(rule_runner, tmp_path, "[]")
    libgcc = _deb("libgcc-dev").entry
    runtime: dict = {"debian": {"suite": "trixie"}}
    if signed_index is not None:
        runtime["signed_index"] = signed_index
    manifest = {"sets": {"runtime": runtime}, "artifacts": [{**libgcc, "sets": ["runtime"]}]}
    rule_runner.write_files(
        {
            "tc/BUILD": (
                'zig_toolchain(name="zig", version="0.1", filename="zig.whl", sha256="'
                + "c" * 64
                + '", size=1, '
                f"runtime_packages=[debian_package(**{dict(libgcc)!r})], "
                "runtime_files=[runtime_file(path='usr/lib/libgcc.a', name='libgcc.a')])\n"
            ),
            "3rdparty/artifacts.json": json.dumps(manifest),
        }
    )
    return libgcc


def test_a_toolchains_runtime_packages_are_recorded_with_their_signed_index_and_verified(
    rule_runner: RuleRunner, tmp_path: Path
) -> None:
    libgcc = _toolchain_with_runtime(rule_runner, tmp_path, _SIGNED)
    result = rule_runner.request(
        PinnedInputs, [PinnedInputsRequest(Address("tc", target_name="zig"))]
    )
    recorded = [i for i in result.inputs if i.pinned_by == "tc:zig"]
    assert sorted((i.as_descriptor() for i in recorded), key=lambda d: d["name"], reverse=True) == [
        {
            "name": "zig.whl",
            "digest": {"sha256": "c" * 64},
            "annotations": {"kind": "pinned-file", "pinnedBy": "tc:zig", "version": "0.1"},
        },
        {
            "name": libgcc["filename"],
            "digest": {"sha256": libgcc["sha256"]},
            "annotations": {
                "kind": "pinned-file",
                "pinnedBy": "tc:zig",
                "source": "debian",
                "signedIndex": "trixie/main/binary-arm64/Packages.xz",
            },
        },
    ]
    # The signed index that vouched for the pin, from the manifest pin.py wrote.
    assert [i.as_descriptor() for i in result.inputs if i.kind == "signed-index"] == [
        {
            "name": "trixie/main/binary-arm64/Packages.xz",
            "digest": {"sha256": "f" * 64},
            "annotations": {
                "kind": "signed-index",
                "pinnedBy": "3rdparty/artifacts.json",
                "inreleaseDate": "Sat, 21 Nov 2026 09:15:44 UTC",
                "inreleaseSha256": "e" * 64,
                "signedBy": "F" * 40,
            },
        }
    ]
    # `verify` reads today's pins of the same target the same way: a changed package is named,
    # and the signed index is told.
    now = {libgcc["filename"]: {"sha256": "d" * 64}, "zig.whl": {"sha256": "c" * 64}}
    problems, notes = compare_pins("w.whl", list(result.inputs), CurrentPins({"tc:zig": now}))
    assert [p for p in problems if "tc:zig" in p] == [
        f"w.whl: pin changed since the build: {libgcc['filename']} (tc:zig) was sha256:{libgcc['sha256']}, "
        f"is now sha256:{'d' * 64}"
    ]
    assert (
        "w.whl: its Debian pins were read from trixie/main/binary-arm64/Packages.xz (sha256 "
        f"{'f' * 64}), vouched for by the InRelease dated Sat, 21 Nov 2026 09:15:44 UTC, "
        f"signed by {'F' * 40}"
    ) in notes


def test_a_debian_package_no_signed_index_vouches_for_stops_the_provenance(
    rule_runner: RuleRunner, tmp_path: Path
) -> None:
    """A package whose set records no signed index (pinned before the chain, or by hand)."""
    libgcc = _toolchain_with_runtime(rule_runner, tmp_path, None)
    with engine_error(
        ValueError,
        contains=f"{libgcc['filename']} (sha256 {libgcc['sha256']}, pinned by tc:zig) is in no "
        "Debian set of 3rdparty/artifacts.json that records the signed index",
    ):
        rule_runner.request(PinnedInputs, [PinnedInputsRequest(Address("tc", target_name="zig"))])


def _lock(*artifacts: str) -> str:
    """A Pants lockfile (pex's format, with Pants' header) locking numpy==2.5.5 as `artifacts`."""
    body = {
        "locked_resolves": [
            {
                "locked_requirements": [
                    {
                        "project_name": "numpy",
                        "version": "2.5.5",
                        "artifacts": [
                            {
                                "algorithm": "sha256",
                                "hash": hashlib.sha256(name.encode()).hexdigest(),
                                "url": f"file://${{WHEELHOUSE}}/{name}",
                            }
                            for name in artifacts
                        ],
                    }
                ]
            }
        ]
    }
    return "// This lockfile was autogenerated by Pants.\n" + json.dumps(body, indent=2)


@pytest.mark.parametrize(
    "installed, recorded",
    [
        # pex installed the locked cp312 wheel: neither the sdist nor the cp313 wheel was an input.
        (
            ("numpy-2.5.5-cp312-cp312-manylinux_2_28_x86_64.whl", "other-1-py3-none-any.whl"),
            ["numpy-2.5.5-cp312-cp312-manylinux_2_28_x86_64.whl"],
        ),
        # pex built a wheel from the locked sdist (no locked wheel fits): the sdist was the input.
        (("numpy-2.5.5-cp314-cp314-linux_x86_64.whl",), ["numpy-2.5.5.tar.gz"]),
    ],
    ids=["a-locked-wheel", "a-wheel-built-from-the-locked-sdist"],
)
def test_provenance_names_the_locked_artifacts_that_were_installed(
    rule_runner: RuleRunner, tmp_path: Path, installed: tuple[str, ...], recorded: list[str]
) -> None:
    """A build set that pins numpy==2.5.5, whose sdist is in the store beside its wheels."""
    _source(rule_runner, tmp_path, "[]")
    rule_runner.write_files(
        {
            "lk/build.lock": _lock(
                "numpy-2.5.5.tar.gz",
                "numpy-2.5.5-cp312-cp312-manylinux_2_28_x86_64.whl",
                "numpy-2.5.5-cp313-cp313-manylinux_2_28_x86_64.whl",
            ),
            "lk/BUILD": '_lockfile(name="lock", source="build.lock")\n',
        }
    )
    address = Address("lk", target_name="lock")
    every = rule_runner.request(PinnedInputs, [PinnedInputsRequest(address)])
    assert len([i for i in every.inputs if i.kind == "locked-distribution"]) == 3
    result = rule_runner.request(PinnedInputs, [PinnedInputsRequest(address, installed)])
    assert [i.name for i in result.inputs if i.kind == "locked-distribution"] == recorded
    # Every other input is kept.
    assert {i.name for i in result.inputs if i.kind != "locked-distribution"} == {
        i.name for i in every.inputs if i.kind != "locked-distribution"
    }
