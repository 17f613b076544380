"""Checks of an installed NumPy wheel, as upstream's release workflow makes them.

Run by `pants test numpy_src:wheel-test@python=3.X` with the test venv's Python, and under
qemu for a wheel of another architecture (`WHEEL_TEST_PYTHON` then starts another emulated
interpreter; `sys.executable` cannot be started from inside the emulator).
"""

import glob
import importlib.metadata
import os
import re
import subprocess
import sys
import zipfile

# NumPy's official wheels' file list, beside this script (see its header).
OFFICIAL_FILES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "official_wheel_files.txt")


def normalized_files(names):
    """A wheel's file names as the official list writes them: no directories or SBOMs, an
    extension suffix as {EXT}, the hash in a bundled library's name as HASH."""
    out = set()
    for name in names:
        if name.endswith("/") or ".dist-info/sboms/" in name:
            continue
        name = re.sub(r"^numpy\.libs/(.*)-[0-9a-f]{8}(\.so.*)$", r"numpy.libs/\1-HASH\2", name)
        out.add(re.sub(r"\.cpython-[^/]*\.so$", "{EXT}", name))
    return out


def elf_needed(data):
    """The DT_NEEDED names of a 64-bit little-endian ELF file's dynamic section."""
    import struct

    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    for _name, kind, _flags, _addr, offset, size, link, *_ in sections:
        if kind != 6:  # SHT_DYNAMIC
            continue
        strtab = sections[link][4]
        names = []
        for pos in range(offset, offset + size, 16):
            tag, value = struct.unpack_from("<qQ", data, pos)
            if tag == 1:  # DT_NEEDED
                end = data.index(b"\0", strtab + value)
                names.append(data[strtab + value : end].decode())
        return names
    return []


def fail(message: str) -> None:
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    import numpy

    here = os.path.realpath(numpy.__file__)
    site = os.path.realpath(os.environ.get("WHEEL_TEST_SITE") or sys.prefix)
    if not here.startswith(site):
        fail(f"numpy was imported from {here}, not from where the wheel was installed ({site})")
    python = os.environ.get("WHEEL_TEST_PYTHON") or sys.executable

    # 1. BLAS: the bundled scipy-openblas, ILP64 (upstream runs numpy.show_config()).
    numpy.show_config()
    config = numpy.show_config(mode="dicts")
    deps = config["Build Dependencies"]
    for name in ("blas", "lapack"):
        dep = deps[name]
        if dep.get("name") != "scipy-openblas" or dep.get("found") is not True:
            fail(f"{name} is {dep.get('name')!r} (found={dep.get('found')}), expected scipy-openblas")
    openblas_config = deps["blas"].get("openblas configuration", "")
    if "USE64BITINT" not in openblas_config.split():
        fail(f"OpenBLAS is not ILP64: {openblas_config!r}")
    from numpy.linalg import lapack_lite  # noqa: F401  (links against the bundled library)

    a = numpy.arange(9.0).reshape(3, 3) + numpy.eye(3)
    if not numpy.allclose(a @ numpy.linalg.inv(a), numpy.eye(3)):
        fail("linear algebra through OpenBLAS gave a wrong result")

    # 2. The license file: NumPy's own, then a section per bundled library.
    dist = importlib.metadata.distribution("numpy")
    licenses = [f for f in dist.files if str(f).endswith(".dist-info/licenses/LICENSE.txt")]
    if len(licenses) != 1:
        fail(f"expected one .dist-info/licenses/LICENSE.txt, found {licenses}")
    text = licenses[0].read_text()
    for needle in (
        "Copyright (c) 2005-",
        "NumPy Developers",
        "This binary distribution of NumPy also bundles the following software:",
        "Name: OpenBLAS",
        "Files: libscipy_openblas64_*.so",
    ):
        if needle not in text:
            fail(f"LICENSE.txt lacks {needle!r}")
    bundled = glob.glob(os.path.join(os.path.dirname(os.path.dirname(here)), "numpy.libs", "*"))
    if not any("libscipy_openblas64_" in os.path.basename(b) for b in bundled):
        fail(f"numpy.libs/ does not bundle OpenBLAS: {bundled}")

    # 3. Importing numpy raises no warning at all.
    out = subprocess.run(
        [python, "-W", "error", "-c", "import numpy"], capture_output=True, text=True
    )
    if out.returncode != 0:
        fail(f"`python -W error -c 'import numpy'` failed:\n{out.stderr}")

    # 4. Free-threaded builds must not re-enable the GIL on import (upstream's check).
    if getattr(sys, "_is_gil_enabled", None) is not None:
        out = subprocess.run([python, "-c", "import numpy"], capture_output=True, text=True)
        if "global interpreter lock (GIL) has been enabled" in out.stderr:
            fail("importing numpy re-enables the GIL")

    # 5. The wheel holds exactly the files of NumPy's official wheel of its kind.
    wheel_file = os.environ["WHEEL_FILE"]
    with open(OFFICIAL_FILES) as f:
        lines = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    official = {line for line in lines if " " not in line}
    musl_runtime = sorted(line.split(" ", 1)[1] for line in lines if line.startswith("musllinux-runtime "))
    with zipfile.ZipFile(wheel_file) as zf:
        ours = normalized_files(zf.namelist())
    if ours != official:
        fail(
            f"the wheel's files differ from the official wheel's ({OFFICIAL_FILES}): "
            f"extra {sorted(ours - official)[:20]}, missing {sorted(official - ours)[:20]}"
        )
    print(f"check_wheel: the wheel's {len(ours)} files are the official wheel's")
    if "musllinux" in os.path.basename(wheel_file):
        # 6. Its extensions need musl's C library (by the name musllinux wheels give it) and
        # the libraries it bundles, nothing else.
        machine = re.search(r"musllinux_\d+_\d+_(\w+)\.whl$", wheel_file).group(1)
        with zipfile.ZipFile(wheel_file) as zf:
            names = [n for n in zf.namelist() if re.search(r"\.so(\.[0-9.]+)?$", n)]
            allowed = {f"libc.musl-{machine}.so.1"} | {n.rsplit("/", 1)[1] for n in names if n.startswith("numpy.libs/")}
            needed = {lib for n in names for lib in elf_needed(zf.read(n))}
        if not needed or needed - allowed:
            fail(f"the wheel's extensions need {sorted(needed - allowed)} beyond {sorted(allowed)}")
        print(f"check_wheel: {len(names)} ELF files need only {sorted(needed)}")
        print(
            "check_wheel: upstream's musllinux wheel also bundles GCC's C++ runtime "
            f"({', '.join(musl_runtime)}); this one links LLVM's libc++ statically"
        )

    print(f"check_wheel: numpy {numpy.__version__} from {wheel_file}: all checks passed")


if __name__ == "__main__":
    main()
