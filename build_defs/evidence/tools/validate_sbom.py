"""Validate CycloneDX JSON SBOMs against their schema with the library's own validator.

    python validate_sbom.py SBOM.json ...

Prints one line per file, `ok <file>` or `invalid <file>: <first error>`; exits 1 if any
file is invalid.
"""

from __future__ import annotations

import json
import sys

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator


def validate(text: str) -> str | None:
    try:
        version = SchemaVersion.from_version(json.loads(text)["specVersion"])
    except (ValueError, KeyError, TypeError) as e:
        return f"not a CycloneDX JSON document ({e})"
    error = JsonStrictValidator(version).validate_str(text)
    return None if error is None else str(error).splitlines()[0]


def main(paths: list[str]) -> int:
    failed = 0
    for path in paths:
        with open(path) as f:
            error = validate(f.read())
        print(f"ok {path}" if error is None else f"invalid {path}: {error}")
        failed += error is not None
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
