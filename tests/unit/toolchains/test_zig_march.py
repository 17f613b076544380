"""The zig wrappers' translation of GCC's Arm `-march` spelling, which zig rejects
(`unknown CPU: 'armv8.2'`), into the `-mcpu=generic+<features>` zig takes: without it a
project that probes its Arm dispatch targets with GCC's flags builds only its baseline."""

from __future__ import annotations

import subprocess

import pytest

from build_defs.toolchains.zig import GCC_TO_ZIG_ARM_FEATURES, march_rewrite


def rewritten(*args: str, shell: str = "/bin/sh") -> list[str]:
    script = march_rewrite() + 'printf "%s\\n" "$@"\n'
    result = subprocess.run(
        [shell, "-c", script, "wrapper", *args], capture_output=True, text=True, check=True
    )
    return result.stdout.splitlines()


@pytest.mark.parametrize("shell", ["/bin/sh", "/bin/bash"])
@pytest.mark.parametrize(
    "gcc, zig",
    [
        ("-march=armv8-a", "-mcpu=generic+v8a"),
        ("-march=armv8.2-a+fp16", "-mcpu=generic+v8_2a+fullfp16"),
        ("-march=armv8.2-a+dotprod", "-mcpu=generic+v8_2a+dotprod"),
        ("-march=armv8.2-a+fp16fml", "-mcpu=generic+v8_2a+fp16fml"),
        ("-march=armv8.2-a+sve", "-mcpu=generic+v8_2a+sve"),
        ("-march=armv8.4-a+simd+fp16+dotprod", "-mcpu=generic+v8_4a+neon+fullfp16+dotprod"),
        ("-march=armv9-a+sve2+nofp16", "-mcpu=generic+v9a+sve2-fullfp16"),
    ],
)
def test_gcc_arm_march_becomes_zig_mcpu(shell: str, gcc: str, zig: str) -> None:
    assert rewritten(gcc, shell=shell) == [zig]


def test_other_arguments_pass_through_unchanged() -> None:
    args = [
        "-O2",
        "-march=x86-64-v3",
        "-march=native",
        "a b",
        "",
        "-c",
        "x.c",
        "-DX=-march=armv8-a",
    ]
    assert rewritten(*args) == args


def test_translation_only_touches_the_march_flag_among_others() -> None:
    assert rewritten("-c", "-march=armv8.2-a+fp16", "-o", "x.o") == [
        "-c",
        "-mcpu=generic+v8_2a+fullfp16",
        "-o",
        "x.o",
    ]


def test_renames_are_data() -> None:
    # GCC's fp16 is LLVM's fullfp16: the one NumPy's ASIMDHP probe needs.
    assert GCC_TO_ZIG_ARM_FEATURES["fp16"] == "fullfp16"
    script = march_rewrite({"fp16": "halfprecision"}) + 'printf "%s\\n" "$@"\n'
    out = subprocess.run(
        ["/bin/sh", "-c", script, "w", "-march=armv8.2-a+fp16"], capture_output=True, text=True
    )
    assert out.stdout.split() == ["-mcpu=generic+v8_2a+halfprecision"]
