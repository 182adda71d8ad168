"""Markdown tables for the benchmark scripts."""


def table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])


def ulps(value: float) -> str:
    if value == float("inf"):
        return "inf (NaN/inf)"
    return f"{value:.3g}"
