"""The SBOM and provenance scripts, with the real CycloneDX and in-toto libraries."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from build_defs.evidence.wheel_record import check_record, record_hash
from tests.unit.support import locked_venv

TOOLS = Path("build_defs/evidence/tools").resolve()


@pytest.fixture(scope="module")
def python(tmp_path_factory) -> str:
    """The evidence tools' locked requirements, installed from the store as the rules do."""
    return str(
        locked_venv(tmp_path_factory.mktemp("evidence") / "venv", "3rdparty/python/evidence.txt")
        / "python"
    )


def _run(python: str, script: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [python, str(TOOLS / script), *args], capture_output=True, text=True, check=check
    )


def _sbom(
    python: str, tmp_path: Path, request: dict, name: str = "run"
) -> tuple[bytes, subprocess.CompletedProcess]:
    """Run wheel_sbom.py as the rule does; the finished wheel's bytes and the process."""
    work = tmp_path / name
    work.mkdir()
    (work / "request.json").write_text(json.dumps(request))
    (work / "demo-1.0-py3-none-any.whl").write_bytes(_wheel())
    result = _run(
        python,
        "wheel_sbom.py",
        str(work / "request.json"),
        str(work / "demo-1.0-py3-none-any.whl"),
        str(work / "out"),
        check=False,
    )
    out = work / "out/demo-1.0-py3-none-any.whl"
    return (out.read_bytes() if out.exists() else b""), result


SBOM_PATH = "demo-1.0.dist-info/sboms/demo.cdx.json"

LIB = b"\x7fELF" + bytes(range(256)) * 8
ORIGIN = {
    "address": "3rdparty/native:foo",
    "patterns": ["libfoo*.so"],
    "project": "foo-native",
    "version": "1.2.3",
    "filename": "foo_native-1.2.3-py3-none-any.whl",
    "sha256": "ab" * 32,
    "license": "BSD-3-Clause",
}
REQUEST = {
    "sbom_name": "demo.cdx.json",
    "source_date_epoch": 1700000000,
    "vendored": [
        {"name": "vlib", "path": "src/vlib", "license": "MIT", "version": "4.2"},
        {"name": "other", "path": "src/other", "license": "0BSD", "note": "no version stated"},
    ],
    "bundled_origins": [ORIGIN],
}


def _wheel() -> bytes:
    files = {
        "demo/__init__.py": b"",
        "demo.libs/libfoo-1a2b3c4d.so": LIB,
        "demo-1.0.dist-info/METADATA": b"Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nLicense-Expression: BSD-3-Clause\n",
    }
    record = (
        "".join(f"{n},{record_hash(d)},{len(d)}\n" for n, d in files.items())
        + "demo-1.0.dist-info/RECORD,,\n"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in {**files, "demo-1.0.dist-info/RECORD": record.encode()}.items():
            zf.writestr(zipfile.ZipInfo(name, (2023, 11, 14, 22, 13, 20)), data)
    return buf.getvalue()


def test_sbom_lists_package_vendored_and_bundled_and_validates(python: str, tmp_path: Path) -> None:
    wheel, result = _sbom(python, tmp_path, REQUEST)
    assert result.returncode == 0, result.stderr
    assert check_record(wheel) == []
    with zipfile.ZipFile(io.BytesIO(wheel)) as zf:
        sbom = zf.read(SBOM_PATH)
    doc = json.loads(sbom)
    assert doc["specVersion"] == "1.6"
    assert (
        doc["metadata"]["timestamp"] == "2023-11-14T22:13:20+00:00"
    )  # SOURCE_DATE_EPOCH, not the clock
    assert doc["metadata"]["component"]["purl"] == "pkg:pypi/demo@1.0"
    assert doc["metadata"]["component"]["licenses"] == [{"expression": "BSD-3-Clause"}]
    components = {c["name"]: c for c in doc["components"]}
    assert components["vlib"]["version"] == "4.2" and "version" not in components["other"]
    assert {"name": "meson-wheel:note", "value": "no version stated"} in components["other"][
        "properties"
    ]
    lib = components["demo.libs/libfoo-1a2b3c4d.so"]
    assert lib["hashes"] == [{"alg": "SHA-256", "content": hashlib.sha256(LIB).hexdigest()}]
    (ancestor,) = lib["pedigree"]["ancestors"]
    assert (ancestor["name"], ancestor["version"], ancestor["purl"]) == (
        "foo-native",
        "1.2.3",
        "pkg:pypi/foo-native@1.2.3",
    )
    assert ancestor["externalReferences"][0]["hashes"] == [{"alg": "SHA-256", "content": "ab" * 32}]
    (tmp_path / "sbom.json").write_bytes(sbom)
    assert _run(python, "validate_sbom.py", str(tmp_path / "sbom.json")).stdout.startswith("ok ")
    # Deterministic, with a serial number derived from the content.
    assert _sbom(python, tmp_path, REQUEST, "again")[0] == wheel
    other, _ = _sbom(python, tmp_path, {**REQUEST, "vendored": REQUEST["vendored"][:1]}, "other")
    with zipfile.ZipFile(io.BytesIO(other)) as zf:
        assert json.loads(zf.read(SBOM_PATH))["serialNumber"] != doc["serialNumber"]


def test_a_toolchain_archive_linked_in_is_listed_with_its_debian_package(
    python: str, tmp_path: Path
) -> None:
    linked = {
        "name": "libgcc.a",
        "package": "libgcc-14-dev_14.2.0-19_arm64.deb",
        "sha256": "cd" * 32,
        "license": "GPL-3.0-or-later WITH GCC-exception-3.1",
    }
    wheel, result = _sbom(python, tmp_path, {**REQUEST, "linked_runtime": [linked]})
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(io.BytesIO(wheel)) as zf:
        doc = json.loads(zf.read(SBOM_PATH))
    component = {c["name"]: c for c in doc["components"]}["libgcc.a"]
    assert component["version"] == "14.2.0-19"
    assert component["licenses"] == [{"expression": "GPL-3.0-or-later WITH GCC-exception-3.1"}]
    (ancestor,) = component["pedigree"]["ancestors"]
    assert ancestor["purl"] == "pkg:deb/debian/libgcc-14-dev@14.2.0-19?arch=arm64"
    assert ancestor["externalReferences"][0]["url"] == linked["package"]
    assert ancestor["externalReferences"][0]["hashes"] == [{"alg": "SHA-256", "content": "cd" * 32}]
    # The package depends on it, like on what it bundles.
    (package_deps,) = [
        d for d in doc["dependencies"] if d["ref"] == doc["metadata"]["component"]["bom-ref"]
    ]
    assert "linked:libgcc.a" in package_deps["dependsOn"]


def test_the_debian_packages_a_build_ran_with_are_listed_apart_from_what_it_ships(
    python: str, tmp_path: Path
) -> None:
    env = {
        "interpreter": "3rdparty/python:cpython-3.13-aarch64",
        "cpython": "3.13.5",
        "root_packages": [
            {"filename": "python3.13-minimal_3.13.5-2+deb13u5_amd64.deb", "sha256": "e1" * 32},
            {"filename": "libc6_2.41-12+deb13u5_amd64.deb", "sha256": "e2" * 32},
        ],
        "target_packages": [
            {"filename": "libpython3.13-dev_3.13.5-2+deb13u5_arm64.deb", "sha256": "e3" * 32}
        ],
    }
    wheel, result = _sbom(python, tmp_path, {**REQUEST, "build_environment": env})
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(io.BytesIO(wheel)) as zf:
        doc = json.loads(zf.read(SBOM_PATH))
    components = {c["bom-ref"]: c for c in doc["components"]}
    root = components["build:root-file-system"]
    assert (root["type"], root["scope"], root["version"]) == (
        "operating-system",
        "excluded",
        "CPython 3.13.5",
    )
    assert {"name": "meson-wheel:build-interpreter", "value": env["interpreter"]} in root[
        "properties"
    ]
    assert sorted(
        (c["purl"], c["externalReferences"][0]["hashes"][0]["content"]) for c in root["components"]
    ) == [
        ("pkg:deb/debian/libc6@2.41-12%2Bdeb13u5?arch=amd64", "e2" * 32),
        ("pkg:deb/debian/python3.13-minimal@3.13.5-2%2Bdeb13u5?arch=amd64", "e1" * 32),
    ]
    headers = components["build:target:libpython3.13-dev_3.13.5-2+deb13u5_arm64.deb"]
    assert headers["scope"] == "excluded" and headers["purl"].endswith("?arch=arm64")
    # Built with, not shipped: the package depends on none of them.
    (package_deps,) = [
        d for d in doc["dependencies"] if d["ref"] == doc["metadata"]["component"]["bom-ref"]
    ]
    assert not any(ref.startswith("build:") for ref in package_deps.get("dependsOn", ()))
    # A host CPython's build lists none (`None`, as the rule writes it).
    plain, _ = _sbom(python, tmp_path, {**REQUEST, "build_environment": None}, "host")
    with zipfile.ZipFile(io.BytesIO(plain)) as zf:
        assert not any(
            c["bom-ref"].startswith("build:") for c in json.loads(zf.read(SBOM_PATH))["components"]
        )


def test_a_bundled_library_nobody_declares_stops_the_sbom(python: str, tmp_path: Path) -> None:
    wheel, result = _sbom(python, tmp_path, {**REQUEST, "bundled_origins": []})
    assert result.returncode != 0 and not wheel
    assert (
        "demo.libs/libfoo-1a2b3c4d.so is bundled, and 0 native libraries declare it"
        in result.stderr
    )


def test_validator_rejects_a_broken_sbom(python: str, tmp_path: Path) -> None:
    wheel, _ = _sbom(python, tmp_path, REQUEST)
    with zipfile.ZipFile(io.BytesIO(wheel)) as zf:
        doc = json.loads(zf.read(SBOM_PATH))
    doc["components"][0]["type"] = "not-a-type"
    (tmp_path / "broken.json").write_text(json.dumps(doc))
    (tmp_path / "empty.json").write_text("{}")
    result = _run(
        python,
        "validate_sbom.py",
        str(tmp_path / "broken.json"),
        str(tmp_path / "empty.json"),
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout.startswith(f"invalid {tmp_path / 'broken.json'}: ")
    assert "not a CycloneDX JSON document" in result.stdout


STATEMENT_REQUEST = {
    "subject": {"name": "demo-1.0-py3-none-any.whl", "sha256": "cd" * 32},
    "build_type": "urn:build-defs:meson_wheel:v1",
    "external_parameters": {"target": "demo:wheel", "setupArgs": ["-Dx=1"]},
    "internal_parameters": {"isolation": "isolated"},
    "resolved_dependencies": [
        {
            "name": "demo-1.0.tar.gz",
            "digest": {"sha256": "ef" * 32},
            "annotations": {"kind": "pinned-file", "pinnedBy": "src:demo"},
        },
    ],
    "builder": {"id": "https://example.invalid/builder", "version": {"pantsbuild.pants": "2.17.1"}},
}


def _statement(python: str, tmp_path: Path, request: dict) -> subprocess.CompletedProcess:
    (tmp_path / "request.json").write_text(json.dumps(request))
    return _run(
        python,
        "intoto_statement.py",
        str(tmp_path / "request.json"),
        str(tmp_path / "out.jsonl"),
        check=False,
    )


def test_statement_is_in_toto_v1_with_slsa_provenance(python: str, tmp_path: Path) -> None:
    assert _statement(python, tmp_path, STATEMENT_REQUEST).returncode == 0
    line = (tmp_path / "out.jsonl").read_text()
    assert line.count("\n") == 1
    doc = json.loads(line)
    assert doc["_type"] == "https://in-toto.io/Statement/v1"
    assert doc["predicateType"] == "https://slsa.dev/provenance/v1"
    assert doc["subject"] == [
        {"name": "demo-1.0-py3-none-any.whl", "digest": {"sha256": "cd" * 32}}
    ]
    definition = doc["predicate"]["buildDefinition"]
    assert definition["externalParameters"]["setupArgs"] == ["-Dx=1"]
    assert definition["resolvedDependencies"][0]["annotations"]["pinnedBy"] == "src:demo"
    assert doc["predicate"]["runDetails"]["builder"]["id"] == "https://example.invalid/builder"
    assert _statement(python, tmp_path, STATEMENT_REQUEST).returncode == 0
    assert (tmp_path / "out.jsonl").read_text() == line
    # A dependency with neither name, URI nor digest is refused by the bindings' validation.
    bad = _statement(
        python,
        tmp_path,
        {**STATEMENT_REQUEST, "resolved_dependencies": [{"annotations": {"kind": "x"}}]},
    )
    assert bad.returncode != 0 and "At least one of name, URI, or digest" in bad.stderr
