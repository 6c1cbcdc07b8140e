"""The repository carries what it cites: every section label the code cites is in the docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    p
    for folder in ("stv_cli", "kernels", "tests", "benchmarks")
    for p in (ROOT / folder).rglob("*.py")
    if p.name != "test_docs.py"
)
LABEL = re.compile(r"\bSPEC (Part [A-Z]|D\d+|[A-G]\.\d+(?:\.\d+)*)")


def _headings() -> set[str]:
    text = (ROOT / "docs" / "semantics.md").read_text(encoding="utf-8")
    labels = set()
    for line in text.splitlines():
        match = re.match(r"#+ (Part [A-Z]|D\d+|[A-G]\.\d+(?:\.\d+)*)\b", line)
        if match:
            labels.add(match.group(1))
    return labels


def test_every_cited_section_is_a_heading_of_semantics_md():
    headings = _headings()
    missing = {}
    for path in SOURCES:
        for label in LABEL.findall(path.read_text(encoding="utf-8")):
            label = label.rstrip(".")
            if label not in headings:
                missing.setdefault(label, path.relative_to(ROOT))
    assert missing == {}
    assert {"A.2.1", "A.14", "D7", "Part G", "B.3"} <= headings


@pytest.mark.parametrize("name", ["SPEC.md", "HOUSE_STYLE"])
def test_no_source_cites_a_file_the_repository_does_not_ship(name):
    citing = [str(p.relative_to(ROOT)) for p in SOURCES if name in p.read_text(encoding="utf-8")]
    assert citing == []


def test_the_architecture_page_names_modules_that_exist():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for folder, name in re.findall(r"`(cli|video|pipeline|executors|io|model)/(\w+)\.py`", text):
        assert (ROOT / "stv_cli" / folder / f"{name}.py").is_file(), f"{folder}/{name}.py"
    for name in re.findall(r"`kernels/(\w+)\.py`", text):
        assert (ROOT / "kernels" / f"{name}.py").is_file(), name
