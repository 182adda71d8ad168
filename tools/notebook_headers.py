"""Write every notebook's header and setup cell and the README's generated parts from one URL.

    python tools/notebook_headers.py            # rewrite what is out of date
    python tools/notebook_headers.py --check    # exit 1, naming the files, if anything is

The repository's address lives in exactly one place, `[project.urls] Repository` in
pyproject.toml. From it this tool writes, for every notebooks/{en,ko}/*.ipynb:

- the link line of the title cell: the twin and the start page (relative links, for JupyterLab,
  GitHub and nbviewer), an "Open in Colab" badge for this notebook, and the twin and start page
  again as Colab addresses (relative links lead nowhere on Colab);
- a collapsed setup cell before the first code cell, from tools/bootstrap/{en,ko}.py: on Colab it
  installs lossviz from the repository (a normal, non-editable install, so no restart), elsewhere
  it stops with a message in the notebook's language when lossviz is missing or only a folder
  named lossviz is found; the old install guard of the first code cell is replaced by
  `import lossviz`;
- in the start page, the table of the other notebooks between `<!-- generated:next -->` and
  `<!-- /generated:next -->`: one row per notebook of that language, linked relatively and with
  its Colab badge. The description column is the authors' (kept per notebook; a notebook without
  a row yet gets its title);
- after each paragraph of a markdown cell that links to notebooks only relatively (the authors'
  "Next: [03_logits_form](03_logits_form.ipynb) ..."), one line with the same links on Colab,
  worded as in the title line: `(on Colab: [03_logits_form](https://colab.../03_logits_form
  .ipynb))` / `(Colab에서: ...)`. In a plain paragraph it is the paragraph's last source line, so it renders
  as a parenthesis closing the sentence and the authors' lines stay as written (Korean particles
  after a link included); after a table, heading, list, quote or HTML block it is a paragraph of
  its own. Links in code are left alone; a link to a notebook that does not exist is an error;
  an #anchor is not carried over (Colab opens the notebook at its top);

and in README.md, between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`: the Binder
badges, the notebook index with Colab badges, and the install commands. Running it twice changes
nothing the second time. `--root` points it at a copy (tests run it on one).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tomllib
from pathlib import Path
from urllib.parse import quote

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BRANCH = "main"  # the branch Colab and Binder open
LANGUAGES = ("en", "ko")
START = "00_start_here"
MAX_CODE_LINE = 88
SETUP_CELL_ID = "lossviz-setup"

COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"

# Words of the generated lines, per language of the notebook they appear in.
WORDS = {
    "en": {"twin": "한국어", "start": "Start here", "on_colab": "on Colab",
           "start_page_note": "the list of all notebooks is at the end",
           "next_columns": ("Notebook", "What it shows")},
    "ko": {"twin": "English", "start": "여기서 시작", "on_colab": "Colab에서",
           "start_page_note": "전체 노트북 목록은 맨 끝에 있습니다",
           "next_columns": ("노트북", "내용")},
}
NEXT_BLOCK = re.compile(r"(<!-- generated:next -->\n).*?(\n<!-- /generated:next -->)", re.S)
NEXT_ROW = re.compile(r"^\|\s*\[(?P<stem>\d\d_\w+)\]\([^|]*\|\s*(?P<about>.*?)\s*\|\s*$")

# A relative link to a notebook (not an image, not a URL with a scheme), with an optional #anchor.
NOTEBOOK_LINK = re.compile(r"(?<!!)\[(?P<text>[^\[\]\n]+)\]\((?P<target>(?![a-z][a-z0-9+.-]*:)"
                           r"[^()\s#]+\.ipynb)(?:#[^()\s]*)?\)")
_COLAB_LINK = r"\[[^\[\]\n]+\]\(https://colab\.research\.google\.com/[^()\s]+\)"
# The line written after a paragraph with relative notebook links (either language's wording, so a
# line pasted from the twin is replaced, not doubled).
COLAB_COMPANION = re.compile(
    rf"\((?:{'|'.join(re.escape(words['on_colab']) for words in WORDS.values())}): "
    rf"{_COLAB_LINK}(?:, {_COLAB_LINK})*\)")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)[^`].*?\1", re.S)  # a link in a code span is code
# Blocks after which a line of text would not continue a plain paragraph: a table (GFM makes it a
# row), a heading, a list (it would join the last item), a quote, HTML, indented code.
NOT_A_PARAGRAPH = re.compile(r"^(?: {0,3}(?:\||#|[-*+]\s|\d+[.)]\s|>|<)| {4})")

# The install guard the notebooks had before the setup cell (removed, with `import lossviz` left).
OLD_GUARD = re.compile(
    r"try:\n    import lossviz\nexcept ModuleNotFoundError:\n.*?"
    r"raise LossvizNotInstalled\(\) from None\n", re.S)


class HeaderError(Exception):
    """The input cannot be turned into headers (bad URL, a notebook without a link line...)."""


def repository_url(root: Path) -> str:
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    try:
        url = pyproject["project"]["urls"]["Repository"]
    except KeyError:
        raise HeaderError("pyproject.toml: set [project.urls] Repository = "
                          '"https://github.com/OWNER/REPO"') from None
    url = url.rstrip("/").removesuffix(".git")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise HeaderError(f"pyproject.toml: [project.urls] Repository must be "
                          f"https://github.com/OWNER/REPO (Colab and Binder open GitHub "
                          f"repositories), got {url!r}")
    return url


class Links:
    def __init__(self, url: str):
        self.url = url
        self.slug = url.removeprefix("https://github.com/")

    def colab(self, lang: str, stem: str) -> str:
        return (f"https://colab.research.google.com/github/{self.slug}/blob/{BRANCH}"
                f"/notebooks/{lang}/{stem}.ipynb")

    def colab_badge(self, lang: str, stem: str) -> str:
        return f"[![Open In Colab]({COLAB_BADGE})]({self.colab(lang, stem)})"

    def binder(self, lang: str) -> str:
        path = quote(f"notebooks/{lang}/{START}.ipynb", safe="")
        return f"https://mybinder.org/v2/gh/{self.slug}/{BRANCH}?labpath={path}"

    def binder_badge(self, lang: str, label: str) -> str:
        return f"[![Binder: {label}]({BINDER_BADGE})]({self.binder(lang)})"


def twin_of(lang: str) -> str:
    return "ko" if lang == "en" else "en"


def link_line(links: Links, lang: str, stem: str) -> str:
    words, twin = WORDS[lang], twin_of(lang)
    local = [f"[{words['twin']}](../{twin}/{stem}.ipynb)"]
    colab = [f"[{words['twin']}]({links.colab(twin, stem)})"]
    if stem == START:
        local.append(words["start_page_note"])
    else:
        local.append(f"[{words['start']}]({START}.ipynb)")
        colab.append(f"[{words['start']}]({links.colab(lang, START)})")
    return (" · ".join(local) + f" · {links.colab_badge(lang, stem)} "
            + f"({words['on_colab']}: " + ", ".join(colab) + ")")


def next_table(links: Links, lang: str, others: list[Path], old_table: str) -> str:
    """The start page's table of the other notebooks, from the table it replaces."""
    about = {m["stem"]: m["about"] for m in map(NEXT_ROW.match, old_table.split("\n")) if m}
    notebook, what = WORDS[lang]["next_columns"]
    rows = [f"| {notebook} | {what} |", "|---|---|"]
    for path in others:
        rows.append(f"| [{path.stem}]({path.stem}.ipynb) {links.colab_badge(lang, path.stem)} "
                    f"| {about.get(path.stem) or title_of(path)} |")
    return "\n".join(rows)


def update_next_table(nb: nbformat.NotebookNode, links: Links, lang: str,
                      others: list[Path]) -> None:
    cells = [cell for cell in nb.cells
             if cell.cell_type == "markdown" and NEXT_BLOCK.search(cell.source)]
    if len(cells) != 1:
        raise HeaderError(f"the start page needs exactly one markdown cell with "
                          f"<!-- generated:next --> ... <!-- /generated:next --> (the table of "
                          f"notebooks); found {len(cells)}")
    cell = cells[0]
    # Blank lines around the table: a markdown table must not touch the HTML comments.
    cell.source = NEXT_BLOCK.sub(
        lambda m: f"{m[1]}\n{next_table(links, lang, others, m.group(0))}\n{m[2]}",
        cell.source, count=1)


def markdown_blocks(lines: list[str]) -> list[tuple[int, int, bool]]:
    """(first, end, is_code) of each run of non-blank lines; a fenced code block is one block of
    its own, blank lines and all."""
    blocks, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        start = i
        fence = FENCE.match(lines[i])
        if fence:
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith(fence[1]):
                i += 1
            blocks.append((start, min(i + 1, len(lines)), True))
            i += 1
            continue
        while i < len(lines) and lines[i].strip() and not FENCE.match(lines[i]):
            i += 1
        blocks.append((start, i, False))
    return blocks


def without_companions(lines: list[str]) -> list[str]:
    """The lines less the Colab lines this tool wrote (and the blank line that set one apart)."""
    code = {i for start, end, is_code in markdown_blocks(lines) if is_code
            for i in range(start, end)}
    kept: list[str] = []
    for i, line in enumerate(lines):
        if i not in code and COLAB_COMPANION.fullmatch(line.strip()):
            if kept and not kept[-1].strip():
                kept.pop()
            continue
        kept.append(line)
    return kept


def linked_notebooks(text: str, notebook: Path) -> list[tuple[str, str, str]]:
    """(link text, language, stem) of each relative link to a notebook in text, in order."""
    found = []
    for link in NOTEBOOK_LINK.finditer(text):
        target = Path(os.path.normpath(notebook.parent / link["target"]))
        lang = target.parent.name
        if lang not in LANGUAGES or target.parent.parent != notebook.parent.parent:
            raise HeaderError(f"the link ({link['target']}) leads outside notebooks/en and "
                              f"notebooks/ko, where Colab links are made for")
        if not target.is_file():
            raise HeaderError(f"the link ({link['target']}) leads to a notebook that does "
                              f"not exist")
        found.append((link["text"], lang, target.stem))
    return found


def with_colab_companions(source: str, links: Links, lang: str, notebook: Path) -> str:
    """source with a Colab line after each paragraph that links to notebooks only relatively."""
    lines = without_companions(source.split("\n"))
    after: dict[int, list[str]] = {}
    for start, end, is_code in markdown_blocks(lines):
        if is_code:
            continue
        text = "\n".join(lines[start:end])
        pairs: dict[str, str] = {}
        for label, target_lang, stem in linked_notebooks(CODE_SPAN.sub("", text), notebook):
            url = links.colab(target_lang, stem)
            # The title line and the start page's table carry their Colab links already.
            if f"]({url})" not in text:
                pairs.setdefault(url, label)
        if pairs:
            companion = (f"({WORDS[lang]['on_colab']}: "
                         + ", ".join(f"[{label}]({url})" for url, label in pairs.items()) + ")")
            apart = bool(NOT_A_PARAGRAPH.match(lines[start])
                         or NOT_A_PARAGRAPH.match(lines[end - 1]))
            after[end - 1] = ["", companion] if apart else [companion]
    out: list[str] = []
    for i, line in enumerate(lines):
        out.append(line)
        out.extend(after.get(i, []))
    return "\n".join(out)


def update_colab_companions(nb: nbformat.NotebookNode, links: Links, lang: str,
                            notebook: Path) -> None:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = with_colab_companions(cell.source, links, lang, notebook)


def setup_source(root: Path, lang: str, url: str) -> str:
    template = (root / "tools" / "bootstrap" / f"{lang}.py").read_text(encoding="utf-8")
    source = template.replace("@REPOSITORY@", url).rstrip("\n")
    long = [line for line in source.splitlines() if len(line) > MAX_CODE_LINE]
    if long:
        raise HeaderError(f"tools/bootstrap/{lang}.py with this URL has lines over "
                          f"{MAX_CODE_LINE} characters: {long}")
    return source


def setup_cell(source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.id = SETUP_CELL_ID
    # Collapsed in JupyterLab (source_hidden) and shown as its title on Colab (form view).
    cell.metadata = nbformat.from_dict({"cellView": "form", "jupyter": {"source_hidden": True}})
    return cell


def update_notebook(nb: nbformat.NotebookNode, links: Links, lang: str, stem: str,
                    setup: str) -> None:
    title = nb.cells[0]
    if title.cell_type != "markdown":
        raise HeaderError("the first cell is not the markdown title cell")
    twin_link = f"](../{twin_of(lang)}/{stem}.ipynb)"
    lines = title.source.split("\n")
    at = [i for i, line in enumerate(lines) if twin_link in line]
    if len(at) != 1:
        raise HeaderError(f"the title cell needs exactly one line linking to its twin "
                          f"(...{twin_link}); found {len(at)}")
    lines[at[0]] = link_line(links, lang, stem)
    title.source = "\n".join(lines)

    existing = [i for i, cell in enumerate(nb.cells) if cell.get("id") == SETUP_CELL_ID]
    # An executed setup cell keeps its execution count and (empty) outputs.
    cell = nb.cells[existing[0]] if existing else setup_cell(setup)
    for i in reversed(existing):
        del nb.cells[i]
    first_code = next((i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"), None)
    if first_code is None:
        raise HeaderError("the notebook has no code cell")
    code = nb.cells[first_code]
    code.source = OLD_GUARD.sub("import lossviz\n", code.source, count=1)
    if not re.search(r"^import lossviz$", code.source, re.M):
        raise HeaderError("the first code cell must `import lossviz` (the setup cell only "
                          "checks that it can be imported)")
    if existing and existing[0] != first_code:
        raise HeaderError("the setup cell is not right before the first code cell")
    fresh = setup_cell(setup)
    if cell.source != fresh.source:
        cell.source = fresh.source
        cell.execution_count = None
        cell.outputs = []
    cell.metadata.update(fresh.metadata)
    nb.cells.insert(first_code, cell)


def readme_blocks(root: Path, links: Links) -> dict[str, str]:
    rows = ["| | English | 한국어 |", "|---|---|---|"]
    stems = sorted({path.stem for lang in LANGUAGES for path in notebooks(root, lang)},
                   key=lambda stem: (stem != START, stem))
    for stem in stems:
        cells = []
        for lang in LANGUAGES:
            twin = root / "notebooks" / lang / f"{stem}.ipynb"
            cells.append(f"[{title_of(twin)}](notebooks/{lang}/{stem}.ipynb) "
                         f"{links.colab_badge(lang, stem)}" if twin.exists() else "")
        rows.append(f"| {stem[:2]} | {cells[0]} | {cells[1]} |")
    return {
        "binder": (f"{links.binder_badge('ko', '한국어 시작 페이지')} "
                   f"{links.binder_badge('en', 'English start page')}"),
        "index": "\n".join(rows),
        "colab-install": f'%pip install "lossviz @ git+{links.url}"',
        "hub-install": (f"git clone {links.url}.git lossviz\n"
                        f"python -m pip install ./lossviz"),
    }


def title_of(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    heading = nb.cells[0].source.split("\n", 1)[0]
    return re.sub(r"^#\s*\d+\s*·\s*", "", heading).strip() or path.stem


def update_readme(text: str, blocks: dict[str, str]) -> str:
    for name, body in blocks.items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(<!-- /generated:{name} -->)",
                             re.S)
        if not pattern.search(text):
            raise HeaderError(f"README.md has no <!-- generated:{name} --> ... "
                              f"<!-- /generated:{name} --> block")
        fence = "```\n" if name.endswith("install") else ""
        text = pattern.sub(lambda m: f"{m[1]}{fence}{body}\n{fence}{m[2]}", text, count=1)
    return text


def notebooks(root: Path, lang: str) -> list[Path]:
    return sorted((root / "notebooks" / lang).glob("*.ipynb"))


def run(root: Path, check: bool) -> list[Path]:
    """Bring everything up to date (or only compare, with check); return the stale files."""
    url = repository_url(root)
    links = Links(url)
    stale = []
    for lang in LANGUAGES:
        setup = setup_source(root, lang, url)
        paths = notebooks(root, lang)
        for path in paths:
            before = path.read_text(encoding="utf-8")
            nb = nbformat.reads(before, as_version=4)
            try:
                update_notebook(nb, links, lang, path.stem, setup)
                if path.stem == START:
                    update_next_table(nb, links, lang, [p for p in paths if p.stem != START])
                update_colab_companions(nb, links, lang, path)
            except HeaderError as error:
                raise HeaderError(f"{path.relative_to(root)}: {error}") from None
            after = nbformat.writes(nb) + "\n"
            if after != before:
                stale.append(path)
                if not check:
                    path.write_text(after, encoding="utf-8")
    readme = root / "README.md"
    before = readme.read_text(encoding="utf-8")
    after = update_readme(before, readme_blocks(root, links))
    if after != before:
        stale.append(readme)
        if not check:
            readme.write_text(after, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if any file is out of date")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the repository (default: this one)")
    args = parser.parse_args(argv)
    try:
        stale = run(args.root.resolve(), args.check)
    except HeaderError as error:
        print(f"notebook_headers: {error}", file=sys.stderr)
        return 2
    for path in stale:
        verb = "out of date" if args.check else "updated"
        print(f"{verb}: {path.relative_to(args.root.resolve())}")
    if args.check and stale:
        print("run: python tools/notebook_headers.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
