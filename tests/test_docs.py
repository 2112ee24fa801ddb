"""The documentation cannot drift: the generated pages in docs/ equal what the code makes of
the settings and of every command's --help, every page is reachable from the README, and the
README stays a short front page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from appointer import docs

ROOT = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.backend_independent("reads and generates the documentation")


@pytest.mark.parametrize("name", sorted(docs.GENERATED))
def test_generated_pages_are_up_to_date(name):
    """docs/settings.md lists every setting and docs/cli.md every command as they are now
    (run `python -m appointer.docs` after changing either)."""
    page = (ROOT / "docs" / name).read_text(encoding="utf-8")
    assert page == docs.GENERATED[name](), f"docs/{name} is out of date: python -m appointer.docs"


def test_every_setting_is_explained():
    """A new setting without a line in settings.MEANINGS cannot be documented, so it fails."""
    import dataclasses

    from appointer.settings import MEANINGS, Settings

    names = {f.name for f in dataclasses.fields(Settings)}
    assert names == set(MEANINGS), names ^ set(MEANINGS)


def test_every_docs_page_is_linked_from_the_readme_and_links_resolve():
    """The README is the index: each page in docs/ is linked from it, and every relative link
    in the README and the pages points at a file that exists."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in (ROOT / "docs").glob("*.md"):
        assert f"docs/{page.name}" in readme, f"docs/{page.name} is not linked from the README"
    for source in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", source.read_text("utf-8")):
            assert (source.parent / target).exists(), f"{source.name} links to {target}"


def test_the_readme_is_a_front_page():
    """The README keeps the pitch, the quick start, the CLI at a glance and the diagrams, and
    leaves the manual to docs/ (about 12 KB at most)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode()) < 12_500
    for heading in ("## Quick start", "## The CLI at a glance", "## The workflows"):
        assert heading in readme
