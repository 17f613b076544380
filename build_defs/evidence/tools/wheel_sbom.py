"""Write a CycloneDX 1.6 SBOM into a wheel under `.dist-info/sboms/` (PEP 770).

    python wheel_sbom.py REQUEST.json IN_WHEEL OUT_DIR

REQUEST.json (written by `build_defs/evidence/sbom.py`) holds the vendored components
read from the source, the native libraries the wheel may bundle (with their pinned
wheels), the toolchain archives linked into its extensions (with their pinned Debian
packages), the pinned Debian packages its build ran with (scope `excluded`: build inputs
that the wheel does not ship), the SBOM's file name and the source's SOURCE_DATE_EPOCH. The package itself
(name, version, license expression) comes from the wheel's METADATA, and every bundled
library a repair tool bundled (`*.libs/`, `.dylibs/`), hashed as it is in the wheel. The SBOM is
validated against the CycloneDX 1.6 schema before it is written, carries no clock time,
and its serial number is derived from its content. RECORD is rewritten to list it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import uuid
import zipfile
from datetime import datetime, timezone
from email.parser import HeaderParser

from cyclonedx.model import (
    ExternalReference,
    ExternalReferenceType,
    HashAlgorithm,
    HashType,
    Property,
    XsUri,
)
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentScope, ComponentType, Pedigree
from cyclonedx.model.license import LicenseExpression
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL  # pants: no-infer-dep (the evidence venv has it)

# wheel_record.py and bundled_libraries.py (standard library only, shared with the plugin)
# are shipped beside this script in the sandbox; in the repository they are in
# build_defs/evidence/ and build_defs/platforms/.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [
    _HERE,
    os.path.dirname(_HERE),
    os.path.join(os.path.dirname(os.path.dirname(_HERE)), "platforms"),
]
import bundled_libraries  # noqa: E402  # pants: no-infer-dep
from wheel_record import add_files, dist_info_dir  # noqa: E402  # pants: no-infer-dep

PROPERTY_PREFIX = "meson-wheel"


def _sha256(content: str) -> HashType:
    return HashType(alg=HashAlgorithm.SHA_256, content=content)


def package_component(metadata: str) -> Component:
    headers = HeaderParser().parsestr(metadata)
    name, version = headers["Name"], headers["Version"]
    expression = headers.get("License-Expression")
    purl = PackageURL("pypi", name=name.lower().replace("_", "-"), version=version)
    return Component(
        type=ComponentType.LIBRARY,
        name=name,
        version=version,
        purl=purl,
        bom_ref=purl.to_string(),
        licenses=[LicenseExpression(expression)] if expression else [],
    )


def vendored_component(entry: dict) -> Component:
    properties = [Property(name=f"{PROPERTY_PREFIX}:source-path", value=entry["path"])]
    if entry.get("note"):
        properties.append(Property(name=f"{PROPERTY_PREFIX}:note", value=entry["note"]))
    return Component(
        type=ComponentType.LIBRARY,
        name=entry["name"],
        version=entry.get("version"),
        bom_ref=f"vendored:{entry['path']}",
        licenses=[LicenseExpression(entry["license"])],
        properties=properties,
    )


def _distribution(
    name: str, version: str, purl: PackageURL, bom_ref: str, filename: str, sha256: str
) -> Component:
    """The pinned distribution a file in the wheel came from: an SBOM pedigree ancestor."""
    return Component(
        type=ComponentType.LIBRARY,
        name=name,
        version=version,
        purl=purl,
        bom_ref=bom_ref,
        external_references=[
            ExternalReference(
                type=ExternalReferenceType.DISTRIBUTION,
                url=XsUri(filename),
                hashes=[_sha256(sha256)],
            )
        ],
    )


def bundled_component(path: str, content: bytes, origins: list[dict]) -> Component:
    base = path.rsplit("/", 1)[-1]
    matching = [
        o for o in origins if bundled_libraries.bundled_library_matches(base, o["patterns"])
    ]
    if len(matching) != 1:
        raise SystemExit(
            f"wheel_sbom: {path} is bundled, and {len(matching)} native libraries declare it "
            "in `bundled_libraries` (exactly one must)."
        )
    origin = matching[0]
    ancestor = _distribution(
        origin["project"],
        origin["version"],
        PackageURL("pypi", name=origin["project"], version=origin["version"]),
        f"origin:{path}",
        origin["filename"],
        origin["sha256"],
    )
    return Component(
        type=ComponentType.FILE,
        name=path,
        bom_ref=f"bundled:{path}",
        hashes=[_sha256(hashlib.sha256(content).hexdigest())],
        licenses=[LicenseExpression(origin["license"])],
        pedigree=Pedigree(ancestors=[ancestor]),
        properties=[Property(name=f"{PROPERTY_PREFIX}:native-library", value=origin["address"])],
    )


def _debian_package(filename: str, sha256: str, bom_ref: str) -> Component:
    """A pinned Debian package (`name_version_arch.deb`), named by its purl."""
    package, version, arch = filename[: -len(".deb")].split("_")
    purl = PackageURL(
        "deb", namespace="debian", name=package, version=version, qualifiers={"arch": arch}
    )
    return _distribution(package, version, purl, bom_ref, filename, sha256)


def linked_component(entry: dict) -> Component:
    """A toolchain archive statically linked into the extensions, with the Debian package
    (`name_version_arch.deb`) it was taken from as its ancestor."""
    ancestor = _debian_package(entry["package"], entry["sha256"], f"origin:linked:{entry['name']}")
    return Component(
        type=ComponentType.LIBRARY,
        name=entry["name"],
        version=ancestor.version,
        bom_ref=f"linked:{entry['name']}",
        licenses=[LicenseExpression(entry["license"])],
        pedigree=Pedigree(ancestors=[ancestor]),
        properties=[
            Property(name=f"{PROPERTY_PREFIX}:linked-statically", value="toolchain runtime")
        ],
    )


def build_environment_components(env: dict | None) -> list[Component]:
    """What the wheel was built with, not what it ships (scope `excluded`): the root file
    system of pinned Debian packages its build ran in, with the CPython that ran it, and a
    cross build's target headers. Nothing for a host CPython (a host fact, in the provenance)."""
    if not env:
        return []
    components = []
    if env["root_packages"]:
        root = Component(
            type=ComponentType.OPERATING_SYSTEM,
            name="root file system",
            version=f"CPython {env['cpython']}",
            bom_ref="build:root-file-system",
            scope=ComponentScope.EXCLUDED,
            properties=[
                Property(name=f"{PROPERTY_PREFIX}:build-interpreter", value=env["interpreter"])
            ],
        )
        root.components.update(
            _debian_package(p["filename"], p["sha256"], f"build:root:{p['filename']}")
            for p in env["root_packages"]
        )
        components.append(root)
    for p in env["target_packages"]:
        headers = _debian_package(p["filename"], p["sha256"], f"build:target:{p['filename']}")
        headers.scope = ComponentScope.EXCLUDED
        headers.properties.add(
            Property(name=f"{PROPERTY_PREFIX}:target-interpreter", value=env["interpreter"])
        )
        components.append(headers)
    return components


def make_sbom(wheel: bytes, request: dict) -> tuple[str, bytes]:
    """The SBOM's path inside the wheel and its JSON."""
    with zipfile.ZipFile(io.BytesIO(wheel)) as zf:
        names = zf.namelist()
        dist_info = dist_info_dir(names)
        package = package_component(zf.read(f"{dist_info}/METADATA").decode("utf-8"))
        bundled = [
            bundled_component(n, zf.read(n), request["bundled_origins"])
            for n in sorted(names)
            if bundled_libraries.is_bundled_library(n)
        ]
    components = [
        *(vendored_component(e) for e in request["vendored"]),
        *bundled,
        *(linked_component(e) for e in request.get("linked_runtime", ())),
    ]
    built_with = build_environment_components(request.get("build_environment"))
    when = datetime.fromtimestamp(request["source_date_epoch"], timezone.utc)

    def render(serial: uuid.UUID) -> str:
        bom = Bom(serial_number=serial, metadata=BomMetaData(component=package, timestamp=when))
        bom.components.update([*components, *built_with])
        # What the package depends on is what it ships; the build environment is listed apart.
        bom.register_dependency(package, components)
        return JsonV1Dot6(bom).output_as_string(indent=2)

    # The serial number is a function of everything else in the document.
    draft = render(uuid.UUID(int=0))
    text = render(
        uuid.uuid5(uuid.NAMESPACE_URL, "sha256:" + hashlib.sha256(draft.encode()).hexdigest())
    )
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if errors is not None:
        raise SystemExit(f"wheel_sbom: the SBOM does not validate against CycloneDX 1.6: {errors}")
    return f"{dist_info}/sboms/{request['sbom_name']}", (text + "\n").encode()


def main(request_path: str, wheel_path: str, out_dir: str) -> None:
    with open(request_path) as f:
        request = json.load(f)
    with open(wheel_path, "rb") as f:
        wheel = f.read()
    path, sbom = make_sbom(wheel, request)
    out = add_files(wheel, {path: sbom}, request["source_date_epoch"])
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, os.path.basename(wheel_path)), "wb") as f:
        f.write(out)
    print(f"wheel_sbom: {path}: {len(json.loads(sbom).get('components', []))} components")


if __name__ == "__main__":
    main(*sys.argv[1:])
