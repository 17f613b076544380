"""The emulated target interpreter of a wheel_test for a wheel of another architecture:
the rule run with its requests mocked (RuleRunner style), and its root-file-system unpacker
run for real on `.deb` files made here."""

from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from pants.engine.addresses import Address
from pants.engine.fs import EMPTY_DIGEST, AddPrefix, CreateDigest, Digest, MergeDigests, Snapshot
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks
from pants.util.frozendict import FrozenDict

from build_defs.inputs.debian_package import DebianFilesRequest
from build_defs.inputs.store_artifact import StoreArtifact, StoreArtifactRequest
from build_defs.toolchains.host_programs import FingerprintRequest, HostPrograms
from build_defs.toolchains.interpreter import CrossTarget
from build_defs.wheels.emulation import (
    EmulatedPythonRequest,
    EmulationError,
    emulated_python,
    rootfs_unpacker,
)
from tests.unit.inputs.test_debian_packages import deb

_PACKAGES = (
    FrozenDict({"filename": "libc6_2.41_arm64.deb", "sha256": "aa" * 32, "size": 1}),
    FrozenDict({"filename": "python3.13-minimal_3.13.5_arm64.deb", "sha256": "bb" * 32, "size": 2}),
)
_WHEEL = "numpy-2.5.5-cp313-cp313-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl"


_QEMU = (FrozenDict({"filename": "qemu-user_11.1.2_amd64.deb", "sha256": "dd" * 32, "size": 3}),)


def _cross(test_packages=_PACKAGES, emulator_packages=()) -> CrossTarget:
    return CrossTarget(
        EMPTY_DIGEST,
        "target-python",
        "aarch64-linux-gnu",
        "manylinux_aarch64",
        "_sysconfigdata__linux_aarch64-linux-gnu",
        test_packages=test_packages,
        emulator_packages=emulator_packages,
    )


def _run(
    cross: CrossTarget,
    cpu: str = "neoverse-n1",
    emulator: str | None = None,
    in_root: bool = False,
    unpacked: tuple[str, ...] = ("emulator/bin/qemu",),
):
    fingerprinted: dict = {}
    wanted: dict = {}

    def unpack(request: DebianFilesRequest) -> Digest:
        wanted.update(request.wanted, packages=request.packages)
        return EMPTY_DIGEST

    def fingerprint(request: FingerprintRequest) -> HostPrograms:
        fingerprinted.update(request.programs, remedy=request.remedy)
        return HostPrograms(
            Address("t"),
            EMPTY_DIGEST,
            FrozenDict({"qemu": f"{request.programs['qemu']} sha256:cc qemu-aarch64 version 7.2"}),
        )

    result = run_rule_with_mocks(
        emulated_python,
        rule_args=[
            EmulatedPythonRequest(
                Address("numpy_src", target_name="t"),
                cross,
                "3.13",
                cpu,
                emulator,
                _WHEEL,
                in_root,
            )
        ],
        mock_gets=[
            MockGet(output_type=HostPrograms, input_types=(FingerprintRequest,), mock=fingerprint),
            MockGet(
                output_type=StoreArtifact,
                input_types=(StoreArtifactRequest,),
                mock=lambda r: StoreArtifact(EMPTY_DIGEST),
            ),
            MockGet(output_type=Digest, input_types=(MergeDigests,), mock=lambda r: EMPTY_DIGEST),
            MockGet(output_type=Digest, input_types=(AddPrefix,), mock=lambda r: EMPTY_DIGEST),
            MockGet(output_type=Digest, input_types=(CreateDigest,), mock=lambda r: EMPTY_DIGEST),
            MockGet(output_type=Digest, input_types=(DebianFilesRequest,), mock=unpack),
            MockGet(
                output_type=Snapshot,
                input_types=(Digest,),
                mock=lambda d: SimpleNamespace(files=unpacked),
            ),
        ],
    )
    if cross.emulator_packages:
        return result, wanted
    return result, fingerprinted


def test_the_emulated_cpu_is_pinned_and_the_emulator_fingerprinted() -> None:
    result, fingerprinted = _run(_cross())
    assert fingerprinted.pop("remedy") == (
        "Install Debian's qemu-user-static (`apt-get install qemu-user-static`), or set the "
        "`emulator` field of numpy_src:t to a qemu-user program for aarch64."
    )
    assert fingerprinted == {"qemu": "/usr/bin/qemu-aarch64-static"}
    assert "export QEMU_CPU=neoverse-n1 " in result.setup
    assert result.env["EMULATOR"].endswith("cpu=neoverse-n1")
    assert "sha256:cc" in result.env["EMULATOR"]
    # Every package of the root file system, and the wheel installed for the target's own tag.
    assert (
        '"$ROOT/rootfs-debs/libc6_2.41_arm64.deb" "$ROOT/rootfs-debs/python3.13-minimal_3.13.5_arm64.deb"'
        in result.setup
    )
    assert (
        "--platform manylinux_2_28_aarch64" in result.setup
        and "--python-version 3.13" in result.setup
    )
    assert f'"$ROOT/{_WHEEL}"' in result.setup


def test_another_cpu_and_emulator_are_what_the_target_says() -> None:
    result, fingerprinted = _run(_cross(), cpu="max", emulator="/opt/qemu/bin/qemu-aarch64")
    assert fingerprinted == {
        "qemu": "/opt/qemu/bin/qemu-aarch64",
        "remedy": (
            "Install Debian's qemu-user-static (`apt-get install qemu-user-static`), or set the "
            "`emulator` field of numpy_src:t to a qemu-user program for aarch64."
        ),
    }
    assert "export QEMU_CPU=max " in result.setup


def test_a_pinned_emulator_replaces_the_hosts_and_runs_in_a_root() -> None:
    result, wanted = _run(_cross(emulator_packages=_QEMU), in_root=True)
    # The static qemu of the pinned package, unpacked beside the test: no host program.
    assert wanted == {"usr/bin/qemu-aarch64": "emulator/bin/qemu", "packages": _QEMU}
    assert result.env["EMULATOR"] == (
        f"qemu-user_11.1.2_amd64.deb:{'dd' * 32} usr/bin/qemu-aarch64 cpu=neoverse-n1"
    )
    assert '/bin/chmod +x "$ROOT/emulator/bin/qemu"' in result.setup
    assert 'exec "$ROOT/emulator/bin/qemu"' in result.setup
    # In the root, the root's pip wheel installs the wheel for the target.
    assert (
        '"$(echo /usr/share/python-wheels/pip-*.whl)/pip" install --use-deprecated=legacy-certs'
        in (result.setup)
    )
    with pytest.raises(EmulationError, match="hold no usr/bin/qemu-aarch64"):
        _run(_cross(emulator_packages=_QEMU), unpacked=())
    with pytest.raises(EmulationError, match="remove one of them"):
        _run(_cross(emulator_packages=_QEMU), emulator="/usr/bin/qemu-aarch64-static")


def test_a_tree_built_for_another_cpu_runs_under_qemu_with_its_loader_root() -> None:
    musl = (FrozenDict({"filename": "musl_1.2.5_arm64.deb", "sha256": "ee" * 32, "size": 4}),)
    cross = CrossTarget(
        EMPTY_DIGEST,
        "target-python",
        "aarch64-linux-musl",
        "musllinux_aarch64",
        "_sysconfigdata__linux_aarch64-linux-musl",
        test_packages=musl,
        emulator_packages=_QEMU,
        interpreter_tree=EMPTY_DIGEST,
        interpreter_path="opt/python/bin/python3.13",
    )
    assert not cross.runs_natively_on("x86_64")
    result, _ = _run(cross, in_root=True)
    # qemu runs the built tree's interpreter; the root file system holds only its loader, so
    # nothing there is precompiled (`-`).
    assert 'exec "$ROOT/emulator/bin/qemu" "$ROOT/target-tree/opt/python/bin/python3.13"' in (
        result.setup
    )
    assert '"$ROOT/rootfs" - "$ROOT/rootfs-debs/musl_1.2.5_arm64.deb"' in result.setup
    assert "usr/bin/python3.13" not in result.setup
    # A Debian interpreter still runs from its root file system, precompiled there.
    debian, _ = _run(_cross(emulator_packages=_QEMU), in_root=True)
    assert 'exec "$ROOT/emulator/bin/qemu" "$ROOT/rootfs/usr/bin/python3.13"' in debian.setup
    assert '"$ROOT/rootfs" 3.13 ' in debian.setup


def test_no_root_file_system_is_an_error_naming_the_field() -> None:
    with pytest.raises(EmulationError, match="test_packages"):
        _run(_cross(test_packages=()))


def test_the_root_file_system_is_unpacked_with_links_and_merged_usr(tmp_path) -> None:
    package = deb({"usr/lib/python3.13/os.py": b"x = 1\n", "usr/bin/python3.13": b"\x7fELF"})
    (tmp_path / "p.deb").write_bytes(package)
    for name, data in rootfs_unpacker().items():
        (tmp_path / name).write_bytes(data)
    subprocess.run(
        [
            sys.executable,
            str(tmp_path / "unpack_rootfs.py"),
            str(tmp_path / "root"),
            "3.13",
            str(tmp_path / "p.deb"),
        ],
        check=True,
    )
    root = tmp_path / "root"
    assert (root / "usr/bin/python3.13").read_bytes() == b"\x7fELF"
    assert os.readlink(root / "lib") == "usr/lib" and os.readlink(root / "bin") == "usr/bin"
    # The standard library is precompiled for the emulated interpreter.
    assert list((root / "usr/lib/python3.13/__pycache__").glob("os.*.pyc"))


def test_the_root_gets_the_certificate_bundle_ca_certificates_would_make(tmp_path) -> None:
    # Debian's pip opens /etc/ssl/certs/ca-certificates.crt as it starts (trixie's pip 25
    # fails without it); ca-certificates' maintainer script makes it, and no unpack runs that.
    package = deb(
        {
            "usr/share/ca-certificates/mozilla/B.crt": b"-----B-----\n",
            "usr/share/ca-certificates/mozilla/A.crt": b"-----A-----",
        }
    )
    (tmp_path / "p.deb").write_bytes(package)
    for name, data in rootfs_unpacker().items():
        (tmp_path / name).write_bytes(data)
    unpack = [sys.executable, str(tmp_path / "unpack_rootfs.py")]
    subprocess.run([*unpack, str(tmp_path / "root"), "-", str(tmp_path / "p.deb")], check=True)
    bundle = tmp_path / "root/etc/ssl/certs/ca-certificates.crt"
    assert bundle.read_bytes() == b"-----A-----\n-----B-----\n"
    # A root without ca-certificates gets no bundle.
    (tmp_path / "q.deb").write_bytes(deb({"usr/bin/true": b"\x7fELF"}))
    subprocess.run([*unpack, str(tmp_path / "bare"), "-", str(tmp_path / "q.deb")], check=True)
    assert not (tmp_path / "bare/etc").exists()
