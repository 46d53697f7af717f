"""The README is a newcomer's map: short, naming every module, linking only to docs that exist.

The module list is read from disk, so a module added (or renamed) without a line in README.md or
docs/*.md fails here.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_README_BYTES = 15_000

# Every module a newcomer may open: the package, the page, the build.
MODULE_GLOBS = ("zcgpt/*.py", "site/*.py", "site/js/*.js", "site/*.css", "site/index.html",
                "site/sw.js", "buildtools/*.py")


def modules():
    found = sorted({p for pattern in MODULE_GLOBS for p in ROOT.glob(pattern)})
    return [p.relative_to(ROOT).as_posix() for p in found]


def documentation():
    return "\n".join(p.read_text(encoding="utf-8") for p in [README, *sorted(DOCS.glob("*.md"))])


def test_readme_is_at_most_15000_bytes():
    size = len(README.read_bytes())
    assert size <= MAX_README_BYTES, f"README.md is {size:,} bytes; move detail to docs/ (limit {MAX_README_BYTES:,})"


def test_the_module_list_is_not_empty():
    # guards the test below against globs that match nothing
    names = modules()
    assert "zcgpt/model.py" in names and "site/js/main.js" in names and "site/index.html" in names


@pytest.mark.parametrize("module", modules())
def test_every_module_is_named_in_the_readme_or_docs(module):
    text = documentation()
    name = Path(module).name
    # the file's name on its own (e.g. `driver.py`), not as part of a longer name (`bytecode.pyc`)
    pattern = r"(?<![\w.-])" + re.escape(name) + r"(?![\w-])"
    assert re.search(pattern, text), f"{module} is not named in README.md or docs/*.md"


def readme_links():
    # [text](target) with a relative target; anchors and external links are left out
    for target in re.findall(r"\]\(([^)\s]+)\)", README.read_text(encoding="utf-8")):
        if "://" in target or target.startswith(("#", "mailto:")):
            continue
        yield target


def test_the_readme_links_to_docs():
    assert any(t.startswith("docs/") for t in readme_links())


@pytest.mark.parametrize("target", sorted(set(readme_links())))
def test_every_relative_link_in_the_readme_points_to_a_file(target):
    path = target.split("#", 1)[0]
    assert (ROOT / path).is_file(), f"README.md links to {target}, which does not exist"


def test_every_docs_file_is_linked_from_the_readme():
    linked = {t.split("#", 1)[0] for t in readme_links()}
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if f"docs/{p.name}" not in linked]
    assert not missing, f"README.md does not link to {missing}"


def test_links_between_docs_point_to_files():
    for doc in sorted(DOCS.glob("*.md")):
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("#"):
                continue
            path, _, anchor = target.partition("#")
            file = doc.parent / path if path else doc
            assert file.is_file(), f"{doc.name} links to {target}, which does not exist"
            if anchor and file.suffix == ".md":
                assert anchor in anchors(file), f"{doc.name} links to {target}: no such heading"


def anchors(md):
    """The anchors GitHub makes of a Markdown file's headings."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", md.read_text(encoding="utf-8"), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found
