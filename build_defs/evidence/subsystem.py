"""Options of the evidence rules: the SBOM and provenance tools and the engine's pins."""

from __future__ import annotations

from pants.option.option_types import DictOption, StrListOption, StrOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import softwrap


class EvidenceSubsystem(Subsystem):
    options_scope = "evidence"
    help = softwrap(
        """
        What every artifact carries and ships with: a CycloneDX SBOM inside each wheel and an
        in-toto Statement with SLSA provenance next to each artifact, and the offline
        `pants verify` that checks them.
        """
    )

    requirements = StrListOption(
        default=[
            "//3rdparty/python:evidence#cyclonedx-python-lib",
            "//3rdparty/python:evidence#in-toto-attestation",
        ],
        help="Locked requirement targets of the venv the SBOM and provenance tools run in.",
    )
    interpreter = StrOption(
        default="//3rdparty/python:cpython-3.9",
        help=softwrap(
            """
            The interpreter target (`host_cpython`) the SBOM and provenance tools run on. Like
            `requirements` and the tools' scripts, it is an input of every wheel (the SBOM is in
            its bytes), so `pants dependencies --transitive` of a wheel lists it and an upgrade
            re-runs the tools.
            """
        ),
    )
    tool_sources = StrListOption(
        default=[
            "//build_defs/evidence/tools:tools",
            "//build_defs/evidence/wheel_record.py:../plugin",
            "//build_defs/platforms/bundled_libraries.py:../plugin",
        ],
        help="The targets of the tools' scripts and of the modules they share with the plugin.",
    )
    engine_requirements = DictOption[str](
        default={
            "3rdparty/bootstrap/pants.txt": "pantsbuild.pants",
            "3rdparty/bootstrap/pex-tool.txt": "pex",
        },
        help=softwrap(
            """
            Hashed requirement files `./pants` installs the engine from, each mapped to the
            projects (comma-separated) whose pins every provenance lists: the engine sits
            outside the target graph but decides what the graph does.
            """
        ),
    )
    builder_id = StrOption(
        default="https://github.com/pantsbuild/pants/releases/tag/release_2.17.1",
        help="SLSA `runDetails.builder.id`: the build platform that produced the artifacts.",
    )
