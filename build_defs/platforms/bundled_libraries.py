"""Where each repair tool puts the libraries it bundles into a wheel, and how it renames them.

Standard library only: the plugin imports it, and the SBOM tool runs it in its sandbox
(shipped beside `wheel_sbom.py`, like `evidence/wheel_record.py`), so both read a wheel's
bundled libraries the same way.
"""

from __future__ import annotations

import fnmatch


def in_libs_dir(path: str) -> bool:
    """A library auditwheel (or delvewheel) bundled: in the top-level `<dist>.libs/`."""
    top, sep, rest = path.partition("/")
    return bool(sep and rest and not rest.endswith("/") and top.endswith(".libs"))


def in_dylibs_dir(path: str) -> bool:
    """A library delocate bundled: in a package's `.dylibs/`."""
    head, sep, name = path.rpartition("/.dylibs/")
    return bool(sep and head and name and "/" not in name)


def is_bundled_library(path: str) -> bool:
    """A library some repair tool bundled into the wheel, whichever tool ran."""
    return in_libs_dir(path) or in_dylibs_dir(path)


def bundled_library_matches(name: str, patterns) -> bool:
    """Whether a file a repair bundled (e.g. `libfoo-1a2b3c4d.so`) is one of `patterns`
    (e.g. `libfoo*.so`): auditwheel renames libfoo.so to libfoo-<hash>.so, so the name
    before the hash is tried too."""
    if name.endswith(".dylib"):  # delocate keeps the library's own name
        return any(fnmatch.fnmatch(name, p) for p in patterns)
    stem, dot, rest = name.partition(".so")
    unhashed = (stem.rsplit("-", 1)[0] if "-" in stem else stem) + dot + rest
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(unhashed, p) for p in patterns)
