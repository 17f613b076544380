"""README.md and docs/ are the project's documentation: every relative link in them resolves
to a file of this repository (and, with `#anchor`, to a heading of it), and none points
outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def documents(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {_slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, flags=re.M)}


def broken_links(root: Path = ROOT) -> list[str]:
    problems = []
    for doc in documents(root):
        text = re.sub(r"```.*?```", "", doc.read_text(), flags=re.S)
        for target in LINK.findall(text):
            where = f"{doc.relative_to(root)}: ({target})"
            if re.match(r"[a-z][a-z0-9+.-]*:", target):
                problems.append(f"{where} points outside the repository")
                continue
            file_part, _, anchor = target.partition("#")
            resolved = (doc.parent / file_part).resolve() if file_part else doc
            if root.resolve() not in (resolved, *resolved.parents):
                problems.append(f"{where} points outside the repository")
            elif not resolved.exists():
                problems.append(f"{where} names no file")
            elif anchor and (resolved.suffix != ".md" or anchor not in anchors(resolved)):
                problems.append(f"{where} names no heading #{anchor} in {resolved.name}")
    return problems


def test_every_link_resolves_inside_the_repository() -> None:
    assert len(documents()) > 5
    assert broken_links() == []


def test_the_check_finds_each_kind_of_broken_link(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A page\n\n## Some heading\n")
    (tmp_path / "README.md").write_text(
        "[ok](docs/a.md) [ok](docs/a.md#some-heading) [gone](docs/b.md) "
        "[no heading](docs/a.md#other) [outside](../shared/DESIGN.md) [web](https://example.org/x)\n"
        "```\n[in code](not/checked.md)\n```\n"
    )
    assert broken_links(tmp_path) == [
        "README.md: (docs/b.md) names no file",
        "README.md: (docs/a.md#other) names no heading #other in a.md",
        "README.md: (../shared/DESIGN.md) points outside the repository",
        "README.md: (https://example.org/x) points outside the repository",
    ]
