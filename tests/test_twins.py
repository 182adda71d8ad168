"""The notebooks: en/ko twins with the same code, committed executed, with clean outputs.

Reads LOSSVIZ_NOTEBOOKS (default: notebooks/), so the checks can be tried on scratch notebooks.
"""

from __future__ import annotations

import ast
import io
import os
import re
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
    return [placeholders.get(t, t) for t in _python_tokens("\n".join(lines) + "\n")]


def _python_tokens(code: str) -> list[str]:
    out: list[str] = []
    literals: list[str] = []  # adjacent string literals, which Python joins into one
    for kind, text in _tokens_with_whole_fstrings(code):
        if kind == token.STRING:
            literals.append(text)
            continue
        if kind in IGNORED:  # may sit between two literals of one implicit concatenation
            continue
        if literals:
            out.extend(_literal_tokens(literals))
            literals = []
        if kind in (token.NEWLINE, token.INDENT, token.DEDENT, token.ENDMARKER):
            out.append(token.tok_name[kind])
        else:
            out.append(text)
    if literals:
        out.extend(_literal_tokens(literals))
    return out


def _tokens_with_whole_fstrings(code: str):
    """(type, text) of each token, an f-string always as one STRING token, as before 3.12.

    Python 3.12 splits an f-string into FSTRING_START, FSTRING_MIDDLE (text, format specs),
    the tokens of each {expression} and FSTRING_END, nested f-strings included; its source
    text is cut back out from FSTRING_START's start to the matching FSTRING_END's end
    (the positions of FSTRING_MIDDLE are unreliable in 3.12, those two are not).
    """
    fstring_start = getattr(token, "FSTRING_START", None)
    fstring_end = getattr(token, "FSTRING_END", None)
    lines = code.splitlines(keepends=True)
    depth, opened_at = 0, (0, 0)
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if fstring_start is not None and tok.type == fstring_start:
            if depth == 0:
                opened_at = tok.start
            depth += 1
        elif fstring_end is not None and tok.type == fstring_end:
            depth -= 1
            if depth == 0:
                yield token.STRING, _source_between(lines, opened_at, tok.end)
        elif depth == 0:
            yield tok.type, tok.string


def _source_between(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    (first_row, first_col), (last_row, last_col) = start, end
    if first_row == last_row:
        return lines[first_row - 1][first_col:last_col]
    middle = lines[first_row:last_row - 1]
    return "".join([lines[first_row - 1][first_col:], *middle, lines[last_row - 1][:last_col]])


def _literal_tokens(literals: list[str]) -> list[str]:
    """Adjacent string literals as one blanked string plus the fields of their f-strings.

    The text is left out, so a translation may say anything and split it over any number of
    literals. The code of each {field} (expression, !conversion, :format) is kept, sorted:
    Korean word order often swaps two values ("{a} of {b}" -> "{b}개 중 {a}개").
    """
    joined = ast.parse(" ".join(literals), mode="eval").body
    if isinstance(joined, ast.Constant):
        return ['b"…"' if isinstance(joined.value, bytes) else '"…"']
    fields = [_field(v) for v in joined.values if isinstance(v, ast.FormattedValue)]
    return ['"…"', *sorted(fields)]


def _field(value: ast.FormattedValue) -> str:
    """A replacement field as '{code!r:spec}', its code as tokens (nested strings blanked)."""
    code = _python_tokens(ast.unparse(value.value))[:-2]  # without NEWLINE, ENDMARKER
    conversion = f"!{chr(value.conversion)}" if value.conversion != -1 else ""
    spec = ""
    if value.format_spec is not None:
        spec = "".join(
            part.value if isinstance(part, ast.Constant) else _field(part)
            for part in value.format_spec.values
        )
        spec = _without_layout(spec)
        spec = f":{spec}" if spec else ""
    return "{" + " ".join(code) + conversion + spec + "}"


# The format spec mini-language: [[fill]align][sign][z][#][0][width][grouping][.precision][type]
FORMAT_SPEC = re.compile(
    r"(?:(?P<fill>.)?(?P<align>[<>=^]))?(?P<sign>[-+ ])?(?P<z>z)?(?P<alt>#)?(?P<zero>0)?"
    r"(?P<width>\d+)?(?P<grouping>[,_])?(?P<precision>\.\d+)?(?P<type>[bcdeEfFgGnosxX%])?",
    re.DOTALL,
)


def _without_layout(spec: str) -> str:
    """A format spec without fill, alignment and width: they pad a column, and a column of
    Hangul (two cells a character) needs other widths than English. The rest (.3f, +, ',')
    decides which digits are printed, so it stays. Other specs (datetime's...) stay whole."""
    match = FORMAT_SPEC.fullmatch(spec)
    if match is None:
        return spec
    kept = ("sign", "z", "alt", "grouping", "precision", "type")
    return "".join(match[name] or "" for name in kept)


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


# The helper itself. Python 3.12 tokenizes f-strings into pieces (FSTRING_START/MIDDLE/END and
# the tokens of each field); these must give the same answer on 3.11, 3.12 and 3.13.

def test_code_tokens_are_the_same_on_every_python():
    assert code_tokens('print(f"loss {x:.3f} of {len(y)}")  # note\n') == [
        "print", "(", '"…"', "{len ( y )}", "{x:.3f}", ")", "NEWLINE", "ENDMARKER",
    ]


@pytest.mark.parametrize("en, ko", [
    ('print(f"loss: {loss.item():.3f}")', 'print(f"손실: {loss.item():.3f}")'),
    ('print(f"{n} positives")', 'print(f"양성 {n}개")'),  # text before vs after the field
    ('print(f"{a} of {b}")', 'print(f"{b}개 중 {a}개")'),  # Korean word order
    ('print(f"{{x}} = {x}")', 'print(f"{{x}}의 값: {x}")'),  # escaped braces are text
    ('print(f"a {x}, b {y}")', 'print(f"가 {x}, "\n      f"나 {y}")'),  # split differently
    ('print(f"{name:16} {v}")', 'print(f"{name:12} {v}")'),  # column width for Hangul
    ("s = f\"{f'inner {x}'!r}\"", "s = f\"{f'안쪽 {x}'!r}\""),  # nested f-string
    ('x = "loss"  # why', 'x = "손실"  # 이유는\n'),
])
def test_code_tokens_ignore_text_in_strings_and_fstrings(en, ko):
    assert code_tokens(en) == code_tokens(ko)


@pytest.mark.parametrize("en, ko", [
    ('print(f"loss: {loss.item():.3f}")', 'print(f"손실: {loss.mean():.3f}")'),  # other code
    ('print(f"loss: {loss:.3f}")', 'print(f"손실: {loss:.4f}")'),  # other digits printed
    ('print(f"loss: {loss!r}")', 'print(f"손실: {loss}")'),  # other conversion
    ('print(f"{a} of {b}")', 'print(f"{b}개 중 {b}개")'),  # one value shown twice
    ("s = f\"{f'inner {x}'}\"", "s = f\"{f'안쪽 {y}'}\""),  # nested field
    ('print(f"{x}")', 'print(f"{x}") + 1'),  # code after the f-string
    ('print("a")', 'print(b"a")'),
])
def test_code_tokens_see_different_code(en, ko):
    assert code_tokens(en) != code_tokens(ko)
