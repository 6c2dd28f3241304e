"""The documentation's examples run: every ```python block of README.md and docs/*.md.

Blocks of one page run in order in one namespace (a later block may use an earlier block's
names), in a fresh temporary working directory, so examples that write run folders leave nothing
behind. A block whose first line is ``# not run`` is skipped (e.g. one that needs a downloaded
file). Examples are kept tiny: a few hundred steps at most.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(page: Path) -> list[str]:
    blocks = BLOCK.findall(page.read_text(encoding="utf-8"))
    return [b for b in blocks if not b.lstrip().startswith("# not run")]


def test_every_capability_has_a_page():
    names = {p.name for p in PAGES}
    for page in (
        "datasets.md",
        "models.md",
        "training.md",
        "evaluation.md",
        "reports.md",
        "directions.md",
        "intrinsic.md",
        "metrics.md",
        "explorer.md",
    ):
        assert page in names, f"docs/{page} is missing"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_examples_run(page, tmp_path, monkeypatch):
    blocks = python_blocks(page)
    if not blocks:
        pytest.skip(f"{page.name} has no Python example")
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"{page.name}[block {i}]", "exec", dont_inherit=True), namespace)
        except Exception as exc:  # pragma: no cover - the message is the point
            raise AssertionError(f"{page.name}, example {i} failed: {exc!r}\n{code}") from exc


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    for target in re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
        assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_the_registries_table_of_the_models_page_is_current():
    """docs/models.md lists what the registries hold (issue 22: it had drifted to 3 models)."""
    from latentatlas.registry import registries_markdown

    page = (ROOT / "docs" / "models.md").read_text(encoding="utf-8")
    table = registries_markdown()
    assert table in page, "regenerate the table of docs/models.md:\n" + table
