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
    for lang, twin in (("en", "ko"), ("ko", "en")):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(
                        f"# 11 · Common mistakes\n\n[{twin}](../{twin}/11_common_mistakes.ipynb)"
                        f" · [start](00_start_here.ipynb)\n\nText."),
                    nbformat.v4.new_code_cell(f'import lossviz\nlossviz.set_language("{lang}")')]
        nbformat.write(nb, tmp_path / "notebooks" / lang / "11_common_mistakes.ipynb")
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
        assert sorted(rows) == ["02_where_sigmoid_bce_breaks", "11_common_mistakes"], table
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
