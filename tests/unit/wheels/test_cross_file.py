"""The meson cross file of a cross-compiled wheel, from its toolchain's target and the
wheel target's `cross_properties`."""

from __future__ import annotations

import configparser

import pytest

from build_defs.wheels.cross_file import CrossBuildError, meson_cross_file, toolchain_cpu


def _parsed(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read_string(text)
    return parser


def test_an_aarch64_cross_file_names_the_machine_programs_and_properties() -> None:
    text = meson_cross_file(
        toolchain_cpu("aarch64-linux-gnu.2.28"),
        {"c": "toolchain/bin/cc", "cpp": "toolchain/bin/cxx", "ar": "toolchain/bin/ar"},
        {"longdouble_format": "IEEE_QUAD_LE"},
    )
    cross = _parsed(text)
    assert dict(cross["host_machine"]) == {
        "system": "'linux'",
        "cpu_family": "'aarch64'",
        "cpu": "'aarch64'",
        "endian": "'little'",
    }
    # Relative to the cross file itself, which meson resolves wherever the sandbox is.
    assert cross["binaries"]["c"] == "'@DIRNAME@/toolchain/bin/cc'"
    assert cross["binaries"]["cpp"] == "'@DIRNAME@/toolchain/bin/cxx'"
    assert cross["properties"]["longdouble_format"] == "'IEEE_QUAD_LE'"


def test_a_program_of_the_root_file_system_keeps_its_absolute_path() -> None:
    cross = _parsed(meson_cross_file("aarch64", {"pkg-config": "/usr/bin/pkg-config"}, {}))
    assert cross["binaries"]["pkg-config"] == "'/usr/bin/pkg-config'"


def test_big_endian_and_unknown_cpus() -> None:
    assert _parsed(meson_cross_file("s390x", {}, {}))["host_machine"]["endian"] == "'big'"
    with pytest.raises(CrossBuildError, match="mips"):
        meson_cross_file("mips", {}, {})


def test_values_are_quoted_for_meson() -> None:
    text = meson_cross_file("aarch64", {}, {"note": "it's"})
    assert "note = 'it\\'s'" in text


def test_a_host_toolchain_has_no_target_cpu() -> None:
    assert toolchain_cpu("") == ""
    assert toolchain_cpu("x86_64-linux-gnu.2.28") == "x86_64"
