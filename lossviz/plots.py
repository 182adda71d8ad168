"""Figure builders: data in, matplotlib Figure out, and the fast path that keeps a figure alive.

Figures are built with ``matplotlib.figure.Figure`` (never pyplot), so a notebook shows each one
once, as the cell's value, with a stable ``text/plain`` for nbval; Hangul renders in NanumGothic.

:class:`LiveFigure` renders a figure to PNG again and again: a full draw (text layout dominates,
about 80 ms for three panels on a 2-core machine) only when the frame changes (limits, ticks);
otherwise the cached background is restored and only the data artists are drawn (about 8 ms).
"""
from __future__ import annotations

import io
import math
from typing import Iterable, Sequence

import matplotlib.figure
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.patches import Rectangle
from PIL import Image

from . import i18n

PALETTE = {"textbook": "#d62728", "torch": "#ff7f0e", "stable": "#1f77b4", "exact": "#222222",
           "log_form": "#9467bd", "positive": "#2ca02c", "negative": "#7f7f7f", "inf": "#d62728", "nan": "#9467bd"}


class Figure(matplotlib.figure.Figure):
    """A matplotlib Figure that IPython shows as a PNG, with or without pyplot's inline backend."""

    def _repr_png_(self):
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 10.0, height: float = 3.4, dpi: int = 80):
    """A :class:`Figure` with a grid of axes (a flat list) and the Hangul font ready.

    Sized for a notebook column and readable on a projector: 10 x 3.4 inches at 80 dpi is
    800 x 272 pixels. Put the figure as the last expression of a cell to show it.
    """
    i18n.use_hangul_font()
    figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    return figure, axes


def png_bytes(canvas: FigureCanvasAgg) -> bytes:
    """PNG of what the canvas holds now; fast zlib level, since a widget sends one per update."""
    width, height = canvas.get_width_height()
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


class LiveFigure:
    """Renders ``figure`` to PNG repeatedly, redrawing only ``dynamic`` artists when it can."""

    def __init__(self, figure: matplotlib.figure.Figure, dynamic: Sequence):
        self.figure = figure
        self.canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
        self.dynamic = list(dynamic)
        self._background = None
        self.full_draws = 0

    def render(self, frame_changed: bool) -> bytes:
        if frame_changed or self._background is None:
            self._draw_frame()
        else:
            self.canvas.restore_region(self._background)
        for artist in self.dynamic:
            if artist.get_visible():
                (artist.axes or self.figure).draw_artist(artist)
        return png_bytes(self.canvas)

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
                label.set_position(((low + high) / 2, self.label_height))
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
    axes[0].legend(fontsize=9)
    figure.suptitle(title)
    return figure


class ClassBars:
    """Bars for K classes (one group per class, one bar per series) on a fixed [0, 1] x axis.

    Changing K moves bars and their class labels, both plain artists, so the frame (limits,
    ticks) never changes and the update stays a cheap blit.
    """

    def __init__(self, axes, series: dict, capacity: int, *, label_offset: float = -0.035):
        axes.set_xlim(0, 1)
        axes.set_xticks([])
        axes.xaxis.labelpad = 16  # room for the class labels drawn below the axes
        self.series = {name: [axes.add_patch(Rectangle((0, 0), 0, 0, visible=False, **style)) for _ in range(capacity)]
                       for name, style in series.items()}
        self.labels = [axes.text(0, label_offset, "", transform=axes.get_xaxis_transform(), ha="center", va="top",
                                 fontsize=9, visible=False) for _ in range(capacity)]
        self.capacity = capacity

    @property
    def artists(self) -> list:
        return [bar for bars in self.series.values() for bar in bars] + self.labels

    def centers(self, classes: int) -> np.ndarray:
        return (np.arange(classes) + 0.5) / classes

    def update(self, values: dict, classes: int) -> None:
        """``values[name]`` holds K bar heights (bars start at 0; negative heights go down)."""
        slot = 1.0 / classes
        width = 0.8 * slot / len(self.series)
        for offset, (name, bars) in enumerate(self.series.items()):
            heights = values.get(name)
            for index, bar in enumerate(bars):
                visible = heights is not None and index < classes
                bar.set_visible(visible)
                if visible:
                    bar.set_bounds(index * slot + 0.1 * slot + offset * width, 0.0, width, float(heights[index]))
        step = 1 if classes <= 10 else 2
        for index, label in enumerate(self.labels):
            label.set_visible(index < classes and index % step == 0)
            label.set_text(str(index))
            label.set_x((index + 0.5) * slot)
