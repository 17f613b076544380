"""The places a locked requirement set lives, written in one step.

A requirement set that Pants resolves (`"pants_resolve": true`) is declared in five places,
which must agree (`tests/unit/bootstrap/test_pins.py` checks it and names what is missing):

1. `3rdparty/python/<set>.in`: its top-level requirements;
2. `3rdparty/artifacts.json` "sets": how `pin.py` resolves it (CPythons, platforms);
3. `pants.toml`: `[python.resolves]` (its lockfile), `[python.resolves_to_constraints_file]`
   (the versions `pin.py` chose, which keep the lockfile on them) and
   `[python.resolves_to_interpreter_constraints]`;
4. `3rdparty/python/BUILD`: its `python_requirements` target;
5. its lockfile, `3rdparty/python/<set>.lock`, written by `pants generate-lockfiles`.

`declare()` writes the first four (running it again updates what it wrote); `pin.py
requirements` calls it, pins the set and writes the lockfile. Standard library only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

TOML_TABLES = (
    "python.resolves",
    "python.resolves_to_constraints_file",
    "python.resolves_to_interpreter_constraints",
)
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


def interpreter_constraints(pythons: list[str]) -> list[str]:
    """`["3.12"]` -> `["CPython==3.12.*"]`; `["3.12", "3.13"]` -> `["CPython>=3.12,<3.14"]`."""
    minors = sorted(int(p.split(".")[1]) for p in pythons)
    if minors != list(range(minors[0], minors[-1] + 1)):
        raise ValueError(f"the CPython versions of a set must be consecutive, got {pythons}")
    if len(minors) == 1:
        return [f"CPython==3.{minors[0]}.*"]
    return [f"CPython>=3.{minors[0]},<3.{minors[-1] + 1}"]


def set_toml_entry(text: str, table: str, key: str, value: str) -> str:
    """`text` (a TOML file) with `key = value` in `[table]`, replacing the key's line if
    there is one, else after the table's last entry; comments and order are kept."""
    lines = text.splitlines(keepends=True)
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == f"[{table}]")
    except StopIteration:
        raise ValueError(f"pants.toml has no [{table}] table") from None
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")),
        len(lines),
    )
    entry = f"{key} = {value}\n"
    for i in range(start + 1, end):
        if re.match(rf"{re.escape(key)}\s*=", lines[i]):
            lines[i] = entry
            return "".join(lines)
    last = max(
        (i for i in range(start + 1, end) if re.match(r"[A-Za-z0-9_\"-]+\s*=", lines[i])),
        default=start,
    )
    lines.insert(last + 1, entry)
    return "".join(lines)


def declare(
    root: Path,
    name: str,
    pythons: list[str],
    requirements: list[str] | None,
    platforms: list[str] | None = None,
) -> list[str]:
    """Write places 1-4 for set `name`; return the files changed. `requirements` None keeps
    the `.in` file as it is (it must exist)."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"a set name is lower case letters, digits and dashes, not {name!r}")
    python_dir = root / "3rdparty" / "python"
    changed: list[str] = []

    def write(path: Path, text: str) -> None:
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(str(path.relative_to(root)))

    requirements_in = python_dir / f"{name}.in"
    if requirements is not None:
        write(
            requirements_in,
            f"# Requirement set {name!r} (CPython {', '.join(pythons)}): its top-level pins.\n"
            f"# Written by `pin.py requirements {name}`; run it again to change them.\n"
            + "".join(f"{r}\n" for r in requirements),
        )
    elif not requirements_in.is_file():
        raise ValueError(f"{requirements_in.relative_to(root)} does not exist: give requirements")

    manifest_path = root / "3rdparty" / "artifacts.json"
    manifest = json.loads(manifest_path.read_text())
    spec = dict(manifest["sets"].get(name, {}))
    spec.update(
        requirements=f"3rdparty/python/{name}.in",
        output=f"3rdparty/python/{name}.txt",
        pythons=list(pythons),
        pants_resolve=True,
    )
    if platforms:
        spec["platforms"] = list(platforms)
    manifest["sets"][name] = spec
    write(manifest_path, json.dumps(manifest, indent=2, sort_keys=False) + "\n")

    toml_path = root / "pants.toml"
    text = toml_path.read_text()
    values = {
        "python.resolves": json.dumps(f"3rdparty/python/{name}.lock"),
        "python.resolves_to_constraints_file": json.dumps(
            f"3rdparty/python/{name}.constraints.txt"
        ),
        "python.resolves_to_interpreter_constraints": json.dumps(interpreter_constraints(pythons)),
    }
    for table in TOML_TABLES:
        text = set_toml_entry(text, table, name, values[table])
    write(toml_path, text)

    build_path = python_dir / "BUILD"
    build = build_path.read_text()
    if not re.search(rf'python_requirements\(\s*name="{re.escape(name)}"', build):
        build += (
            f'\npython_requirements(\n    name="{name}",\n    source="{name}.in",\n'
            f'    resolve="{name}",\n)\n'
        )
    write(build_path, build)
    return changed
