"""The explorers' frame path: as little work per update as the figure allows.

:class:`Frames` is :class:`lossviz.plots.LiveFigure` with the two costs that dominated an update
removed (measured with ``time.thread_time`` on the 2-core machine; matplotlib 3.11):

- **Text that changes** (a note with the current numbers): matplotlib lays out and rasterises every
  glyph on every draw, about 16 ms for a 100-character note (half layout, half FreeType).
  :class:`TextRuns` keeps each word's glyphs, laid out and rendered once, as one alpha mask and
  pastes the masks with the text's colour through Agg's own ``draw_text_image``; a note costs
  about 0.5 ms. Words start on a quarter pixel and keep matplotlib's own glyph positions inside.
- **The frame encoding**: Pillow's octree quantisation of every frame took about 4.5 ms of a 7 ms
  encode. :class:`PaletteEncoder` learns a 64-colour palette once and maps colours through a
  lookup table (6 bits a channel), learning again only when a colour far from every palette entry
  appears; the PNG is written with zlib directly (level 2, no row filter): about 3 ms, 20-27 KB.

Everything that the data do not touch stays in the cached background (LiveFigure's blit).
"""
from __future__ import annotations

import math
import struct
import zlib

import numpy as np
from matplotlib import colors as mcolors
from matplotlib.backends.backend_agg import get_hinting_flag
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.ft2font import FT2Font
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle, StepPatch
from matplotlib.text import Text
from PIL import Image

from .. import plots

_IDENTITY = np.array([[0x10000, 0], [0, 0x10000]], dtype=int)

# TextRuns needs FT2Font's glyph-level methods, private and new in matplotlib 3.11. Older ones (Colab's
# 3.10.0, a hub's 3.8) draw text the ordinary way, through plots.TextSprites: slower, same image.
try:
    from matplotlib.ft2font import RenderMode
except ImportError:
    RenderMode = None
FAST_TEXT = RenderMode is not None and all(hasattr(FT2Font, name) for name in ("_layout", "_render_glyph",
                                                                               "_set_transform"))


class TextRuns:
    """Draws a changing one-line text from cached words instead of laying out every glyph again."""

    SUBPIXEL = 16  # a word starts on a quarter pixel (in FreeType's 1/64 units): within 1/8 px

    def __init__(self, limit: int = 5000):
        self.limit = limit
        self._fonts: dict = {}
        self._words: dict = {}     # (font key, word) -> (glyph items, advance)
        self._masks: dict = {}     # (font key, word, x, y subpixel) -> (mask, left, top)
        self._baselines: dict = {}  # (text, font key, alignment) -> baseline offset from the anchor
        self.hits = self.misses = 0

    @staticmethod
    def handles(text: Text) -> bool:
        """Plain, horizontal, one-line text without a box, clip or effects."""
        content = text.get_text()
        return (FAST_TEXT and bool(content) and "\n" not in content and "$" not in content
                and text.get_ha() in ("left", "center", "right")
                and text.get_rotation() == 0 and text.get_bbox_patch() is None
                and (not text.get_clip_on() or (text.get_clip_box() is None and text.get_clip_path() is None))
                and not text.get_usetex() and not text.get_path_effects() and text.get_alpha() is None
                and not text.get_wrap())

    def _font(self, renderer, prop):
        key = (hash(prop), renderer.dpi)
        font = self._fonts.get(key)
        if font is None:
            font = self._fonts[key] = renderer._prepare_font(prop)
        return key, font

    def _word(self, font_key, font, word: str):
        cached = self._words.get((font_key, word))
        if cached is None:
            flags = get_hinting_flag()
            items = font._layout(word + " ", flags=flags)  # the trailing space's x is the advance
            advance = items[-1].x if items else 0.0
            glyphs = tuple((item.ft_object, item.glyph_index, item.x, item.y) for item in items[:-1])
            cached = self._words[(font_key, word)] = (glyphs, advance)
        return cached

    def _mask(self, font_key, word, glyphs, size, dpi, fx: int, fy: int, antialiased: bool):
        key = (font_key, word, fx, fy, antialiased)
        cached = self._masks.get(key)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        pieces = []
        flags = get_hinting_flag()
        mode = RenderMode.NORMAL if antialiased else RenderMode.MONO
        for ft, index, dx, dy in glyphs:
            ft.set_size(size, dpi)
            ft._set_transform(_IDENTITY, [fx + round(0x40 * dx), fy + round(0x40 * dy)])
            bitmap = ft._render_glyph(index, flags, mode)
            buffer = np.asarray(bitmap.buffer)
            if not antialiased:
                buffer = buffer * 0xFF
            if buffer.size:
                pieces.append((buffer, bitmap.left, bitmap.top))
        if not pieces:
            cached = (None, 0, 0)
        else:
            left = min(p[1] for p in pieces)
            right = max(p[1] + p[0].shape[1] for p in pieces)
            top = max(p[2] for p in pieces)
            bottom = min(p[2] - p[0].shape[0] for p in pieces)
            mask = np.zeros((top - bottom, right - left), dtype=np.uint16)
            for buffer, glyph_left, glyph_top in pieces:
                r0, c0 = top - glyph_top, glyph_left - left
                region = mask[r0:r0 + buffer.shape[0], c0:c0 + buffer.shape[1]]
                # one glyph over another, as Agg blends them one after the other
                region += buffer - (region * buffer + 127) // 255
            cached = (np.ascontiguousarray(mask.astype(np.uint8)), left, top)
        if len(self._masks) >= self.limit:
            self._masks.clear()
        self._masks[key] = cached
        return cached

    def _baseline(self, text: Text, renderer, font_key):
        key = (id(text), font_key, text.get_va(), renderer.width, renderer.height)
        offset = self._baselines.get(key)
        if offset is None:
            # matplotlib's own layout, once: where the first line's baseline sits from the anchor
            _, info, _ = text._get_layout(renderer)
            offset = self._baselines[key] = tuple(info[0][2])
        return offset

    def draw(self, text: Text, renderer) -> None:
        if not text.get_visible():
            return
        prop = text.get_fontproperties()
        font_key, font = self._font(renderer, prop)
        dx, dy = self._baseline(text, renderer, font_key)
        x, y = text.get_transform().transform(text.get_unitless_position())
        if not (math.isfinite(x) and math.isfinite(y)):
            return
        space = self._word(font_key, font, " ")[1]  # the layout of two spaces: one space's advance
        words = [(word, *self._word(font_key, font, word)) for word in text.get_text().split(" ")]
        alignment = text.get_ha()
        if alignment == "left":
            x += dx
        else:  # centred or right-aligned on the words' advances
            width = sum(advance for _, _, advance in words) + space * (len(words) - 1)
            x -= width / 2 if alignment == "center" else width
        y += dy  # x, y: the baseline's start in display pixels, y upwards
        gc = renderer.new_gc()
        gc.set_foreground(mcolors.to_rgba(text.get_color()), isRGBA=True)
        gc.set_antialiased(text._antialiased)
        antialiased = gc.get_antialiased()
        size, dpi, height = prop.get_size_in_points(), renderer.dpi, int(renderer.height)
        y64 = round(0x40 * y)
        origin_y, fy = divmod(y64, 0x40)
        for word, glyphs, advance in words:
            if glyphs:
                x64 = round(0x40 * x / self.SUBPIXEL) * self.SUBPIXEL
                origin_x, fx = divmod(x64, 0x40)
                mask, left, top = self._mask(font_key, word, glyphs, size, dpi, fx, fy, antialiased)
                if mask is not None:
                    renderer._renderer.draw_text_image(mask, origin_x + left, height - (origin_y + top) + mask.shape[0],
                                                       0, gc)
            x += advance + space
        gc.restore()
        if len(self._words) >= self.limit:
            self._words.clear()


class PaletteEncoder:
    """RGBA canvas -> 64-colour PNG through a learned palette and a 6-bit-a-channel lookup table."""

    COLOURS = plots.PALETTE_COLOURS
    FAR = 40.0       # a colour this far (RGB distance) from every palette entry, on more than
    FAR_PIXELS = 64  # this many pixels (a new bar, a band; not an edge's blend): learn the palette again
    LEVEL = 2        # zlib: 1 is hardly faster and 10-15 % larger; 3 and up cost more than they save
    FAR_ENTRY = 255  # table entry of a colour far from the palette (mapped per frame, counted)

    def __init__(self):
        self.palette = None
        self.table = np.empty(1 << 18, dtype=np.uint8)
        self._nearest_far = np.empty(1 << 18, dtype=np.uint8)
        self._rows = None
        self.learned = 0

    @staticmethod
    def _buckets(rgba: np.ndarray) -> np.ndarray:
        packed = rgba.view(np.uint32)[..., 0]  # little-endian: R in the low byte
        key = (packed >> 2) & 0x3F
        key <<= 12
        key |= ((packed >> 10) & 0x3F) << 6
        key |= (packed >> 18) & 0x3F
        return key

    def _learn(self, rgba: np.ndarray) -> None:
        """A palette for this frame, and every bucket's nearest entry (about 40 ms, once)."""
        height, width = rgba.shape[:2]
        image = Image.frombuffer("RGBA", (width, height), rgba.tobytes(), "raw", "RGBA", 0, 1).convert("RGB")
        quantized = image.quantize(self.COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        palette = np.zeros((self.COLOURS, 3), dtype=np.int32)
        used = np.asarray(quantized.getpalette()[: 3 * self.COLOURS], dtype=np.int32).reshape(-1, 3)
        palette[: len(used)] = used
        # the octree averages its boxes (the white background came out 254): snap the extremes back
        palette[(palette >= 250).all(axis=1)] = 255
        palette[(palette <= 5).all(axis=1)] = 0
        self.palette = palette
        entries = palette.astype(np.float32)
        squares = (entries ** 2).sum(1)
        chunk = 1 << 15
        for start in range(0, 1 << 18, chunk):
            centres = _CENTRES[start:start + chunk]
            # |c - p|^2 = |c|^2 - 2 c.p + |p|^2: one matrix product instead of a 3-D difference
            distance = squares[None, :] - 2.0 * (centres @ entries.T)
            nearest = distance.argmin(1)
            self._nearest_far[start:start + chunk] = nearest
            closest = distance[np.arange(len(centres)), nearest] + (centres ** 2).sum(1)
            self.table[start:start + chunk] = np.where(closest > self.FAR ** 2, self.FAR_ENTRY, nearest)
        self.learned += 1

    def encode(self, canvas) -> bytes:
        rgba = np.asarray(canvas.buffer_rgba())
        height, width = rgba.shape[:2]
        key = self._buckets(rgba)
        if self.palette is None:
            self._learn(rgba)
        index = self.table.take(key)
        far = index == self.FAR_ENTRY
        if far.any():
            if np.count_nonzero(far) > self.FAR_PIXELS:
                self._learn(rgba)  # a new colour on a real area: a palette that has it
                index = self.table.take(key)
                far = index == self.FAR_ENTRY
            index[far] = self._nearest_far.take(key[far])  # an edge's rare blend: its nearest entry
        if self._rows is None or self._rows.shape != (height, width + 1):
            self._rows = np.zeros((height, width + 1), dtype=np.uint8)  # column 0: filter "none"
        self._rows[:, 1:] = index
        return _png(width, height, self.palette.astype(np.uint8).tobytes(), zlib.compress(self._rows, self.LEVEL))


_BUCKETS = np.arange(1 << 18)
_CENTRES = (np.stack([(_BUCKETS >> 12) & 0x3F, (_BUCKETS >> 6) & 0x3F, _BUCKETS & 0x3F], 1) * 4 + 2).astype(np.float32)
del _BUCKETS


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def _png(width: int, height: int, palette: bytes, compressed: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)  # 8-bit palette, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"PLTE", palette) + _chunk(b"IDAT", compressed)
            + _chunk(b"IEND", b""))


def fingerprint(artist):
    """What an artist will draw, cheaply: equal fingerprints draw equal pixels (None: unknown)."""
    if not artist.get_visible():
        return (False,)
    if isinstance(artist, Line2D):
        x, y = artist.get_data(orig=True)
        return (True, hash(np.asarray(x, dtype=float).tobytes()), hash(np.asarray(y, dtype=float).tobytes()),
                artist.get_color(), artist.get_linestyle(), artist.get_linewidth(), artist.get_marker())
    if isinstance(artist, Text):
        return (True, artist.get_text(), tuple(artist.get_position()), str(artist.get_color()))
    if isinstance(artist, Rectangle):
        return (True, artist.get_x(), artist.get_y(), artist.get_width(), artist.get_height(),
                tuple(artist.get_facecolor()))
    if isinstance(artist, StepPatch):
        values, edges = artist._values, artist._edges  # get_data() builds a namedtuple class a call
        return (True, hash(np.asarray(values, dtype=float).tobytes()), hash(np.asarray(edges).tobytes()))
    if isinstance(artist, (PolyCollection, PathCollection)):
        return (True, tuple(hash(path.vertices.tobytes()) for path in artist.get_paths()),
                hash(np.asarray(artist.get_facecolor()).tobytes()))
    return None


class Frames(plots.LiveFigure):
    """LiveFigure with cached words for changing text, the lookup-table palette encoder and a
    second cached layer: the dynamic artists that did not change since the last frame (the
    curves of the settings not being dragged) are drawn once into it, not every frame."""

    def __init__(self, figure, dynamic, encoding=None, groups=()):
        super().__init__(figure, dynamic, encoding=encoding, groups=groups)
        self.text_runs = TextRuns()
        self.encoder = PaletteEncoder() if self.encoding == "palette" else None
        grouped = {id(a) for group in self.groups for a in group.artists}
        self._layered = [a for a in self.dynamic if id(a) not in grouped]
        self._prints: dict = {}
        self._layer = self._layer_key = None
        self.layer_hits = 0

    def render(self, frame_changed: bool) -> bytes:
        self.draw(frame_changed)
        if self.encoder is not None:
            return self.encoder.encode(self.canvas)
        return plots.encode_frame(self.canvas, self.encoding)

    def _draw_artist(self, artist, renderer, pixels) -> None:
        if not artist.get_visible():
            return
        if isinstance(artist, Text):
            if TextRuns.handles(artist):
                self.text_runs.draw(artist, renderer)
            else:
                self.sprites.draw(artist, renderer, pixels)
        else:
            artist.draw(renderer)

    def draw(self, frame_changed: bool) -> None:
        if frame_changed or self._background is None:
            self._draw_frame()
            self._layer = self._layer_key = None
            self._prints = {}
        renderer = self.canvas.get_renderer()
        pixels = np.asarray(renderer.buffer_rgba())
        prints = {id(a): fingerprint(a) for a in self._layered}
        # An artist that did not change goes into the cached layer only if nothing that changed is
        # drawn before it in its axes: the layer is drawn first, so a later one would otherwise
        # end up beneath a line it is drawn over in a fresh frame (14 pixels of pos_weight's
        # figure where its curves cross).
        steady, moving, changed_axes = [], [], set()
        for artist in self._layered:
            place = id(artist.axes) if artist.axes is not None else None
            unchanged = prints[id(artist)] is not None and prints[id(artist)] == self._prints.get(id(artist))
            if unchanged and place not in changed_axes:
                steady.append(artist)
            else:
                moving.append(artist)
                changed_axes.add(place)
        self._prints = prints
        key = (self.full_draws, tuple((id(a), prints[id(a)]) for a in steady))
        if steady and key == self._layer_key:
            self.canvas.restore_region(self._layer)
            self.layer_hits += 1
        else:
            self.canvas.restore_region(self._background)
            if steady and len(moving) < len(self._layered):
                for artist in steady:
                    self._draw_artist(artist, renderer, pixels)
                self._layer, self._layer_key = self.canvas.copy_from_bbox(self.figure.bbox), key
            else:
                moving = self._layered
        for group in self.groups:
            self._draw_group(group, renderer, pixels)
        for artist in moving:
            self._draw_artist(artist, renderer, pixels)
