"""Craft rules every notebook keeps, so a page can be projected and read (CONTRIBUTING: notebooks).

- code lines fit a projector: at most 88 characters;
- no nbval marker comment (`# NBVAL_...`) in any cell: markers are cell tags, out of the student's view;
- every stored figure is a 2x PNG: its metadata gives the display size, the PNG has twice the pixels;
- notebooks 01 and up ask at least two predict-first questions, each answered in a `<details>` block;
- every `<details>` block renders as markdown on GitHub, nbviewer, JupyterLab and the static site.

Reads LOSSVIZ_NOTEBOOKS (default: notebooks/), like tests/test_twins.py.
"""

from __future__ import annotations

import base64
import os
import re
import struct
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = Path(os.environ.get("LOSSVIZ_NOTEBOOKS", ROOT / "notebooks"))
PATHS = sorted(p for lang in ("en", "ko") for p in (NOTEBOOKS / lang).glob("*.ipynb"))
IDS = [f"{p.parent.name}/{p.stem}" for p in PATHS]

MAX_LINE = 88  # characters; about what 1024 px shows at a readable code size
PNG_SCALE = 2
MIN_PREDICT_FIRST = 2
# The question that opens a predict-first block, in either language (COMMON.md's format).
PROMPT = re.compile(r"\*\*(Think first|먼저 예상해 보세요)\b[^*]*:\*\*")

pytestmark = pytest.mark.skipif(not PATHS, reason=f"no notebooks under {NOTEBOOKS}/en or /ko")


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def numbered(path: Path) -> bool:
    """Notebooks 01, 02, ...: the lessons (00_* are the start page and the explorer gallery)."""
    match = re.match(r"(\d+)_", path.stem)
    return bool(match) and int(match.group(1)) >= 1


# --- the <details> parser, shared by the tests below and tested on its own at the end ----------

def details_blocks(markdown: str) -> tuple[list[dict], list[str]]:
    """The `<details>` blocks of one markdown cell and what is wrong with their form.

    Each block is {"summary": text, "answer": text, "prompted": bool}; "prompted" says whether a
    predict-first question (bold "Think first:" / "먼저 예상해 보세요:") stands before it in the cell.
    The form that renders everywhere: `<details>` alone on its line, `<summary>…</summary>` on the
    next, a blank line, the answer (markdown), a blank line, `</details>` alone on its line.
    """
    lines = markdown.splitlines()
    blocks, problems = [], []
    index, previous_end = 0, 0
    while index < len(lines):
        line = lines[index].strip()
        if line.startswith("</details>"):
            problems.append(f"line {index + 1}: </details> without <details>")
        if not line.startswith("<details"):
            if "<details" in line:
                problems.append(f"line {index + 1}: <details> must start its own line")
            index += 1
            continue
        start = index
        if line not in ("<details>", "<details open>"):
            problems.append(f"line {start + 1}: <details> must stand alone on its line, got {line!r}")
        summary_line = lines[start + 1].strip() if start + 1 < len(lines) else ""
        summary = re.fullmatch(r"<summary>(.+)</summary>", summary_line)
        if not summary:
            problems.append(f"line {start + 2}: expected <summary>…</summary> right after <details>, "
                            f"got {summary_line!r}")
        elif start + 2 < len(lines) and lines[start + 2].strip():
            problems.append(f"line {start + 3}: a blank line must follow </summary>, or the answer "
                            "is not rendered as markdown")
        end = next((i for i in range(start + 1, len(lines)) if lines[i].strip().startswith(
            ("</details>", "<details"))), None)
        if end is None or not lines[end].strip().startswith("</details>"):
            problems.append(f"line {start + 1}: <details> is not closed before the cell ends "
                            "or the next <details>")
            index = start + 1 if end is None else end
            continue
        if lines[end].strip() != "</details>":
            problems.append(f"line {end + 1}: </details> must stand alone on its line")
        if lines[end - 1].strip():
            problems.append(f"line {end + 1}: a blank line must come before </details>")
        answer = "\n".join(lines[start + 2:end]).strip()
        if not answer:
            problems.append(f"line {start + 1}: the <details> block has no answer")
        before = "\n".join(lines[previous_end:start])
        blocks.append({"summary": summary.group(1) if summary else "", "answer": answer,
                       "prompted": bool(PROMPT.search(before))})
        previous_end = end + 1
        index = end + 1
    return blocks, problems


def markdown_cells(nb):
    return [(i, cell.source) for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown"]


# --- the rules, per notebook -------------------------------------------------------------------

@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_code_lines_fit_a_projector(path):
    long_lines = [
        f"cell {i}: {len(line)} chars: {line.strip()[:60]}"
        for i, cell in enumerate(read(path).cells) if cell.cell_type == "code"
        for line in cell.source.splitlines() if len(line) > MAX_LINE
    ]
    assert not long_lines, (f"{len(long_lines)} code lines longer than {MAX_LINE} characters:\n"
                            + "\n".join(long_lines[:10]))


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_no_nbval_marker_in_any_cell(path):
    found = [f"cell {i}" for i, cell in enumerate(read(path).cells) if "NBVAL_" in cell.source]
    assert not found, (f"'NBVAL_' in {', '.join(found)}: mark such cells with the tag "
                       "'nbval-ignore-output' (metadata.tags) instead")


def png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_every_png_has_twice_the_pixels_of_its_display_size(path):
    problems = []
    for i, cell in enumerate(read(path).cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if "image/png" not in output.get("data", {}):
                continue
            width, height = png_size(base64.b64decode(output["data"]["image/png"]))
            shown = output.get("metadata", {}).get("image/png", {})
            if "width" not in shown or "height" not in shown:
                problems.append(f"cell {i}: a {width}x{height} PNG without a display width and "
                                "height in its metadata (shown at 1 pixel per pixel)")
            elif width < PNG_SCALE * shown["width"] or height < PNG_SCALE * shown["height"] - 1:
                problems.append(f"cell {i}: {width}x{height} pixels shown at "
                                f"{shown['width']}x{shown['height']}: less than {PNG_SCALE}x")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", [p for p in PATHS if numbered(p)],
                         ids=[i for p, i in zip(PATHS, IDS) if numbered(p)])
def test_at_least_two_predict_first_questions(path):
    prompted = [block for _, source in markdown_cells(read(path))
                for block in details_blocks(source)[0] if block["prompted"]]
    assert len(prompted) >= MIN_PREDICT_FIRST, (
        f"{len(prompted)} predict-first question(s); at least {MIN_PREDICT_FIRST} expected: a bold "
        "'**Think first:**' / '**먼저 예상해 보세요:**' question followed by a <details> answer")


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_details_blocks_are_well_formed(path):
    problems = [f"cell {i}, {problem}" for i, source in markdown_cells(read(path))
                for problem in details_blocks(source)[1]]
    assert not problems, "\n".join(problems)


# --- the parser itself -------------------------------------------------------------------------

GOOD = """**Think first:** where does it break?

<details>
<summary>Answer</summary>

At 8.32: the table shows it.

</details>
"""


def test_parser_accepts_the_documented_form():
    blocks, problems = details_blocks(GOOD)
    assert problems == []
    assert blocks == [{"summary": "Answer", "answer": "At 8.32: the table shows it.",
                       "prompted": True}]
    korean = GOOD.replace("**Think first:**", "**먼저 예상해 보세요:**").replace("Answer", "정답 보기")
    assert details_blocks(korean)[0][0]["prompted"]


@pytest.mark.parametrize("broken, complaint", [
    (GOOD.replace("<summary>Answer</summary>\n\n", "<summary>Answer</summary>\n"), "blank line must follow"),
    (GOOD.replace("<summary>Answer</summary>", "Answer"), "expected <summary>"),
    (GOOD.replace("</details>\n", ""), "not closed"),
    (GOOD.replace("shows it.\n\n</details>", "shows it.\n</details>"), "blank line must come before"),
    (GOOD.replace("<details>\n", "Answer: <details>\n"), "must start its own line"),
    (GOOD + "\n</details>\n", "without <details>"),
    (GOOD.replace("At 8.32: the table shows it.\n", ""), "no answer"),
])
def test_parser_names_each_malformation(broken, complaint):
    problems = details_blocks(broken)[1]
    assert any(complaint in problem for problem in problems), problems


def test_a_details_block_without_a_question_is_not_predict_first():
    plain = GOOD.replace("**Think first:** where does it break?\n", "Some context.\n")
    assert details_blocks(plain)[0][0]["prompted"] is False
    # the question belongs to the block after it, not to a later one
    two = GOOD + "\nMore text.\n\n" + GOOD.split("\n\n", 1)[1]
    assert [block["prompted"] for block in details_blocks(two)[0]] == [True, False]


def test_png_size_reads_the_header():
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", 1600, 672)
    assert png_size(header + b"\x08\x06\x00\x00\x00") == (1600, 672)
    with pytest.raises(ValueError):
        png_size(b"GIF89a" + bytes(30))


# --- Korean prose keeps the glossary's decided terms (notebooks/GLOSSARY.md) ---------------------

# (pattern, what to write instead); checked in markdown with code spans and math taken out.
# Not checked: 인수 for "argument" (인수 is also the right word for a factor in a product).
KOREAN_TERMS = [
    (r"예제", "샘플 for a data point (예시 for an illustrative example)"),
    (r"자신만만|자신 ?있게", "확신하는 / 확신이 높은"),
    (r"에폭", "에포크"),
    (r"가우스(?!시안)", "가우시안"),
    (r"(?<![\w(])softmax\b(?!\))", "소프트맥스 (softmax in parentheses at first use only)"),
    (r"(?<![\w(])bias\b(?!\))", "편향 (bias in parentheses at first use only)"),
    (r"\d \d{3}(?!\d)", "20,000 (a comma between thousands)"),
    (r"\d %", "10% (no space)"),
    (r"ValueError 오류", "ValueError가 발생했습니다"),
]
KO_PATHS = [p for p in PATHS if p.parent.name == "ko"]


def korean_prose(source: str) -> str:
    """Markdown without code blocks, code spans, math and link targets: the sentences themselves."""
    source = re.sub(r"```.*?```", " ", source, flags=re.S)
    source = re.sub(r"`[^`]*`", " ", source)
    source = re.sub(r"\$\$.*?\$\$|\$[^$\n]*\$", " ", source, flags=re.S)
    return re.sub(r"\]\([^)]*\)", "]", source)


@pytest.mark.parametrize("path", KO_PATHS, ids=[f"ko/{p.stem}" for p in KO_PATHS])
def test_korean_prose_uses_the_glossary_terms(path):
    found = []
    for i, source in markdown_cells(read(path)):
        prose = korean_prose(source)
        for pattern, instead in KOREAN_TERMS:
            for match in re.finditer(pattern, prose):
                context = prose[max(0, match.start() - 15):match.end() + 15].replace("\n", " ")
                found.append(f"cell {i}: {match.group()!r} in '…{context}…': write {instead}")
    assert not found, f"{len(found)} terms outside the glossary:\n" + "\n".join(found[:15])


def test_korean_prose_ignores_code_and_math():
    text = "`F.softmax(x)`와 $\\text{bias}$는 코드와 수식이고, 편향(bias)은 처음 나온 용어입니다."
    prose = korean_prose(text)
    assert not any(re.search(pattern, prose) for pattern, _ in KOREAN_TERMS), prose
    flagged = [instead for pattern, instead in KOREAN_TERMS
               if re.search(pattern, korean_prose("학습 예제 20 000개의 10 %, 에폭 3"))]
    assert [instead.split()[0] for instead in flagged] == ["샘플", "에포크", "20,000", "10%"], flagged
