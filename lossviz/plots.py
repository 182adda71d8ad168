"""Figure builders: data in, matplotlib Figure out, and the fast path that keeps a figure alive.

Figures are built with ``matplotlib.figure.Figure`` (never pyplot), so a notebook shows each one
once, as the cell's value, with a stable ``text/plain`` for nbval; Hangul renders in NanumGothic.
A :class:`Figure` shows as a PNG at twice its pixel density, displayed at its nominal size (the
PNG's metadata carries width and height), so it stays sharp on a projector and a HiDPI laptop.

:class:`LiveFigure` renders a figure again and again: a full draw (text layout dominates, about
80 ms for three panels on a 2-core machine) only when the frame changes (limits, ticks);
otherwise the cached background is restored and only the data artists are drawn. A text that
changes is drawn once per (content, place, pixels beneath) and pasted from a cache afterwards, and
the frame is sent as a 64-colour palette PNG (about 3 ms and 15-25 KB; see
benchmarks/browser_latency.py for the comparison with WebP and plain PNG).
"""
from __future__ import annotations

import io
import math
from typing import Iterable, Sequence

import matplotlib
import matplotlib.figure
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from PIL import Image

from . import i18n

# Okabe & Ito's colour-blind-safe palette; every series also differs in line style (LINESTYLES),
# so two curves never rely on hue alone.
PALETTE = {"textbook": "#D55E00", "torch": "#E69F00", "stable": "#0072B2", "exact": "#000000",
           "log_form": "#CC79A7", "positive": "#009E73", "negative": "#666666", "inf": "#D55E00",
           "nan": "#56B4E9", "neutral": "#444444"}
LINESTYLES = {"textbook": ":", "torch": "--", "stable": "-", "exact": "-", "log_form": "-.",
              "positive": "-", "negative": "--"}

# Text at least 11 pt at the displayed size (at 80 dpi a point is 1.1 CSS pixel).
FONT_SIZES = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "xtick.labelsize": 10.5,
              "ytick.labelsize": 10.5, "legend.fontsize": 10.5, "figure.facecolor": "white",
              "savefig.facecolor": "white", "axes.facecolor": "white"}
SNAPSHOT_SCALE = 2  # pixel density of the PNG a notebook stores


def use_readable_defaults() -> None:
    """Font sizes a projector can show and an opaque white background (legible in a dark theme)."""
    i18n.use_hangul_font()
    matplotlib.rcParams.update(FONT_SIZES)


def snapshot_png(figure: matplotlib.figure.Figure, scale: int = SNAPSHOT_SCALE) -> tuple[bytes, dict]:
    """``figure`` as a PNG at ``scale`` times its pixel density, and the size to display it at.

    IPython passes the dictionary on as the output's metadata, so a notebook (JupyterLab, GitHub,
    nbconvert) shows the picture at the figure's own size with ``scale`` times the pixels.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi * scale, facecolor="white")
    width, height = figure.get_size_inches() * figure.dpi
    return buffer.getvalue(), {"width": int(round(width)), "height": int(round(height))}


# matplotlib's symlog maps |v| <= linthresh to v * linscale / (1 - 1/base) and beyond to
# linthresh * (that + log_base(|v| / linthresh)): the slopes meet when linscale = (1 - 1/base) / ln(base).
# With the default linscale = 1 the slope jumps 2.6-fold at linthresh, a false kink in a smooth curve.
SMOOTH_LINSCALE = (1 - 1 / 10) / math.log(10)


def symlog(axes, which: str = "y", linthresh: float = 1.0) -> None:
    """A symmetric log scale without a false kink at ``linthresh`` (see SMOOTH_LINSCALE)."""
    setter = axes.set_yscale if which == "y" else axes.set_xscale
    setter("symlog", linthresh=linthresh, linscale=SMOOTH_LINSCALE)


class Figure(matplotlib.figure.Figure):
    """A matplotlib Figure that IPython shows as a sharp PNG, with or without pyplot's inline backend."""

    def _repr_png_(self):
        return snapshot_png(self)


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 10.0, height: float = 3.4, dpi: int = 80,
               **grid):
    """A :class:`Figure` with a grid of axes (a flat list) and the Hangul font ready.

    Sized for a notebook column and readable on a projector: 10 x 3.4 inches at 80 dpi is shown
    800 x 272 pixels large (stored at twice that density), text 11 pt and up on a white
    background. Put the figure as the last expression of a cell to show it. ``grid`` goes to
    ``Figure.subplots`` (``height_ratios=``, ``sharex=``...).
    """
    use_readable_defaults()
    figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained", facecolor="white")
    FigureCanvasAgg(figure)
    axes = figure.subplots(nrows, ncols, squeeze=False, **grid).ravel().tolist()
    return figure, axes


# --- frames for a live widget ------------------------------------------------------------------

FRAME_ENCODINGS = ("palette", "webp", "png")
FRAME_ENCODING = "palette"  # chosen by benchmarks/browser_latency.py; the others stay for comparison
PALETTE_COLOURS = 64


def frame_format(encoding: str | None = None) -> str:
    """The ``ipywidgets.Image`` format for frames in ``encoding``."""
    return "webp" if (encoding or FRAME_ENCODING) == "webp" else "png"


def encode_frame(canvas: FigureCanvasAgg, encoding: str | None = None) -> bytes:
    """What the canvas holds now, as one widget frame.

    "palette": 64 colours (fast octree, no dithering) and zlib level 1: the figure's few flat
    colours survive exactly, anti-aliased edges within a few levels (PSNR about 42-45 dB).
    "webp": lossless WebP at its fastest setting. "png": lossless RGB PNG, zlib level 1.
    """
    encoding = encoding or FRAME_ENCODING
    if encoding not in FRAME_ENCODINGS:
        raise ValueError(f"encode_frame(): encoding must be one of {FRAME_ENCODINGS}, got {encoding!r}")
    width, height = canvas.get_width_height()
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
    buffer = io.BytesIO()
    if encoding == "palette":
        image = image.quantize(PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        # the octree averages its boxes: the white background came out 254; snap near-white and
        # near-black entries back, so the page behind the figure and the text stay exact
        colours = np.asarray(image.getpalette()[: 3 * PALETTE_COLOURS], dtype=np.int16).reshape(-1, 3)
        colours[(colours >= 250).all(axis=1)] = 255
        colours[(colours <= 5).all(axis=1)] = 0
        image.putpalette(colours.astype(np.uint8).ravel().tolist())
        image.save(buffer, format="png", compress_level=1)
    elif encoding == "webp":
        image.save(buffer, format="webp", lossless=True, quality=0, method=0)
    else:
        image.save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def png_bytes(canvas: FigureCanvasAgg) -> bytes:
    """Lossless PNG of what the canvas holds now (zlib level 1)."""
    return encode_frame(canvas, "png")


class TextSprites:
    """Pastes a text's pixels from a cache instead of laying it out and rasterising it again.

    A text's pixels depend only on what it says, its style, where it lands and the pixels beneath
    it, so the cache key holds all four (the pixels as a hash of that rectangle just before the
    text is drawn). A hit is a copy of a few hundred bytes instead of about 1 ms of layout.
    """

    PAD = 2  # pixels around the text's extent: anti-aliasing reaches a little beyond it

    def __init__(self, limit: int = 4000):
        self.limit = limit
        self._boxes: dict = {}
        self._sprites: dict = {}
        self.hits = self.misses = 0

    @staticmethod
    def _key(text: Text, renderer) -> tuple:
        anchor = text.get_transform().transform(text.get_unitless_position())
        return (id(text), text.get_text(), round(float(anchor[0]), 3), round(float(anchor[1]), 3),
                text.get_color(), text.get_fontsize(), text.get_fontweight(), text.get_ha(), text.get_va(),
                text.get_rotation(), text.get_alpha(), renderer.width, renderer.height)

    def _box(self, text: Text, renderer):
        extent = text.get_window_extent(renderer)
        height = int(renderer.height)
        c0 = max(0, int(math.floor(extent.x0)) - self.PAD)
        c1 = min(int(renderer.width), int(math.ceil(extent.x1)) + self.PAD)
        r0 = max(0, height - int(math.ceil(extent.y1)) - self.PAD)
        r1 = min(height, height - int(math.floor(extent.y0)) + self.PAD)
        return (r0, r1, c0, c1) if r1 > r0 and c1 > c0 else None

    def draw(self, text: Text, renderer, pixels: np.ndarray) -> None:
        if text.get_bbox_patch() is not None or not text.get_text():
            text.draw(renderer)  # a boxed text reaches beyond its extent: drawn as usual
            return
        key = self._key(text, renderer)
        if key not in self._boxes:
            self._boxes[key] = self._box(text, renderer)
        box = self._boxes[key]
        if box is None:
            return  # entirely off the canvas
        r0, r1, c0, c1 = box
        region = pixels[r0:r1, c0:c1]
        sprite_key = (key, hash(region.tobytes()))
        sprite = self._sprites.get(sprite_key)
        if sprite is not None:
            region[...] = sprite
            self.hits += 1
            return
        text.draw(renderer)
        self.misses += 1
        if len(self._sprites) >= self.limit:
            self._sprites.clear()
            self._boxes.clear()
        self._sprites[sprite_key] = region.copy()


class LiveFigure:
    """Renders ``figure`` as widget frames repeatedly, redrawing only ``dynamic`` artists when it can."""

    def __init__(self, figure: matplotlib.figure.Figure, dynamic: Sequence, encoding: str | None = None,
                 groups: Sequence = ()):
        """``groups``: objects with ``.axes``, ``.artists`` and ``.key()`` that alone draw into their
        axes; their pixels are cached per key (and per frame), so a repeated state is a paste."""
        self.figure = figure
        self.canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
        self.groups = list(groups)
        grouped = {id(a) for group in self.groups for a in group.artists}
        self.dynamic = [a for a in dynamic if id(a) not in grouped] + [a for g in self.groups for a in g.artists]
        self._group_pixels: dict = {}
        self.encoding = encoding or FRAME_ENCODING
        self.sprites = TextSprites()
        self._background = None
        self.full_draws = 0

    def render(self, frame_changed: bool) -> bytes:
        self.draw(frame_changed)
        return encode_frame(self.canvas, self.encoding)

    def draw(self, frame_changed: bool) -> None:
        """The current figure into the canvas: background from the cache, then the data artists."""
        if frame_changed or self._background is None:
            self._draw_frame()
        else:
            self.canvas.restore_region(self._background)
        renderer = self.canvas.get_renderer()
        pixels = np.asarray(renderer.buffer_rgba())
        skip = set()
        for group in self.groups:
            skip.update(id(a) for a in group.artists)
            self._draw_group(group, renderer, pixels)
        for artist in self.dynamic:
            if not artist.get_visible() or id(artist) in skip:
                continue
            if isinstance(artist, Text):
                self.sprites.draw(artist, renderer, pixels)
            else:
                artist.draw(renderer)

    def _draw_group(self, group, renderer, pixels) -> None:
        extent = group.axes.get_window_extent(renderer)
        height = int(renderer.height)
        r0, r1 = max(0, height - int(math.ceil(extent.y1)) - 1), min(height, height - int(math.floor(extent.y0)) + 1)
        c0, c1 = max(0, int(math.floor(extent.x0)) - 1), min(int(renderer.width), int(math.ceil(extent.x1)) + 1)
        key = (id(group), group.key(), self.full_draws, renderer.width, renderer.height)
        cached = self._group_pixels.get(key)
        if cached is not None:
            pixels[r0:r1, c0:c1] = cached
            return
        for artist in group.artists:
            if artist.get_visible():
                artist.draw(renderer)
        if len(self._group_pixels) > 256:
            self._group_pixels.clear()
        self._group_pixels[key] = pixels[r0:r1, c0:c1].copy()

    def snapshot(self) -> tuple[bytes, dict]:
        """The current figure at :data:`SNAPSHOT_SCALE` times the pixel density (for the notebook
        file); the live canvas is redrawn afterwards, so the next frame stays a cheap update."""
        result = snapshot_png(self.figure)
        self._background = None
        self.draw(frame_changed=True)
        return result

    def _draw_frame(self):
        shown = [a.get_visible() for a in self.dynamic]
        for artist in self.dynamic:
            artist.set_visible(False)
        self.canvas.draw()
        if self.figure.get_layout_engine() is not None:
            # Lay out once; later frames keep the margins (constrained layout doubles a draw's cost).
            self.figure.set_layout_engine("none")
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        for artist, visible in zip(self.dynamic, shown):
            artist.set_visible(visible)
        self.full_draws += 1


def steady_limit(current: float | None, needed: float, *, slack: float = 3.0) -> float:
    """An axis bound that changes rarely: a 1-2-5 step at or above ``needed``, kept while ``needed``
    stays between ``current / slack`` and ``current``. Each change costs a full redraw."""
    if current is not None and current / slack <= needed <= current:
        return current
    if not math.isfinite(needed) or needed <= 0:
        return current if current is not None else 1.0
    exponent = math.floor(math.log10(needed))
    for step in (1, 2, 5, 10):
        bound = step * 10.0 ** exponent
        if bound >= needed:
            return bound
    return 10.0 ** (exponent + 1)


def intervals(x: np.ndarray, mask: np.ndarray) -> list[tuple[float, float]]:
    """Contiguous stretches of ``x`` where ``mask`` holds, widened to the neighbouring midpoints."""
    x = np.asarray(x, dtype=float)
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    starts, stops = edges[::2], edges[1::2] - 1
    half = np.diff(x) / 2
    result = []
    for start, stop in zip(starts, stops):
        low = x[start] - (half[start - 1] if start > 0 else 0)
        high = x[stop] + (half[stop] if stop < len(half) else 0)
        result.append((float(low), float(high)))
    return result


class SpanPool:
    """Shaded vertical bands with a label each, reused across updates (no artists created later)."""

    def __init__(self, axes, color: str, size: int = 4, alpha: float = 0.15, label_height: float = 0.96):
        self.spans = []
        self.labels = []
        self.label_height = label_height  # in axes fraction: where the band's name sits
        for _ in range(size):
            span = Rectangle((0, 0), 0, 1, transform=axes.get_xaxis_transform(), color=color, alpha=alpha,
                             linewidth=0, visible=False)
            axes.add_patch(span)
            label = axes.text(0, label_height, "", transform=axes.get_xaxis_transform(), ha="center", va="top",
                              color=color, fontsize=10, fontweight="bold", visible=False, clip_on=True)
            self.spans.append(span)
            self.labels.append(label)

    @property
    def artists(self) -> list:
        return self.spans + self.labels

    def update(self, stretches: Iterable[tuple[float, float]], text: str) -> None:
        stretches = list(stretches)[: len(self.spans)]
        for index, (span, label) in enumerate(zip(self.spans, self.labels)):
            visible = index < len(stretches)
            span.set_visible(visible)
            label.set_visible(visible)
            if visible:
                low, high = stretches[index]
                span.set_x(low)
                span.set_width(high - low)
                # the middle on screen (on a log axis the arithmetic middle sits near the right end)
                to_screen = span.axes.transData
                left, right = (to_screen.transform((v, 0))[0] for v in (low, high))
                label.set_position((to_screen.inverted().transform(((left + right) / 2, 0))[0], self.label_height))
                label.set_text(text)


def training_curves(histories: dict, title: str, *, metrics: Sequence[str] | None = None,
                    metric_labels: dict | None = None, xlabel: str | None = None, logy: Sequence[str] = ()):
    """One panel per metric, one line per run: ``histories = {run: {metric: [value per step]}}``.

    ``metric_labels`` maps a metric to its axis label (in the notebook's language); metrics named
    in ``logy`` get a log scale. Returns the Figure.
    """
    if not histories:
        raise ValueError("training_curves(): argument 'histories' must hold at least one run, got none")
    metrics = list(metrics or next(iter(histories.values())).keys())
    figure, axes = new_figure(ncols=len(metrics), height=3.2)
    labels = metric_labels or {}
    step_label = xlabel or i18n.pick({"en": "step", "ko": "스텝"})
    for axis, metric in zip(axes, metrics):
        for run, history in histories.items():
            values = np.asarray(history[metric], dtype=float)
            axis.plot(np.arange(1, len(values) + 1), values, label=str(run))
        axis.set_xlabel(step_label)
        axis.set_ylabel(labels.get(metric, metric))
        if metric in logy:
            axis.set_yscale("log")
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.suptitle(title)
    return figure


class ClassBars:
    """Bars for K classes (one group per class, one bar per series) on a fixed [0, 1] x axis.

    Each series is one PolyCollection (one draw call for all K bars). A value that is not finite
    has no height: its bar runs through the whole panel in the colour and hatch of its kind
    (NONFINITE_STYLE: +inf, −inf, NaN, −NaN), which a legend names (``nonfinite_handles``), so no
    text has to squeeze into a slot at large K. Changing K moves bars and their class labels, both
    plain artists, so the frame (limits, ticks) never changes and the update stays a cheap blit.
    """

    def __init__(self, axes, series: dict, capacity: int, *, label_offset: float = -0.035):
        from matplotlib.collections import PolyCollection
        self.axes = axes
        axes.set_xlim(0, 1)
        axes.set_xticks([])
        axes.xaxis.labelpad = 18  # room for the class labels drawn below the axes
        self.series = {}
        for name, style in series.items():
            style = dict(style)
            if style.pop("fill", True) is False:
                style["facecolor"] = "none"
            self.series[name] = axes.add_collection(PolyCollection([], **style))
        self.nonfinite = {kind: hatched_boxes(axes, style) for kind, style in NONFINITE_STYLE.items()}
        self.labels = [axes.text(0, label_offset, "", transform=axes.get_xaxis_transform(), ha="center", va="top",
                                 fontsize=10, visible=False) for _ in range(capacity)]
        self.capacity = capacity
        self.boxes: dict = {}
        self.kinds: dict = {}

    @property
    def artists(self) -> list:
        return list(self.series.values()) + list(self.nonfinite.values()) + self.labels

    def centers(self, classes: int) -> np.ndarray:
        return (np.arange(classes) + 0.5) / classes

    def update(self, values: dict, classes: int) -> None:
        """``values[name]`` holds K values (bars start at 0; negative ones go down; ±inf and NaN
        are drawn through the panel, styled by their kind)."""
        slot = 1.0 / classes
        width = 0.8 * slot / len(self.series)
        bottom_limit, top_limit = self.axes.get_ylim()
        self.boxes, self.kinds = {}, {}
        odd = {kind: [] for kind in NONFINITE}
        for offset, name in enumerate(self.series):
            heights = values.get(name)
            plain, boxes, kinds = [], [], []
            if heights is not None:
                heights = np.asarray(heights, dtype=float)[:classes]
                masks = nonfinite_kinds(heights)
                for index in range(classes):
                    left = index * slot + 0.1 * slot + offset * width
                    kind = next((k for k, mask in masks.items() if mask[index]), "")
                    low, high = (bottom_limit, top_limit) if kind else (0.0, float(heights[index]))
                    box = [(left, low), (left + width, low), (left + width, high), (left, high)]
                    (odd[kind] if kind else plain).append(box)
                    boxes.append((left, width, high))
                    kinds.append(kind)
            self.series[name].set_verts(plain)
            self.series[name].set_visible(bool(plain))
            self.boxes[name], self.kinds[name] = boxes, kinds
        for kind, bars in self.nonfinite.items():
            set_boxes(bars, odd[kind])
        step = 1 if classes <= 10 else 2
        for index, label in enumerate(self.labels):
            label.set_visible(index < classes and index % step == 0)
            label.set_text(str(index))
            label.set_x((index + 0.5) * slot)


def note_line(figure: matplotlib.figure.Figure, lines: int = 1, fontsize: float = 10.5):
    """A text line across the top of ``figure``, above every axes (so a note never covers data).

    Reserves the room in the constrained layout; returns the Text (empty) to fill in later.
    """
    height_points = figure.get_figheight() * 72
    top = 1 - (lines * fontsize * 1.3 + 6) / height_points
    figure.get_layout_engine().set(rect=(0, 0, 1, top))
    return figure.text(0.006, 0.994, "", ha="left", va="top", fontsize=fontsize, color="#222222")


# --- non-finite values, named ----------------------------------------------------------------------

NONFINITE = ("+inf", "−inf", "NaN", "−NaN")
# dark colours no data series uses (Tol's wine and indigo, two greys), each with its own hatch
NONFINITE_STYLE = {"+inf": dict(facecolor="#882255", hatch="////"), "−inf": dict(facecolor="#332288", hatch="\\\\\\\\"),
                   "NaN": dict(facecolor="#999999", hatch="xx"), "−NaN": dict(facecolor="#555555", hatch="..")}


def hatched_boxes(axes, style: dict):
    """An empty collection for boxes in one NONFINITE_STYLE, filled by :func:`set_boxes`."""
    from matplotlib.collections import PathCollection
    return axes.add_collection(PathCollection([], edgecolor="white", linewidth=0.5, **style))


def set_boxes(collection, polygons) -> None:
    """Gives ``collection`` these closed polygons as one compound path, hidden when there are none.

    Agg hatches every path of a collection on its own: 9 full-height bars hatched '..' cost 6.8 ms
    to draw as 9 paths and 1.3 ms as one compound path (same pixels: the hatch is laid out on the
    canvas, not per bar), which at K = 9 was half of the softmax explorer's update."""
    from matplotlib.path import Path
    paths = [Path(np.concatenate([polygon, polygon[:1]]), closed=True)
             for polygon in (np.asarray(p, dtype=float) for p in polygons)]
    collection.set_paths([Path.make_compound_path(*paths)] if paths else [])
    collection.set_visible(bool(paths))  # an empty collection still costs a draw


def nonfinite_kinds(values) -> dict:
    """Masks of +inf, −inf, NaN and NaN with its sign bit set (what torch returned, sign included)."""
    values = np.asarray(values, dtype=float)
    nan = np.isnan(values)
    return {"+inf": np.isposinf(values), "−inf": np.isneginf(values), "NaN": nan & ~np.signbit(values),
            "−NaN": nan & np.signbit(values)}


def nonfinite_handles(kinds: Sequence[str] = NONFINITE) -> list:
    """Legend patches naming each kind of non-finite value."""
    from matplotlib.patches import Patch
    return [Patch(edgecolor="white", label=kind, **NONFINITE_STYLE[kind]) for kind in kinds]


class NonFiniteStrip:
    """A strip axes under a panel, one row per curve, marking where each curve is +inf, −inf or NaN.

    Rows are named on the y axis (static); each stretch is a hatched bar in its kind's colour with
    its name written inside when it fits, so stretches never hide each other and labels never
    collide. An empty row says: finite everywhere.
    """

    def __init__(self, axes, rows: dict, labels_per_row: int = 4):
        self.axes = axes
        self.rows = list(rows)
        axes.set_ylim(len(self.rows) - 0.5, -0.5)
        axes.set_yticks(range(len(self.rows)), [rows[r] for r in self.rows])
        axes.tick_params(axis="y", length=0)
        axes.grid(False)
        self.bars = {kind: hatched_boxes(axes, style) for kind, style in NONFINITE_STYLE.items()}
        self.labels = [axes.text(0, 0, "", ha="center", va="center", fontsize=10, fontweight="bold", color="white",
                                 visible=False, clip_on=True, bbox=dict(edgecolor="none", pad=1.0))
                       for _ in range(labels_per_row * len(self.rows))]
        self.stretches: dict = {}
        self._key = None

    @property
    def artists(self) -> list:
        return list(self.bars.values()) + self.labels

    def key(self):
        """Changes exactly when what the strip shows changes (for LiveFigure's pixel cache)."""
        return self._key

    def update(self, x: np.ndarray, values: dict) -> None:
        """``values[row]``: the curve's values at ``x``."""
        polygons = {kind: [] for kind in NONFINITE}
        placed = []
        self.stretches = {}
        for index, row in enumerate(self.rows):
            for kind, mask in nonfinite_kinds(values[row]).items():
                stretches = intervals(x, mask)
                self.stretches[(row, kind)] = stretches
                for low, high in stretches:
                    polygons[kind].append([(low, index - 0.4), (high, index - 0.4), (high, index + 0.4), (low, index + 0.4)])
                    placed.append(((low + high) / 2, index, high - low, kind))
        self._key = hash((tuple(self.axes.get_xlim()),
                          tuple((key, tuple(v)) for key, v in sorted(self.stretches.items()) if v)))
        for kind, bars in self.bars.items():
            set_boxes(bars, polygons[kind])
        # a name inside its stretch when the stretch is wide enough for it (the legend names the rest)
        low, high = self.axes.get_xlim()
        axes_px = self.axes.get_window_extent().width or 1.0
        pool = iter(self.labels)
        for center, row, width, kind in placed:
            if width / (high - low) * axes_px < 8 * len(kind) + 8:
                continue
            label = next(pool, None)
            if label is None:
                break
            label.set_text(kind)
            label.set_position((center, row))
            label.set_color("black" if kind == "NaN" else "white")
            label.get_bbox_patch().set_facecolor(NONFINITE_STYLE[kind]["facecolor"])
            label.set_visible(True)
        for label in pool:
            label.set_visible(False)
