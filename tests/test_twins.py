"""The notebooks: en/ko twins with the same code, committed executed, with clean outputs.

Reads LOSSVIZ_NOTEBOOKS (default: notebooks/), so the checks can be tried on scratch notebooks.
"""

from __future__ import annotations

import io
import os
import token
import tokenize
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = Path(os.environ.get("LOSSVIZ_NOTEBOOKS", ROOT / "notebooks"))
EN = {p.stem: p for p in sorted((NOTEBOOKS / "en").glob("*.ipynb"))}
KO = {p.stem: p for p in sorted((NOTEBOOKS / "ko").glob("*.ipynb"))}
ALL = sorted(EN.values()) + sorted(KO.values())
PAIRS = sorted(EN.keys() & KO.keys())

no_notebooks = pytest.mark.skipif(
    not ALL, reason=f"no notebooks yet under {NOTEBOOKS}/en or {NOTEBOOKS}/ko"
)

# Skipped when comparing code: comments and line breaks inside brackets or after comments
# (a translated comment may take two lines where the original took one).
IGNORED = {token.COMMENT, token.NL}
MAGIC_PLACEHOLDER = "__lossviz_magic_{}__"
# Cell magics whose body is Python; the body of any other (%%bash, %%html...) is compared raw.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}


def _string_shape(text: str) -> str:
    """A string literal reduced to its prefix and quotes: f"안녕 {x}" -> f"…"."""
    quote_at = min(i for i in (text.find("'"), text.find('"')) if i >= 0)
    prefix, rest = text[:quote_at], text[quote_at:]
    quote = rest[:3] if rest[:3] in ('"""', "'''") else rest[0]
    return f"{prefix}{quote}…{quote}"


def code_tokens(source: str) -> list[str]:
    """The code of a cell as tokens, without comments and with string contents blanked.

    IPython lines (%magic, %%cell magic, !shell) are not Python; they are kept as raw text.
    """
    if source.startswith("%%"):
        name = source[2:].split(maxsplit=1)[0] if source[2:].strip() else ""
        if name not in PYTHON_CELL_MAGICS:
            return [source.rstrip()]
    magics: list[str] = []
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            # A placeholder name at the same indentation keeps INDENT/DEDENT as they were.
            lines.append(line[: len(line) - len(stripped)] + MAGIC_PLACEHOLDER.format(len(magics)))
            magics.append(stripped.rstrip())
        else:
            lines.append(line)
    placeholders = {MAGIC_PLACEHOLDER.format(i): m for i, m in enumerate(magics)}

    out = []
    for tok in tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline):
        if tok.type in IGNORED:
            continue
        if tok.type == token.STRING:
            out.append(_string_shape(tok.string))
        elif tok.type == getattr(token, "FSTRING_MIDDLE", None):  # Python >= 3.12 only
            out.append("…")
        elif tok.type == token.NAME and tok.string in placeholders:
            out.append(placeholders[tok.string])
        elif tok.type in (token.NEWLINE, token.INDENT, token.DEDENT, token.ENDMARKER):
            out.append(token.tok_name[tok.type])
        else:
            out.append(tok.string)
    return out


def _first_difference(a: list[str], b: list[str]) -> int:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _ids(paths):
    return [f"{p.parent.name}/{p.stem}" for p in paths]


@no_notebooks
def test_every_notebook_has_a_twin():
    only_en, only_ko = sorted(EN.keys() - KO.keys()), sorted(KO.keys() - EN.keys())
    assert not only_en and not only_ko, (
        f"notebooks without a twin: en only {only_en}, ko only {only_ko}"
    )


@pytest.mark.parametrize("stem", PAIRS)
def test_twins_have_the_same_code(stem):
    en, ko = _read(EN[stem]), _read(KO[stem])
    en_types = [c.cell_type for c in en.cells]
    ko_types = [c.cell_type for c in ko.cells]
    assert en_types == ko_types, (
        f"{stem}: the twins' cells differ\n  en ({len(en_types)} cells): {en_types}\n"
        f"  ko ({len(ko_types)} cells): {ko_types}"
    )
    for index, (a, b) in enumerate(zip(en.cells, ko.cells)):
        if a.cell_type != "code":
            continue
        try:
            ta, tb = code_tokens(a.source), code_tokens(b.source)
        except (tokenize.TokenError, SyntaxError) as err:
            pytest.fail(f"{stem}: cell {index} does not tokenize: {err}")
        if ta != tb:
            at = _first_difference(ta, tb)
            pytest.fail(
                f"{stem}: code cell {index} differs between en and ko "
                f"(comments and string contents ignored), first at token {at}: "
                f"en {ta[at:at + 1]} vs ko {tb[at:at + 1]}\n"
                f"  en: {' '.join(ta)}\n  ko: {' '.join(tb)}"
            )


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_notebook_is_committed_executed(path):
    """Each code cell ran once, top to bottom, on a fresh kernel: counts 1, 2, 3, ..."""
    nb = _read(path)
    # nbclient skips empty code cells, which keep no count.
    counts = [(i, c.execution_count) for i, c in enumerate(nb.cells)
              if c.cell_type == "code" and c.source.strip()]
    not_run = [i for i, n in counts if n is None]
    assert not not_run, f"{path.parent.name}/{path.name}: code cells {not_run} were not executed"
    got = [n for _, n in counts]
    expected = list(range(1, len(counts) + 1))
    assert got == expected, (
        f"{path.parent.name}/{path.name}: execution counts {got}, expected {expected} "
        f"(re-run with `make execute`)"
    )


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_notebook_outputs_are_clean(path):
    """No traceback, no warning on stderr, no missing-glyph warning (Hangul font) in any output,
    and no cell printing more than a screen (30 lines), so a projected cell fits."""
    nb = _read(path)
    problems = []
    for index, cell in enumerate(nb.cells):
        printed = sum(
            (out.get("text", "") if out.output_type == "stream" else out.get("data", {}).get("text/plain", "")).count("\n") + 1
            for out in cell.get("outputs", []) if out.output_type == "stream" or "image/png" not in out.get("data", {})
        )
        if printed > 30:
            problems.append(f"cell {index}: prints {printed} lines, more than a screen")
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"cell {index}: {out.get('ename')}: {out.get('evalue')}")
                continue
            texts = [out.get("text", "")] + [
                v for k, v in out.get("data", {}).items() if k.startswith("text/")
            ]
            text = "".join(t if isinstance(t, str) else "".join(t) for t in texts)
            if "Glyph" in text and "missing" in text:
                problems.append(f"cell {index}: missing glyph (Hangul font not set): {text[:200]!r}")
            elif out.output_type == "stream" and out.get("name") == "stderr" and "Warning" in text:
                problems.append(f"cell {index}: warning on stderr: {text[:200]!r}")
    assert not problems, f"{path.parent.name}/{path.name}:\n  " + "\n  ".join(problems)


def test_glossary_exists():
    assert (NOTEBOOKS / "GLOSSARY.md").is_file(), f"{NOTEBOOKS}/GLOSSARY.md is missing"
