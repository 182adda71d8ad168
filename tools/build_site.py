"""Render the executed notebooks to a static, offline HTML site.

    python tools/build_site.py notebooks site

writes site/index.html, site/en/index.html, site/ko/index.html and one page per notebook
(site/en/01_x.html, site/ko/01_x.html). Every page links to its index and to its twin in the
other language. The pages need no network: no script or stylesheet is loaded from the web, so
widget outputs are shown as the PNG that lossviz stores beside the widget view (DESIGN.md,
"Widgets"), and the TeX in markdown cells becomes MathML at build time, which browsers render
natively (MathJax would have to come from a CDN).

The site carries its own Hangul font, so a Korean page reads on a computer without a Korean font
(Debian's chromium brings none): the NanumGothic that lossviz already depends on (through
koreanize-matplotlib), cut down to the Hangul the pages use: site/fonts/hangul.woff, and the same
font inside site/fonts/hangul.css as a data: URL, since a browser refuses a font file to a page
opened from disk (file:// counts as another origin) but not a stylesheet. Every page links that
stylesheet; its @font-face covers the Hangul code points only (unicode-range), so Latin text keeps
the reader's own fonts.
"""

from __future__ import annotations

import argparse
import base64
import copy
import html
import importlib.metadata
import logging
import re
import shutil
import sys
from pathlib import Path

import nbformat
from jinja2 import DictLoader
from latex2mathml.converter import convert as latex_to_mathml
from nbconvert import HTMLExporter
from traitlets.config import Config

LANGUAGES = ("en", "ko")
TWIN_LABEL = {"en": "한국어", "ko": "English"}  # the link to the *other* language, in that language
INDEX_LABEL = {"en": "All notebooks", "ko": "전체 노트북"}
INDEX_TITLE = {"en": "lossviz notebooks", "ko": "lossviz 노트북"}
# Summaries of the parts a notebook keeps collapsed (metadata.jupyter.source_hidden /
# outputs_hidden), when a code cell has no `# @title` line (Colab's name for a form cell).
HIDDEN_CODE_LABEL = {"en": "Code (collapsed in the notebook)", "ko": "코드 (노트북에서 접혀 있음)"}
HIDDEN_OUTPUT_LABEL = {"en": "Output (collapsed in the notebook)",
                       "ko": "출력 (노트북에서 접혀 있음)"}
COLAB_TITLE = re.compile(r"^#\s*@title\s+(.+?)\s*$", re.M)

# nbconvert's default order puts the widget view first; offline it renders as an empty box
# (the widget manager comes from unpkg.com). PNG first, and the widget view left out entirely,
# so a widget without a PNG falls back to its text/plain instead of an empty placeholder.
DISPLAY_PRIORITY = [
    "text/html",
    "text/markdown",
    "image/svg+xml",
    "image/png",
    "image/jpeg",
    "text/latex",
    "text/plain",
]

HANGUL_FAMILY = "lossviz Hangul"  # not "NanumGothic": the file is a subset, a modified font
FONT_DIR = "fonts"
# Hangul Jamo, Hangul Compatibility Jamo, Jamo Extended-A, Syllables, Jamo Extended-B.
HANGUL_RANGES = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7AF),
                 (0xD7B0, 0xD7FF))
FONT_CSS = "hangul.css"
FONT_NOTICE = """hangul.woff (or hangul.ttf, also inside hangul.css) is a subset of NanumGothic (c) NAVER Corporation,
licensed under the SIL Open Font License 1.1 (https://openfontlicense.org), taken from the
koreanize-matplotlib package and cut down to the Hangul these pages use by tools/build_site.py.
"""


def is_hangul(character: str) -> bool:
    return any(low <= ord(character) <= high for low, high in HANGUL_RANGES)


def nanum_gothic() -> Path:
    """NanumGothic.ttf from the koreanize-matplotlib wheel (found as lossviz.i18n finds it)."""
    files = importlib.metadata.files("koreanize-matplotlib") or []
    for file in files:
        if file.name == "NanumGothic.ttf":
            return Path(file.locate())
    raise RuntimeError("NanumGothic.ttf was not found in the koreanize-matplotlib package; "
                       "reinstall it: pip install koreanize-matplotlib")


def write_hangul_font(pages: list[Path], fonts: Path) -> Path:
    """The Hangul of ``pages`` as a font file in ``fonts`` plus the stylesheet that carries it.

    WOFF subset to the characters used where fontTools is there (it comes with matplotlib),
    otherwise the whole TTF. Returns the font file.
    """
    fonts.mkdir(parents=True, exist_ok=True)
    for old in fonts.glob("hangul.*"):
        old.unlink()
    (fonts / "NOTICE.txt").write_text(FONT_NOTICE, encoding="utf-8")
    used = {c for page in pages for c in page.read_text(encoding="utf-8") if is_hangul(c)}
    source = nanum_gothic()
    try:
        from fontTools import subset
    except ImportError:
        target = Path(shutil.copyfile(source, fonts / "hangul.ttf"))
    else:
        logging.getLogger("fontTools").setLevel(logging.ERROR)  # "TSI3 NOT subset; dropped"
        options = subset.Options()
        options.flavor = "woff"  # zlib; woff2 would need brotli
        options.layout_features = ["*"]
        font = subset.load_font(str(source), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(ord(c) for c in used) or [0xAC00])
        subsetter.subset(font)
        target = fonts / "hangul.woff"
        subset.save_font(font, str(target), options)
    (fonts / FONT_CSS).write_text(hangul_font_face(target), encoding="utf-8")
    return target


def hangul_font_face(font: Path) -> str:
    """@font-face for ``font``, embedded, used for the Hangul code points only."""
    kind, mime = ("woff", "font/woff") if font.suffix == ".woff" else ("truetype", "font/ttf")
    data = base64.b64encode(font.read_bytes()).decode("ascii")
    ranges = ", ".join(f"U+{low:04X}-{high:04X}" for low, high in HANGUL_RANGES)
    return (f'@font-face {{\n  font-family: "{HANGUL_FAMILY}";\n'
            f'  src: url("data:{mime};base64,{data}") format("{kind}"),\n'
            f'       url("{font.name}") format("{kind}");\n'
            f"  unicode-range: {ranges};\n  font-display: swap;\n}}\n")


def font_link(href: str) -> str:
    return f'<link rel="stylesheet" href="{href}">'


# CSS variables of JupyterLab's theme, set on <body> so they win over the theme's :root values:
# the Hangul family first (it covers Hangul only, so Latin falls through to the usual fonts).
FONT_VARIABLES = (
    f'body {{ --jp-content-font-family: "{HANGUL_FAMILY}", system-ui, -apple-system, '
    f'"Segoe UI", Helvetica, Arial, sans-serif; --jp-ui-font-family: var(--jp-content-font-family); '
    f'--jp-code-font-family: "{HANGUL_FAMILY}", Menlo, Consolas, "DejaVu Sans Mono", monospace; '
    f"font-family: var(--jp-content-font-family); }}"
)

# The lab template, minus everything that loads from the web: require.js, MathJax, Mermaid,
# the widget manager and the stored widget state it would read. Plus a navigation bar.
TEMPLATE = r"""
{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
{{ resources.lossviz_font_link }}
<style type="text/css">
{{ resources.lossviz_font_css }}
nav.lossviz-nav { display: flex; gap: 1.5em; padding: 0.6em 1em;
                  font-family: var(--jp-content-font-family); border-bottom: 1px solid #ddd; }
details.lossviz-collapsed > summary { cursor: pointer; padding: 0.3em 0 0.3em 70px;
                                      color: var(--jp-ui-font-color2, #555);
                                      font-family: var(--jp-content-font-family); }
</style>
{%- endblock extra_css -%}
{%- block body_header -%}
{{ super() }}
{{ resources.lossviz_nav }}
{%- endblock body_header -%}
{#- A part collapsed in the notebook stays collapsed: a <details> the reader can open. -#}
{%- block input_group -%}
{%- if cell.metadata.lossviz_input_summary -%}
<details class="lossviz-collapsed lossviz-collapsed-input">
<summary>{{ cell.metadata.lossviz_input_summary | e }}</summary>
{{ super() }}
</details>
{%- else -%}
{{ super() }}
{%- endif -%}
{%- endblock input_group -%}
{%- block output_group -%}
{%- if cell.metadata.lossviz_output_summary -%}
<details class="lossviz-collapsed lossviz-collapsed-output">
<summary>{{ cell.metadata.lossviz_output_summary | e }}</summary>
{{ super() }}
</details>
{%- else -%}
{{ super() }}
{%- endif -%}
{%- endblock output_group -%}
{%- block footer -%}
</html>
{%- endblock footer -%}
"""


# $$display$$ or $inline$ TeX; code spans (`...`) are split off first and left alone.
MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", re.S)
CODE_SPAN = re.compile(r"(`+[^`]*`+)")


def markdown_with_mathml(source: str) -> str:
    """The markdown with every TeX formula replaced by MathML (raw HTML passes through markdown)."""

    def replace(match: re.Match) -> str:
        display, inline = match.groups()
        return latex_to_mathml((display or inline).strip(), display="block" if display else "inline")

    parts = CODE_SPAN.split(source)
    parts[::2] = [MATH.sub(replace, part) for part in parts[::2]]
    return "".join(parts)


def mark_collapsed_parts(nb: nbformat.NotebookNode, lang: str) -> None:
    """Give each part the notebook keeps collapsed the summary its <details> will show."""
    for cell in nb.cells:
        collapsed = cell.metadata.get("jupyter", {})
        if cell.cell_type == "code" and collapsed.get("source_hidden"):
            title = COLAB_TITLE.search(cell.source)
            cell.metadata["lossviz_input_summary"] = (
                title.group(1) if title else HIDDEN_CODE_LABEL[lang])
        if cell.cell_type == "code" and collapsed.get("outputs_hidden") and cell.outputs:
            cell.metadata["lossviz_output_summary"] = HIDDEN_OUTPUT_LABEL[lang]


def notebook_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The text of the first markdown heading, or `fallback`."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip() or fallback
    return fallback


def make_exporter(lang: str) -> HTMLExporter:
    config = Config()
    config.NbConvertBase.display_data_priority = DISPLAY_PRIORITY
    config.HTMLExporter.language_code = lang  # -> <html lang="ko">
    return HTMLExporter(
        config=config,
        extra_loaders=[DictLoader({"lossviz_page.html.j2": TEMPLATE})],
        template_file="lossviz_page.html.j2",
    )


def nav_html(lang: str, stem: str, has_twin: bool) -> str:
    other = "ko" if lang == "en" else "en"
    links = [f'<a class="lossviz-index" href="index.html">{INDEX_LABEL[lang]}</a>']
    if has_twin:
        links.append(
            f'<a class="lossviz-twin" href="../{other}/{html.escape(stem)}.html" '
            f'hreflang="{other}" lang="{other}">{TWIN_LABEL[lang]}</a>'
        )
    return '<nav class="lossviz-nav">' + "".join(links) + "</nav>"


def index_html(lang: str, title: str, entries: list[tuple[str, str]], nav: str,
               font_href: str = "") -> str:
    items = "\n".join(
        f'<li><a href="{html.escape(href)}">{html.escape(text)}</a></li>' for href, text in entries
    )
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{html.escape(title)}</title>
{font_link(font_href) if font_href else ""}
<style>
body {{ font-family: "{HANGUL_FAMILY}", sans-serif; max-width: 50em; margin: 2em auto;
       line-height: 1.6; }}</style>
</head>
<body>
{nav}
<h1>{html.escape(title)}</h1>
<ul>
{items}
</ul>
</body>
</html>
"""


def build(notebooks: Path, site: Path) -> list[Path]:
    """Build the site; return the notebook pages written."""
    stems = {lang: sorted(p.stem for p in (notebooks / lang).glob("*.ipynb")) for lang in LANGUAGES}
    written: list[Path] = []
    page_font_link = font_link(f"../{FONT_DIR}/{FONT_CSS}")
    for lang in LANGUAGES:
        other = "ko" if lang == "en" else "en"
        out_dir = site / lang
        out_dir.mkdir(parents=True, exist_ok=True)
        # Pages of notebooks that were renamed or deleted would otherwise linger.
        for old in out_dir.glob("*.html"):
            old.unlink()
        exporter = make_exporter(lang)  # one per language: building the template is the slow part
        entries = []
        for stem in stems[lang]:
            nb = nbformat.read(notebooks / lang / f"{stem}.ipynb", as_version=4)
            title = notebook_title(nb, stem)
            nb = copy.deepcopy(nb)
            for cell in nb.cells:
                if cell.cell_type == "markdown":
                    cell.source = markdown_with_mathml(cell.source)
            mark_collapsed_parts(nb, lang)
            resources = {
                "metadata": {"name": title, "path": str(notebooks / lang)},
                "lossviz_nav": nav_html(lang, stem, stem in stems[other]),
                "lossviz_font_link": page_font_link,
                "lossviz_font_css": FONT_VARIABLES,
            }
            body, _ = exporter.from_notebook_node(nb, resources=resources)
            page = out_dir / f"{stem}.html"
            page.write_text(body, encoding="utf-8")
            written.append(page)
            entries.append((page.name, title))
        top = '<nav class="lossviz-nav"><a href="../index.html">lossviz</a> · ' + (
            f'<a href="../{other}/index.html" hreflang="{other}" lang="{other}">{TWIN_LABEL[lang]}</a></nav>'
        )
        (out_dir / "index.html").write_text(
            index_html(lang, INDEX_TITLE[lang], entries, top, f"../{FONT_DIR}/{FONT_CSS}"),
            encoding="utf-8",
        )

    # The landing page: one link per language, each labelled in its own language.
    landing = index_html(
        "en",
        "lossviz",
        [("en/index.html", "English"), ("ko/index.html", "한국어")],
        nav="",
        font_href=f"{FONT_DIR}/{FONT_CSS}",
    ).replace('<a href="ko/index.html">', '<a href="ko/index.html" lang="ko" hreflang="ko">')
    (site / "index.html").write_text(landing, encoding="utf-8")
    every_page = written + [site / "index.html"] + [site / lang / "index.html" for lang in LANGUAGES]
    write_hangul_font(every_page, site / FONT_DIR)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", type=Path, help="folder with en/ and ko/")
    parser.add_argument("site", type=Path, help="output folder")
    args = parser.parse_args(argv)
    pages = build(args.notebooks, args.site)
    print(f"{len(pages)} pages in {args.site}/ (open {args.site / 'index.html'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
