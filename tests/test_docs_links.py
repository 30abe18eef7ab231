"""The README and docs/ hold together: every relative link and #anchor points at a file and a heading
that exist, and the README still begins with the two set-up commands CI runs (.ci/run reads them)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def _prose(text: str) -> str:
    """The text outside fenced code blocks and inline code spans (links there are not links)."""
    text = re.sub(r"^```.*?^```[^\n]*$", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def anchors(text: str) -> set:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1, -2 for repeats."""
    seen: dict = {}
    out = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", _prose_keep_headings(text), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def _prose_keep_headings(text: str) -> str:
    return re.sub(r"^```.*?^```[^\n]*$", "", text, flags=re.S | re.M)


def links(page: Path) -> list:
    return [t for t in LINK.findall(_prose(page.read_text(encoding="utf-8"))) if not re.match(r"[a-z]+:", t)]


def test_there_are_pages_and_links_to_check():
    # A guard for the checker: a regex that found nothing would pass every test below.
    assert len(PAGES) >= 10
    readme_links = links(ROOT / "README.md")
    assert "docs/reference.md" in readme_links and "#exit-codes" in readme_links
    assert "exit-codes" in anchors((ROOT / "README.md").read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_every_relative_link_and_anchor_resolves(page):
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text(encoding="utf-8")):
            broken.append(f"{target}: no heading with anchor #{anchor} in {file.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_every_docs_page_is_linked_from_the_readme():
    readme_links = {t.partition("#")[0] for t in links(ROOT / "README.md")}
    orphans = [p.name for p in PAGES[1:] if f"docs/{p.name}" not in readme_links]
    assert not orphans, f"docs pages the README does not link to: {orphans}"


def test_readme_begins_with_the_two_set_up_commands_ci_runs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_fence = text.index("```")
    blocks = re.findall(r"^```sh\n(.*?)^```$", text, flags=re.S | re.M)
    assert text[first_fence:].startswith("```sh\n"), "the README's first code block must be a ```sh block"
    install, test = blocks[0].strip(), blocks[1].strip()
    assert "\n" not in install and "\n" not in test, "each set-up block must be one command"
    assert "pip install ." in install and "zenovay --demo" in install
    assert 'pip install ".[test]"' in test and "python -m pytest" in test
