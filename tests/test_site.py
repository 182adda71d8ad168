"""The static site (`make html`): every notebook rendered, linked to its twin, offline.

Builds the site once into a temporary folder from LOSSVIZ_NOTEBOOKS (default: notebooks/).
"""

from __future__ import annotations

import importlib.util
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = Path(os.environ.get("LOSSVIZ_NOTEBOOKS", ROOT / "notebooks"))
LANGS = ("en", "ko")
OTHER = {"en": "ko", "ko": "en"}
TWIN_LABEL = {"en": "한국어", "ko": "English"}

NOTEBOOK_PATHS = sorted(p for lang in LANGS for p in (NOTEBOOKS / lang).glob("*.ipynb"))
pytestmark = pytest.mark.skipif(
    not NOTEBOOK_PATHS, reason=f"no notebooks yet under {NOTEBOOKS}/en or {NOTEBOOKS}/ko"
)


def _load_build_site():
    # tools/ is not a package; load the script as a module to call build() without a subprocess.
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "tools" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    _load_build_site().build(NOTEBOOKS, out)
    return out


class Page(HTMLParser):
    """What the checks need from one HTML page: links, images, scripts, stylesheets, lang."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.lang = None
        self.charset = None
        self.links: list[tuple[str, str]] = []  # (href, link text)
        self.img_srcs: list[str] = []
        self.script_srcs: list[str] = []
        self.script_bodies: list[str] = []
        self.script_types: list[str] = []
        self.stylesheets: list[str] = []
        self._href = None
        self._text: list[str] = []
        self._in_script = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "meta" and "charset" in a:
            self.charset = a["charset"]
        elif tag == "a" and "href" in a:
            self._href, self._text = a["href"], []
        elif tag == "img" and "src" in a:
            self.img_srcs.append(a["src"])
        elif tag == "script":
            self._in_script = True
            self.script_types.append(a.get("type") or "")
            if a.get("src"):
                self.script_srcs.append(a["src"])
        elif tag == "link" and "stylesheet" in (a.get("rel") or ""):
            self.stylesheets.append(a.get("href") or "")

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None
        elif tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)
        if self._in_script:
            self.script_bodies.append(data)


def read_page(path: Path) -> tuple[str, Page]:
    text = path.read_text(encoding="utf-8")
    return text, Page(text)


def link_target(page_path: Path, href: str) -> Path | None:
    """The local file a relative link points to, or None for an external link."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None
    return (page_path.parent / parts.path).resolve()


def png_outputs(nb) -> int:
    return sum(
        1
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    )


def ids(paths):
    return [f"{p.parent.name}/{p.stem}" for p in paths]


@pytest.mark.parametrize("nb_path", NOTEBOOK_PATHS, ids=ids(NOTEBOOK_PATHS))
def test_page_links_to_twin_and_index(site, nb_path):
    lang, stem = nb_path.parent.name, nb_path.stem
    page_path = site / lang / f"{stem}.html"
    assert page_path.is_file(), f"{lang}/{stem}.ipynb has no page {page_path.name}"
    _, page = read_page(page_path)

    twin = (site / OTHER[lang] / f"{stem}.html").resolve()
    index = (site / lang / "index.html").resolve()
    targets = {link_target(page_path, href): text for href, text in page.links}
    assert twin in targets, f"{lang}/{stem}.html does not link to its twin {OTHER[lang]}/{stem}.html"
    assert twin.is_file(), f"{lang}/{stem}.html links to a missing twin {twin}"
    assert targets[twin] == TWIN_LABEL[lang], (
        f"{lang}/{stem}.html: the twin link reads {targets[twin]!r}, expected {TWIN_LABEL[lang]!r}"
    )
    assert index in targets and index.is_file(), f"{lang}/{stem}.html does not link to its index"


@pytest.mark.parametrize("nb_path", NOTEBOOK_PATHS, ids=ids(NOTEBOOK_PATHS))
def test_page_shows_every_png_and_no_widget_placeholder(site, nb_path):
    lang, stem = nb_path.parent.name, nb_path.stem
    text, page = read_page(site / lang / f"{stem}.html")
    expected = png_outputs(nbformat.read(nb_path, as_version=4))
    shown = sum(src.startswith("data:image/png;base64,") for src in page.img_srcs)
    assert shown >= expected, (
        f"{lang}/{stem}.html shows {shown} PNG images, the notebook has {expected} image/png outputs"
    )
    # The placeholder nbconvert writes for a widget view: offline it stays an empty box.
    assert "application/vnd.jupyter.widget-view+json" not in page.script_types, (
        f"{lang}/{stem}.html renders a widget view (empty without its scripts from the web)"
    )
    assert "application/vnd.jupyter.widget-state+json" not in page.script_types, (
        f"{lang}/{stem}.html embeds the widget state for a widget manager it cannot load"
    )
    assert "Error displaying widget" not in text, f"{lang}/{stem}.html: 'Error displaying widget'"


@pytest.mark.parametrize("nb_path", NOTEBOOK_PATHS, ids=ids(NOTEBOOK_PATHS))
def test_page_works_offline_and_declares_language(site, nb_path):
    lang, stem = nb_path.parent.name, nb_path.stem
    _, page = read_page(site / lang / f"{stem}.html")
    assert page.lang == lang, f"{lang}/{stem}.html declares lang={page.lang!r}"
    assert (page.charset or "").lower() == "utf-8", f"{lang}/{stem}.html: charset {page.charset!r}"
    external = [s for s in page.script_srcs + page.stylesheets if re.match(r"(https?:)?//", s)]
    assert not external, f"{lang}/{stem}.html loads from the web: {external}"
    # Inline loaders (MathJax, Mermaid, the widget manager) fetch their code with import()/src=.
    fetching = [b.strip()[:200] for b in page.script_bodies if "https://" in b]
    assert not fetching, f"{lang}/{stem}.html has inline scripts that fetch from the web: {fetching}"


@pytest.mark.parametrize("lang", LANGS)
def test_language_index_lists_every_notebook(site, lang):
    index_path = site / lang / "index.html"
    _, page = read_page(index_path)
    assert page.lang == lang and (page.charset or "").lower() == "utf-8"
    targets = {link_target(index_path, href) for href, _ in page.links}
    for nb_path in sorted((NOTEBOOKS / lang).glob("*.ipynb")):
        page_path = (site / lang / f"{nb_path.stem}.html").resolve()
        assert page_path in targets, f"{lang}/index.html does not list {nb_path.stem}"


def test_landing_page_links_both_languages(site):
    index_path = site / "index.html"
    _, page = read_page(index_path)
    targets = {link_target(index_path, href) for href, _ in page.links}
    for lang in LANGS:
        target = (site / lang / "index.html").resolve()
        assert target in targets and target.is_file(), f"index.html does not link to {lang}/index.html"


TEX_COMMAND = re.compile(r"\\(frac|sigma|log|max|sum|epsilon|approx|mathrm|dots|cdot)\b")


@pytest.mark.parametrize("nb_path", NOTEBOOK_PATHS, ids=ids(NOTEBOOK_PATHS))
def test_math_is_rendered_as_mathml(site, nb_path):
    """Offline there is no MathJax: every formula must already be MathML, none left as TeX source."""
    lang, stem = nb_path.parent.name, nb_path.stem
    html_text = (site / lang / f"{stem}.html").read_text(encoding="utf-8")
    markdown = "\n".join(c.source for c in nbformat.read(nb_path, as_version=4).cells if c.cell_type == "markdown")
    prose = re.sub(r"`[^`]*`", "", markdown)  # TeX-like text inside code spans is code, not math
    if "$" in prose:
        assert "<math" in html_text, f"{lang}/{stem}.html: the notebook has math but the page has no MathML"
    # the rendered markdown, without code (pre/code blocks may hold backslashes legitimately)
    rendered = re.sub(r"<(pre|code)[^>]*>.*?</\1>", "", html_text, flags=re.S)
    rendered = re.sub(r"<div class=\"jp-InputArea.*?</div>\s*</div>\s*</div>", "", rendered, flags=re.S)
    leftovers = [m.group(0) for m in TEX_COMMAND.finditer(re.sub(r"<[^>]+>", " ", rendered))]
    assert not leftovers, f"{lang}/{stem}.html shows raw TeX: {leftovers[:5]}"
