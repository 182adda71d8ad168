"""The static site (`make html`): every notebook rendered, linked to its twin, offline.

Builds the site once into a temporary folder from LOSSVIZ_NOTEBOOKS (default: notebooks/).
"""

from __future__ import annotations

import base64
import html
import importlib.util
import io
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


# --- the site's own Hangul font --------------------------------------------------------------------

FONT_FAMILY = "lossviz Hangul"
HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff]")


def test_site_ships_a_hangul_font_for_every_hangul_character(site):
    """site/fonts/hangul.woff holds every Hangul character of every page; hangul.css carries it."""
    from fontTools.ttLib import TTFont

    fonts = site / "fonts"
    font_files = sorted(fonts.glob("hangul.woff")) + sorted(fonts.glob("hangul.ttf"))
    assert len(font_files) == 1, f"expected one font file in {fonts}, found {font_files}"
    font = font_files[0]
    covered = set(TTFont(font).getBestCmap())
    used = {c for page in site.rglob("*.html") for c in HANGUL.findall(page.read_text(encoding="utf-8"))}
    assert used, "no Hangul on any page: is the Korean half of the site missing?"
    missing = sorted(c for c in used if ord(c) not in covered)
    assert not missing, f"{len(missing)} Hangul characters the font lacks: {''.join(missing[:20])}"

    css = (fonts / "hangul.css").read_text(encoding="utf-8")
    assert f'font-family: "{FONT_FAMILY}"' in css and "unicode-range:" in css
    embedded = re.search(r'url\("data:font/(?:woff|ttf);base64,([A-Za-z0-9+/=]+)"\)', css)
    assert embedded, "hangul.css does not embed the font (a page opened from disk may not load font files)"
    assert base64.b64decode(embedded.group(1)) == font.read_bytes(), "hangul.css embeds another font"
    assert f'url("{font.name}")' in css
    assert "Open Font License" in (fonts / "NOTICE.txt").read_text(encoding="utf-8")


def _font_stylesheet(page_path: Path, page: Page) -> Path | None:
    for href in page.stylesheets:
        target = link_target(page_path, href)
        if target is not None and target.name == "hangul.css":
            return target
    return None


@pytest.mark.parametrize("nb_path", NOTEBOOK_PATHS, ids=ids(NOTEBOOK_PATHS))
def test_page_uses_the_hangul_font(site, nb_path):
    lang, stem = nb_path.parent.name, nb_path.stem
    page_path = site / lang / f"{stem}.html"
    text, page = read_page(page_path)
    sheet = _font_stylesheet(page_path, page)
    assert sheet is not None and sheet.is_file(), f"{lang}/{stem}.html does not link fonts/hangul.css"
    for variable in ("--jp-content-font-family", "--jp-code-font-family"):
        assert re.search(rf'{variable}:\s*"{FONT_FAMILY}"', text), (
            f"{lang}/{stem}.html: {variable} does not start with \"{FONT_FAMILY}\"")


def test_index_pages_use_the_hangul_font(site):
    for index_path in [site / "index.html"] + [site / lang / "index.html" for lang in LANGS]:
        text, page = read_page(index_path)
        sheet = _font_stylesheet(index_path, page)
        assert sheet is not None and sheet.is_file(), f"{index_path} does not link fonts/hangul.css"
        assert f'font-family: "{FONT_FAMILY}"' in text


# --- predict-first answers: <details> blocks render as HTML with markdown inside ---------------------

def _details_count(nb) -> int:
    return sum(len(re.findall(r"^\s*<details>", c.source, re.M)) for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("nb_path", NOTEBOOK_PATHS, ids=ids(NOTEBOOK_PATHS))
def test_details_blocks_render_on_the_page(site, nb_path):
    lang, stem = nb_path.parent.name, nb_path.stem
    expected = _details_count(nbformat.read(nb_path, as_version=4))
    if not expected:
        pytest.skip(f"{lang}/{stem} has no <details> block")
    text = (site / lang / f"{stem}.html").read_text(encoding="utf-8")
    assert "&lt;details" not in text and "&lt;summary" not in text, (
        f"{lang}/{stem}.html shows a <details> tag as text")
    blocks = re.findall(r"<details>(.*?)</details>", text, re.S)
    assert len(blocks) == expected, f"{lang}/{stem}.html: {len(blocks)} <details> elements, notebook {expected}"
    for block in blocks:
        assert re.match(r"\s*<summary>[^<]+</summary>", block), f"no <summary> first in: {block[:120]}"
        answer = block.split("</summary>", 1)[1]
        assert re.search(r"<(p|ul|ol|pre|table)\b", answer), (
            f"the answer is not rendered as markdown: {answer[:160]}")
        visible = re.sub(r"<(code|math)\b.*?</\1>", "", answer, flags=re.S)
        assert "**" not in visible and "$" not in visible, f"raw markdown or TeX left: {visible[:160]}"


# --- in a browser with no Korean font on the system ---------------------------------------------------

CHROMIUM = os.environ.get("LOSSVIZ_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("LOSSVIZ_REQUIRE_BROWSER") == "1"


def _no_korean_fontconfig(directory: Path) -> Path:
    """The system's fontconfig minus every font that covers Korean: a PC without a Korean font."""
    conf = directory / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        "  <selectfont><rejectfont><pattern><patelt name=\"lang\"><string>ko</string></patelt>"
        "</pattern></rejectfont></selectfont>\n"
        f"  <cachedir>{directory / 'cache'}</cachedir>\n</fontconfig>\n", encoding="utf-8")
    return conf


# Two Hangul characters of the page's title, drawn in the font of the page's prose and in sans-serif (the
# system's fonts only), and a private-use character that no font has: what a missing glyph looks like.
MEASURE_GLYPHS = """() => {
  const hangul = [...new Set([...document.title].filter(c => c >= '\\uac00' && c <= '\\ud7a3'))].slice(0, 2);
  // where the page's prose is: a notebook's rendered markdown, or an index page's body
  const prose = document.querySelector('.jp-RenderedHTMLCommon') || document.body;
  const add = (id, text, family) => {
    const span = document.createElement('span');
    span.id = id; span.textContent = text; span.style.fontSize = '48px';
    if (family) span.style.fontFamily = family;
    prose.prepend(span);
  };
  hangul.forEach((c, i) => { add('page' + i, c, null); add('system' + i, c, 'sans-serif'); });
  add('missing', '\\ue000', 'sans-serif');
  return hangul;
}"""


@pytest.mark.browser
@pytest.mark.parametrize("relative", ["ko/index.html", "ko/08_mixed_precision.html"])
def test_hangul_renders_without_a_korean_font_on_the_computer(site, tmp_path, relative):
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) or \
            importlib.util.find_spec("playwright") is None:
        reason = f"needs Playwright and Chromium at {CHROMIUM}"
        if REQUIRE_BROWSER:
            pytest.fail(f"LOSSVIZ_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    if not (site / relative).is_file():
        pytest.skip(f"no page {relative}")
    from PIL import Image
    from playwright.sync_api import sync_playwright

    env = dict(os.environ, FONTCONFIG_FILE=str(_no_korean_fontconfig(tmp_path)))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, env=env,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(device_scale_factor=1)
            page.goto((site / relative).resolve().as_uri())
            hangul = page.evaluate(MEASURE_GLYPHS)
            assert len(hangul) == 2, f"{relative}: expected Hangul in the title, got {page.title()!r}"
            page.evaluate("document.fonts.ready.then(() => true)")
            loaded = page.evaluate("[...document.fonts].filter(f => f.family.includes("
                                   f"'{FONT_FAMILY}')).map(f => f.status)")
            widths = {name: page.locator(f"#{name}").bounding_box()["width"]
                      for name in ("page0", "page1", "system0", "system1", "missing")}
            shots = [Image.open(io.BytesIO(page.locator(f"#page{i}").screenshot())).convert("L")
                     for i in range(2)]
        finally:
            browser.close()
    # The control: without the site's font this computer draws Hangul as missing-glyph boxes.
    assert abs(widths["system0"] - widths["missing"]) <= 2, (
        f"a Korean font is still visible to the browser (widths {widths}); the test proves nothing")
    assert loaded == ["loaded"], f"{relative}: the site's font did not load: {loaded}"
    for i in range(2):
        assert widths[f"page{i}"] >= 0.8 * 48 and abs(widths[f"page{i}"] - widths["missing"]) > 8, (
            f"{relative}: {hangul[i]!r} is drawn {widths[f'page{i}']:.0f} px wide, a box is "
            f"{widths['missing']:.0f} px: still a missing glyph")
    assert shots[0].size != shots[1].size or shots[0].tobytes() != shots[1].tobytes(), (
        f"{relative}: {hangul[0]!r} and {hangul[1]!r} look the same")


# --- parts a notebook keeps collapsed (the setup cell) stay collapsed on the page -----------------

COLLAPSED = re.compile(r'<details class="lossviz-collapsed lossviz-collapsed-(input|output)">\s*'
                       r"<summary>(.*?)</summary>(.*?)</details>", re.S)


def _collapsed(text: str, part: str) -> list[tuple[str, str]]:
    """(summary, body) of each collapsed input or output of a page."""
    return [(html.unescape(summary), body) for kind, summary, body in COLLAPSED.findall(text)
            if kind == part]


@pytest.mark.parametrize("nb_path", NOTEBOOK_PATHS, ids=ids(NOTEBOOK_PATHS))
def test_code_collapsed_in_the_notebook_is_collapsed_on_the_page(site, nb_path):
    lang, stem = nb_path.parent.name, nb_path.stem
    hidden = [c for c in nbformat.read(nb_path, as_version=4).cells
              if c.cell_type == "code" and c.metadata.get("jupyter", {}).get("source_hidden")]
    if not hidden:
        pytest.skip(f"{lang}/{stem} has no collapsed code cell")
    text = (site / lang / f"{stem}.html").read_text(encoding="utf-8")
    collapsed = _collapsed(text, "input")
    assert len(collapsed) == len(hidden), (
        f"{lang}/{stem}.html: {len(collapsed)} collapsed inputs, the notebook has {len(hidden)}")
    shown = COLLAPSED.sub("", text)
    for cell, (summary, body) in zip(hidden, collapsed):
        # Colab's form title (`# @title ...`) when the cell has one, as on Colab.
        title = re.search(r"^#\s*@title\s+(.+?)\s*$", cell.source, re.M)
        label = {"en": "Code (collapsed in the notebook)", "ko": "코드 (노트북에서 접혀 있음)"}
        assert summary == (title.group(1) if title else label[lang]), (
            f"{lang}/{stem}.html: summary {summary!r}")
        if lang == "ko":
            assert re.search(r"[가-힣]", summary), f"ko/{stem}.html: summary not in Korean: {summary}"
        # The longest line of the cell's code is on the page only inside the <details>.
        longest = max((line for line in cell.source.splitlines() if not line.startswith("#")),
                      key=len)
        in_body = html.unescape(re.sub(r"<[^>]+>", "", body))
        assert longest.strip() in in_body, f"{lang}/{stem}.html: the code is not inside <details>"
        outside = html.unescape(re.sub(r"<[^>]+>", "", shown))
        assert longest.strip() not in outside, (
            f"{lang}/{stem}.html shows the collapsed code outside its <details>: {longest!r}")


def test_collapsed_parts_without_a_title_get_a_label_in_the_notebooks_language(tmp_path):
    notebooks = tmp_path / "notebooks"
    for lang in LANGS:
        nb = nbformat.v4.new_notebook()
        nb.cells = [
            nbformat.v4.new_markdown_cell("# 01 · Scratch"),
            nbformat.v4.new_code_cell("secret_setup_value = 41", metadata={
                "jupyter": {"source_hidden": True}}, execution_count=1),
            nbformat.v4.new_code_cell("print('long listing')", execution_count=2, metadata={
                "jupyter": {"outputs_hidden": True}}, outputs=[nbformat.v4.new_output(
                    "stream", name="stdout", text="hidden_output_line\n")]),
            nbformat.v4.new_code_cell("visible_code = 1", execution_count=3),
        ]
        (notebooks / lang).mkdir(parents=True)
        nbformat.write(nb, notebooks / lang / "01_scratch.ipynb")
    site = tmp_path / "site"
    _load_build_site().build(notebooks, site)
    expected = {"en": ("Code (collapsed in the notebook)", "Output (collapsed in the notebook)"),
                "ko": ("코드 (노트북에서 접혀 있음)", "출력 (노트북에서 접혀 있음)")}
    for lang in LANGS:
        text = (site / lang / "01_scratch.html").read_text(encoding="utf-8")
        (code_summary, code), = _collapsed(text, "input")
        (output_summary, output), = _collapsed(text, "output")
        assert (code_summary, output_summary) == expected[lang]
        assert "secret_setup_value" in code and "hidden_output_line" in output
        shown = COLLAPSED.sub("", text)
        assert "secret_setup_value" not in shown and "hidden_output_line" not in shown
        assert "visible_code" in shown and "long listing" in shown
