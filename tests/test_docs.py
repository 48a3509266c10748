"""The docs are the repository's own: no README or docs/ page points outside the repository (the
design, GPU and dependency notes live in docs/), and every relative Markdown link resolves."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OUTSIDE = re.compile(r"(?<![\w/.])(DESIGN\.md|GPU\.md|DEPENDENCIES\.md)|\.\./shared|/work/")


def test_no_doc_points_outside_the_repository():
    hits = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in PAGES
            for n, line in enumerate(p.read_text().splitlines(), 1) if OUTSIDE.search(line)]
    assert hits == []
    assert {"design.md", "gpu.md", "dependencies.md"} <= {p.name for p in PAGES}


def test_relative_links_resolve():
    broken = []
    for p in PAGES:
        prose = re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", p.read_text(), flags=re.S))  # not code
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", prose):
            if not re.match(r"[a-z]+://", target) and not (p.parent / target).exists():
                broken.append(f"{p.relative_to(ROOT)} -> {target}")
    assert broken == []
