"""tools/notebook_headers.py: badges, links, the setup cell and the README's generated parts come
from the one repository URL in pyproject.toml, idempotently, and the committed files are current.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "notebook_headers.py"
sys.path.insert(0, str(ROOT / "tools"))
import notebook_headers  # noqa: E402
from test_twins import code_tokens  # noqa: E402

OTHER_URL = "https://github.com/some-lab/loss-notebooks"


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def copy(tmp_path):
    """A copy of what the tool reads and writes, with a new notebook the tool has never seen."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "tools" / "bootstrap", tmp_path / "tools" / "bootstrap")
    for lang in ("en", "ko"):  # two of today's notebooks are enough, and quick to rewrite
        (tmp_path / "notebooks" / lang).mkdir(parents=True)
        for stem in ("00_start_here", "02_where_sigmoid_bce_breaks"):
            shutil.copy(ROOT / "notebooks" / lang / f"{stem}.ipynb", tmp_path / "notebooks" / lang)
    # 02 links to 03 ("Next: ..."): 03 is there, as a new notebook too.
    for stem, title in (("03_logits_form", "Logits form"),
                        ("11_common_mistakes", "Common mistakes")):
        for lang, twin in (("en", "ko"), ("ko", "en")):
            nb = nbformat.v4.new_notebook()
            nb.cells = [nbformat.v4.new_markdown_cell(
                            f"# {stem[:2]} · {title}\n\n[{twin}](../{twin}/{stem}.ipynb)"
                            f" · [start](00_start_here.ipynb)\n\nText."),
                        nbformat.v4.new_code_cell(
                            f'import lossviz\nlossviz.set_language("{lang}")')]
            nbformat.write(nb, tmp_path / "notebooks" / lang / f"{stem}.ipynb")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(re.sub(r'Repository = ".*?"', f'Repository = "{OTHER_URL}"',
                                pyproject.read_text(encoding="utf-8")), encoding="utf-8")
    return tmp_path


def test_committed_notebooks_and_readme_are_up_to_date():
    done = run_tool("--check")
    assert done.returncode == 0, (f"out of date; run `python tools/notebook_headers.py`:\n"
                                  f"{done.stdout}{done.stderr}")


def test_tool_writes_everything_from_the_url_and_is_idempotent(copy):
    assert run_tool("--root", str(copy), "--check").returncode == 1
    first = run_tool("--root", str(copy))
    assert first.returncode == 0, first.stderr
    assert "11_common_mistakes" in first.stdout
    snapshot = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    again = run_tool("--root", str(copy))
    assert again.returncode == 0 and again.stdout == "", again.stdout
    assert snapshot == {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    assert run_tool("--root", str(copy), "--check").returncode == 0

    # Executing a notebook (make execute) numbers the setup cell: that is no reason to rewrite it.
    executed = copy / "notebooks" / "en" / "11_common_mistakes.ipynb"
    nb = nbformat.read(executed, as_version=4)
    for count, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
        cell.execution_count = count
    nbformat.write(nb, executed)
    assert run_tool("--root", str(copy), "--check").returncode == 0

    readme = (copy / "README.md").read_text(encoding="utf-8")
    slug = OTHER_URL.removeprefix("https://github.com/")
    assert "lossviz/lossviz" not in readme.split("## For maintainers")[0]
    for lang in ("en", "ko"):
        for stem in ("00_start_here", "02_where_sigmoid_bce_breaks", "11_common_mistakes"):
            assert (f"https://colab.research.google.com/github/{slug}/blob/main/notebooks/"
                    f"{lang}/{stem}.ipynb") in readme
        assert (f"https://mybinder.org/v2/gh/{slug}/main?labpath=notebooks%2F{lang}"
                f"%2F00_start_here.ipynb") in readme
    assert f'%pip install "lossviz @ git+{OTHER_URL}"' in readme
    assert f"git clone {OTHER_URL}.git lossviz" in readme


def test_each_notebook_gets_links_badge_and_one_setup_cell(copy):
    run_tool("--root", str(copy))
    run_tool("--root", str(copy))  # twice: still one setup cell
    slug = OTHER_URL.removeprefix("https://github.com/")
    setups = {}
    for path in sorted((copy / "notebooks").glob("*/*.ipynb")):
        lang, stem = path.parent.name, path.stem
        twin = "ko" if lang == "en" else "en"
        nb = nbformat.read(path, as_version=4)
        title = nb.cells[0].source
        colab = f"https://colab.research.google.com/github/{slug}/blob/main/notebooks"
        assert f"](../{twin}/{stem}.ipynb)" in title, path
        assert f"[![Open In Colab](" in title and f"]({colab}/{lang}/{stem}.ipynb)" in title, path
        assert f"]({colab}/{twin}/{stem}.ipynb)" in title, f"{path}: no Colab link to the twin"
        if stem != "00_start_here":
            assert "](00_start_here.ipynb)" in title
            assert f"]({colab}/{lang}/00_start_here.ipynb)" in title
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        setup = [cell for cell in code if cell.get("id") == notebook_headers.SETUP_CELL_ID]
        assert len(setup) == 1 and code[0] is setup[0], f"{path}: one setup cell, first"
        assert setup[0].metadata["jupyter"]["source_hidden"] is True
        assert f'REPOSITORY = "{OTHER_URL}"' in setup[0].source
        assert all(len(line) <= 88 for line in setup[0].source.splitlines())
        assert "LossvizNotInstalled() from None\nimport torch" not in code[1].source
        assert "except ModuleNotFoundError" not in code[1].source, f"{path}: old guard left"
        assert re.search(r"^import lossviz$", code[1].source, re.M), f"{path}: lossviz not imported"
        setups[lang] = setup[0].source
    assert code_tokens(setups["en"]) == code_tokens(setups["ko"]), "en/ko setup cells differ in code"


def test_url_outside_github_is_refused(copy):
    pyproject = copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8").replace(
        OTHER_URL, "https://gitlab.com/x/y"), encoding="utf-8")
    done = run_tool("--root", str(copy))
    assert done.returncode == 2 and "github.com/OWNER/REPO" in done.stderr, done.stderr


def next_table(path: Path) -> tuple[str, str]:
    """(cell id, generated table) of a start page."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        found = notebook_headers.NEXT_BLOCK.search(cell.source)
        if cell.cell_type == "markdown" and found:
            return cell.id, found.group(0)
    raise AssertionError(f"{path}: no generated table of notebooks")


def test_start_page_table_links_every_notebook_locally_and_on_colab(copy):
    slug = OTHER_URL.removeprefix("https://github.com/")
    before = {}
    for lang in ("en", "ko"):
        start = copy / "notebooks" / lang / "00_start_here.ipynb"
        before[lang] = next_table(start)
        # A notebook without a row yet (11's row removed) gets one, described by its title.
        text = start.read_text(encoding="utf-8")
        row = re.search(r"\| \[11_common_mistakes\][^\n]*?\|\\n", text)
        assert row, f"{start}: no row for notebook 11 to remove"
        start.write_text(text.replace(row.group(0), ""), encoding="utf-8")
    assert run_tool("--root", str(copy)).returncode == 0

    header = {"en": "| Notebook | What it shows |", "ko": "| 노트북 | 내용 |"}
    for lang in ("en", "ko"):
        start = copy / "notebooks" / lang / "00_start_here.ipynb"
        cell_id, table = next_table(start)
        assert cell_id == before[lang][0], f"{start}: the table's cell changed its id"
        assert header[lang] in table, f"{start}: the table's header is not in {lang}"
        rows = {m["stem"]: (m.group(0), m["about"])
                for m in map(notebook_headers.NEXT_ROW.match, table.split("\n")) if m}
        assert sorted(rows) == ["02_where_sigmoid_bce_breaks", "03_logits_form",
                                "11_common_mistakes"], table
        for stem, (row, _) in rows.items():
            assert f"[{stem}]({stem}.ipynb)" in row and (start.parent / f"{stem}.ipynb").exists()
            assert (f"[![Open In Colab]({notebook_headers.COLAB_BADGE})](https://colab.research"
                    f".google.com/github/{slug}/blob/main/notebooks/{lang}/{stem}.ipynb)") in row
        old_rows = {m["stem"]: m["about"]
                    for m in map(notebook_headers.NEXT_ROW.match, before[lang][1].split("\n"))
                    if m}
        assert rows["02_where_sigmoid_bce_breaks"][1] == old_rows["02_where_sigmoid_bce_breaks"]
        assert rows["11_common_mistakes"][1] == "Common mistakes"
        assert "lossviz/lossviz" not in table


@pytest.mark.parametrize("drift", ["stale Colab link", "notebook added"])
def test_check_finds_a_start_page_table_out_of_date(copy, drift):
    assert run_tool("--root", str(copy)).returncode == 0
    ko_start = copy / "notebooks" / "ko" / "00_start_here.ipynb"
    if drift == "stale Colab link":
        slug = OTHER_URL.removeprefix("https://github.com/")
        text = ko_start.read_text(encoding="utf-8")
        stale = text.replace(f"{slug}/blob/main/notebooks/ko/02_",
                             "old/repo/blob/main/notebooks/ko/02_")
        assert stale != text
        ko_start.write_text(stale, encoding="utf-8")
        expected = ["notebooks/ko/00_start_here.ipynb"]
    else:
        for lang, twin in (("en", "ko"), ("ko", "en")):
            nb = nbformat.v4.new_notebook()
            nb.cells = [nbformat.v4.new_markdown_cell(
                            f"# 12 · New\n\n[{twin}](../{twin}/12_new.ipynb)"),
                        nbformat.v4.new_code_cell("import lossviz")]
            nbformat.write(nb, copy / "notebooks" / lang / "12_new.ipynb")
        expected = [f"notebooks/{lang}/00_start_here.ipynb" for lang in ("en", "ko")]
    done = run_tool("--root", str(copy), "--check")
    assert done.returncode == 1
    stale_files = [line.removeprefix("out of date: ") for line in done.stdout.splitlines()]
    assert [f for f in stale_files if "00_start_here" in f] == expected, done.stdout


def test_start_page_without_the_table_markers_is_refused(copy):
    start = copy / "notebooks" / "en" / "00_start_here.ipynb"
    start.write_text(start.read_text(encoding="utf-8").replace("<!-- generated:next -->", ""),
                     encoding="utf-8")
    done = run_tool("--root", str(copy), "--check")
    assert done.returncode == 2 and "generated:next" in done.stderr, done.stderr



# Links from one notebook to another: relative for JupyterLab, GitHub and nbviewer, and a Colab line
# after the paragraph, since Colab rewrites some relative links and not others
# (googlecolab/colabtools#281).

COLAB = "https://colab.research.google.com/github/{slug}/blob/main/notebooks/{lang}/{stem}.ipynb"
RELATIVE_LINK = re.compile(r"(?<!!)\[[^\]]+\]\((?![a-z]+:)([^)\s#]+\.ipynb)(#[^)\s]*)?\)")


def colab_url(lang: str, stem: str, url: str = OTHER_URL) -> str:
    return COLAB.format(slug=url.removeprefix("https://github.com/"), lang=lang, stem=stem)


def colab_line(lang: str, *pairs: tuple[str, str, str]) -> str:
    """The expected line, from (link text, language, stem) of each link."""
    words = {"en": "on Colab", "ko": "Colab에서"}[lang]
    return f"({words}: " + ", ".join(f"[{text}]({colab_url(tl, stem)})"
                                     for text, tl, stem in pairs) + ")"


def cells(path: Path) -> list[nbformat.NotebookNode]:
    return nbformat.read(path, as_version=4).cells


def last_markdown(path: Path) -> str:
    return [cell.source for cell in cells(path) if cell.cell_type == "markdown"][-1]


def unlinked_paragraphs(path: Path, url: str) -> list[str]:
    """Relative links to a notebook whose Colab address is neither in the same paragraph nor in
    the next (a table's or list's), written independently of the tool: blank lines split
    paragraphs."""
    missing = []
    for cell in cells(path):
        if cell.cell_type != "markdown":
            continue
        paragraphs = re.split(r"\n\s*\n", re.sub(r"```.*?```", "", cell.source, flags=re.S))
        for paragraph, following in zip(paragraphs, paragraphs[1:] + [""]):
            for link in RELATIVE_LINK.finditer(re.sub(r"`[^`\n]*`", "", paragraph)):
                target = (path.parent / link[1]).resolve()
                if colab_url(target.parent.name, target.stem, url) not in paragraph + following:
                    missing.append(f"{path.parent.name}/{path.name}: {link[0]}")
    return missing


def test_committed_links_between_notebooks_all_open_on_colab():
    url = notebook_headers.repository_url(ROOT)
    colab_prefix = COLAB.format(slug=url.removeprefix("https://github.com/"), lang="", stem="")
    colab_prefix = colab_prefix[:colab_prefix.index("/notebooks/") + 1]
    missing, relative, targets = [], 0, set()
    for path in sorted((ROOT / "notebooks").glob("*/*.ipynb")):
        missing += unlinked_paragraphs(path, url)
        for cell in cells(path):
            if cell.cell_type == "markdown":
                relative += len(RELATIVE_LINK.findall(cell.source))
                targets |= set(re.findall(re.escape(colab_prefix) + r"([^)\s]+)", cell.source))
    assert not missing, "relative links without a Colab link:\n" + "\n".join(missing)
    # Title lines (twin, start page), the start pages' tables and the "Next:" paragraphs.
    assert relative > 24 * 2, relative
    assert targets and all((ROOT / target).is_file() for target in targets), \
        [target for target in targets if not (ROOT / target).is_file()]


def test_a_link_to_another_notebook_gets_its_colab_line_in_both_languages(copy):
    # The authors' text: the last cell of 02 less the committed Colab line (the repository's URL).
    before = {lang: re.sub(r"\n\((?:on Colab|Colab에서): [^\n]*\)$", "", last_markdown(
                  copy / "notebooks" / lang / "02_where_sigmoid_bce_breaks.ipynb"))
              for lang in ("en", "ko")}
    assert all(source.endswith(".") for source in before.values()), before
    assert run_tool("--root", str(copy)).returncode == 0
    for lang in ("en", "ko"):
        path = copy / "notebooks" / lang / "02_where_sigmoid_bce_breaks.ipynb"
        after = last_markdown(path)
        # The authors' lines as they were, and one line more: a parenthesis closing the paragraph.
        expected = colab_line(lang, ("03_logits_form", lang, "03_logits_form"))
        assert after == before[lang] + "\n" + expected, after[-400:]
        assert (copy / "notebooks" / lang / "03_logits_form.ipynb").is_file()
        assert not unlinked_paragraphs(path, OTHER_URL)


def drop_colab_lines(text: str) -> str:
    return re.sub(r"\\n\",\n\s*\"\((?:on Colab|Colab에서): [^\n]*\)\"", "\"", text)


@pytest.mark.parametrize("drift", ["missing", "stale address", "link gone", "link added"])
def test_check_reports_a_relative_link_without_its_colab_line(copy, drift):
    assert run_tool("--root", str(copy)).returncode == 0
    path = copy / "notebooks" / "ko" / "02_where_sigmoid_bce_breaks.ipynb"
    text = path.read_text(encoding="utf-8")
    if drift == "missing":
        changed = drop_colab_lines(text)
    elif drift == "stale address":
        changed = text.replace(colab_url("ko", "03_logits_form"),
                               colab_url("ko", "03_logits_form", "https://github.com/old/repo"))
    elif drift == "link gone":  # the authors unlink the name: its Colab line must go too
        changed = text.replace("[03_logits_form](03_logits_form.ipynb)", "03_logits_form")
    else:  # a new paragraph linking to the start page, before "다음: ..."
        changed = text.replace('"다음: [03_logits_form]', '"[여기서 시작](00_start_here.ipynb)으로 '
                               '돌아갈 수 있습니다.\\n",\n    "\\n",\n    "다음: [03_logits_form]', 1)
    assert changed != text
    path.write_text(changed, encoding="utf-8")
    edited = cells(path)

    done = run_tool("--root", str(copy), "--check")
    assert done.returncode == 1 and done.stdout == (
        "out of date: notebooks/ko/02_where_sigmoid_bce_breaks.ipynb\n"), done.stdout

    assert run_tool("--root", str(copy)).returncode == 0
    fixed = cells(path)
    assert not unlinked_paragraphs(path, OTHER_URL)
    # Only markdown changes: code cells, their outputs and every cell's id stay as they were.
    assert [c.id for c in fixed] == [c.id for c in edited]
    for old, new in zip(edited, fixed):
        if old.cell_type == "code":
            assert old == new
    changed_cells = [i for i, (old, new) in enumerate(zip(edited, fixed)) if old != new]
    assert len(changed_cells) == 1 and fixed[changed_cells[0]].cell_type == "markdown"
    markdown = fixed[changed_cells[0]].source
    assert (colab_line("ko", ("03_logits_form", "ko", "03_logits_form")) in markdown) == (
        drift != "link gone")
    if drift == "link added":
        assert "\n" + colab_line("ko", ("여기서 시작", "ko", "00_start_here")) + "\n\n다음: " in markdown
    assert run_tool("--root", str(copy), "--check").returncode == 0


def test_colab_lines_where_markdown_needs_them_and_nowhere_else(copy):
    start, mistakes = "00_start_here", "02_where_sigmoid_bce_breaks"
    source = "\n".join([
        f"See [02]({mistakes}.ipynb) (and [its twin](../ko/{mistakes}.ipynb#section-2), then",
        f"[02 again]({mistakes}.ipynb)).",
        "",
        "| Where | Notebook |",
        "|---|---|",
        f"| start | [the list]({start}.ipynb) |",
        "",
        f"- a list item linking [the start]({start}.ipynb)",
        "",
        f"Covered already: [03](03_logits_form.ipynb) "
        f"[![Open In Colab]({notebook_headers.COLAB_BADGE})]({colab_url('en', '03_logits_form')})",
        "",
        f"In code: `[x]({start}.ipynb)` and",
        "",
        "```markdown",
        f"[y]({start}.ipynb)",
        "",
        "```",
        "",
        f"![a figure, not a link](figure.ipynb)",
    ])
    expected = "\n".join([
        *source.split("\n")[:2],
        colab_line("en", ("02", "en", mistakes), ("its twin", "ko", mistakes)),
        *source.split("\n")[2:6],
        "",
        colab_line("en", ("the list", "en", start)),
        "",
        source.split("\n")[7],
        "",
        colab_line("en", ("the start", "en", start)),
        *source.split("\n")[8:],
    ])
    path = copy / "notebooks" / "en" / "11_common_mistakes.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(source))
    nbformat.write(nb, path)
    assert run_tool("--root", str(copy)).returncode == 0
    assert last_markdown(path) == expected
    snapshot = path.read_bytes()
    assert run_tool("--root", str(copy)).returncode == 0
    assert path.read_bytes() == snapshot
    assert not unlinked_paragraphs(path, OTHER_URL)


@pytest.mark.parametrize("target", ["99_not_written_yet.ipynb", "../../README.ipynb"])
def test_a_link_to_no_notebook_of_the_collection_is_refused(copy, target):
    path = copy / "notebooks" / "ko" / "11_common_mistakes.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(f"다음: [다음 노트북]({target})"))
    nbformat.write(nb, path)
    done = run_tool("--root", str(copy), "--check")
    assert done.returncode == 2, done.stdout
    assert "notebooks/ko/11_common_mistakes.ipynb" in done.stderr and target in done.stderr
