"""`pants graph-export`: a target's build graph as Graphviz DOT and JSON (and SVG with `dot`)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pants.core.util_rules.distdir import DistDir
from pants.core.util_rules.system_binaries import BinaryPathRequest, BinaryPaths
from pants.engine.addresses import Addresses
from pants.engine.console import Console
from pants.engine.fs import CreateDigest, Digest, FileContent, Workspace
from pants.engine.goal import Goal, GoalSubsystem
from pants.engine.internals.selectors import Get, MultiGet
from pants.engine.process import Process, ProcessResult
from pants.engine.rules import collect_rules, goal_rule
from pants.engine.target import (
    Dependencies,
    DependenciesRequest,
    Targets,
    TransitiveTargets,
    TransitiveTargetsRequest,
)
from pants.option.option_types import BoolOption
from pants.util.logging import LogLevel


class GraphExportSubsystem(GoalSubsystem):
    name = "graph-export"
    help = (
        "Write the transitive build graph of the given targets to dist/graph/ as Graphviz DOT "
        "and JSON, and as SVG when Graphviz's `dot` is installed."
    )

    svg = BoolOption(default=True, help="Also render SVG with `dot -Tsvg` when `dot` is on PATH.")


class GraphExport(Goal):
    subsystem_cls = GraphExportSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


@dataclass(frozen=True)
class BuildGraph:
    nodes: tuple[tuple[str, str], ...]  # (address, target type)
    edges: tuple[tuple[str, str], ...]  # (dependent, dependency)

    def to_json(self) -> str:
        return json.dumps(
            {
                "nodes": [{"address": a, "type": t} for a, t in self.nodes],
                "edges": [{"from": a, "to": b} for a, b in self.edges],
            },
            indent=2,
        )

    def to_dot(self, name: str) -> str:
        lines = [
            f"digraph {json.dumps(name)} {{",
            "  rankdir=LR;",
            "  node [shape=box, fontsize=10];",
        ]
        lines += [
            f"  {json.dumps(a)} [label={json.dumps(a + NEWLINE + '(' + t + ')')}];"
            for a, t in self.nodes
        ]
        lines += [f"  {json.dumps(a)} -> {json.dumps(b)};" for a, b in self.edges]
        lines.append("}")
        return "\n".join(lines) + "\n"


NEWLINE = "\n"


def _file_stem(spec: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.=" else "_" for c in spec).strip("_")


@goal_rule
async def graph_export(
    console: Console,
    addresses: Addresses,
    subsystem: GraphExportSubsystem,
    workspace: Workspace,
    dist_dir: DistDir,
) -> GraphExport:
    dot_paths = await Get(
        BinaryPaths,
        BinaryPathRequest(binary_name="dot", search_path=("/usr/bin", "/usr/local/bin", "/bin")),
    )
    files = []
    for root in addresses:
        transitive = await Get(TransitiveTargets, TransitiveTargetsRequest([root]))
        deps_per_target = await MultiGet(
            Get(Targets, DependenciesRequest(tgt.get(Dependencies))) for tgt in transitive.closure
        )
        graph = BuildGraph(
            nodes=tuple(sorted((t.address.spec, t.alias) for t in transitive.closure)),
            edges=tuple(
                sorted(
                    (tgt.address.spec, dep.address.spec)
                    for tgt, deps in zip(transitive.closure, deps_per_target)
                    for dep in deps
                )
            ),
        )
        stem = f"graph/{_file_stem(root.spec)}"
        files.append(FileContent(f"{stem}.dot", graph.to_dot(root.spec).encode()))
        files.append(FileContent(f"{stem}.json", graph.to_json().encode()))
        if subsystem.svg and dot_paths.first_path:
            dot_digest = await Get(Digest, CreateDigest([files[-2]]))
            rendered = await Get(
                ProcessResult,
                Process(
                    argv=(dot_paths.first_path.path, "-Tsvg", f"{stem}.dot", "-o", f"{stem}.svg"),
                    input_digest=dot_digest,
                    output_files=(f"{stem}.svg",),
                    description=f"Render the graph of {root.spec}",
                    level=LogLevel.DEBUG,
                ),
            )
            workspace.write_digest(rendered.output_digest, path_prefix=str(dist_dir.relpath))
        console.print_stdout(
            f"{root.spec}: {len(graph.nodes)} targets, {len(graph.edges)} edges -> "
            f"{dist_dir.relpath / stem}.{{dot,json{',svg' if subsystem.svg and dot_paths.first_path else ''}}}"
        )
    if subsystem.svg and not dot_paths.first_path:
        console.print_stderr(
            "graph-export: Graphviz `dot` is not installed; wrote DOT and JSON only."
        )
    digest = await Get(Digest, CreateDigest(files))
    workspace.write_digest(digest, path_prefix=str(dist_dir.relpath))
    return GraphExport(exit_code=0)


def rules():
    return collect_rules()
