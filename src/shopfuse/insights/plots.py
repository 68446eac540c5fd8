"""The report's plots as PNG bytes (matplotlib's Agg canvas, no pyplot state, no math text).

Names come from catalogues and logs: they are shortened to fit (:func:`short`) and drawn as plain
text (``text.parse_math`` off, so a ``$`` in a name is a dollar sign, not a formula).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from shopfuse.insights.stats import CreativeRate, Gap, Lift, Shares
from shopfuse.optional import require

__all__ = ["creatives_png", "gaps_png", "lifts_png", "short", "trend_png"]

GREEN, RED, GREY = "#2a9d4b", "#c8433a", "#888888"


def short(text: str, limit: int = 32) -> str:
    """``text`` on one line, at most ``limit`` characters (an ellipsis marks a cut)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _figure(width: float, height: float) -> Any:
    require("matplotlib", "matplotlib", "report", "the marketing insights report's plots")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def _png(figure: Any) -> bytes:
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"text.parse_math": False}):
        figure.tight_layout()
        figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _plain(fn: Any) -> Any:
    """Run a drawing function with math text off (titles and labels set inside it are plain)."""

    def wrapped(*args: Any, **kwargs: Any) -> bytes:
        require("matplotlib", "matplotlib", "report", "the marketing insights report's plots")
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False, "font.size": 10}):
            result: bytes = fn(*args, **kwargs)
        return result

    wrapped.__doc__ = fn.__doc__
    wrapped.__name__ = fn.__name__
    return wrapped


def _two_lines(title: str, width: int = 50) -> str:
    """A panel title as at most two lines of ``width`` characters."""
    head, _, rest = title.partition(": ")
    return short(head, width) + ("\n" + short(rest, width) if rest else "")


@_plain
def lifts_png(panels: Sequence[tuple[str, Sequence[Lift]]]) -> bytes:
    """One panel per segment: the values it over-indexes on, as lift bars (1 = like everyone)."""
    columns = 2 if len(panels) > 1 else 1
    rows = math.ceil(len(panels) / columns)
    figure = _figure(12, 0.5 + 2.9 * rows)
    for i, (title, lifts) in enumerate(panels):
        axes = figure.add_subplot(rows, columns, i + 1)
        shown = list(lifts)[::-1]
        if not shown:
            axes.text(0.5, 0.5, "no value stands out", ha="center", va="center", transform=axes.transAxes)
            axes.set_axis_off()
            axes.set_title(_two_lines(title), fontsize=9, loc="left")
            continue
        values = [min(f.lift, 50.0) for f in shown]
        axes.barh(range(len(shown)), values, color="#4a78b5")
        axes.set_yticks(range(len(shown)), [short(f"{f.value} ({f.group})", 34) for f in shown], fontsize=8)
        axes.axvline(1.0, color=GREY, linewidth=1, linestyle="--")
        for y, f in enumerate(shown):
            axes.text(values[y], y, f" {f.lift:.1f}× · {f.share:.0%}", va="center", fontsize=8)
        axes.set_xlim(0, max(values) * 1.35)
        axes.set_xlabel("lift vs all users (×); label: lift · share of the segment's interest", fontsize=8)
        axes.set_title(_two_lines(title), fontsize=9, loc="left")
    return _png(figure)


@_plain
def creatives_png(title: str, best: Sequence[CreativeRate], worst: Sequence[CreativeRate]) -> bytes:
    """Best (green) and worst (red) creatives of one segment: click rate with its 95% interval."""
    rows = [*best, *worst][::-1]
    colours = ([GREEN] * len(best) + [RED] * len(worst))[::-1]
    figure = _figure(10, 1.3 + 0.32 * max(len(rows), 2))
    axes = figure.add_subplot(1, 1, 1)
    for y, (rate, colour) in enumerate(zip(rows, colours, strict=True)):
        axes.errorbar(
            100 * rate.rate,
            y,
            xerr=[[100 * max(rate.rate - rate.low, 0.0)], [100 * max(rate.high - rate.rate, 0.0)]],
            fmt="o",
            color=colour,
            capsize=3,
        )
    axes.set_yticks(
        range(len(rows)), [f"{short(r.action, 18)}  (n={r.impressions})" for r in rows], fontsize=8
    )
    axes.set_xlabel("click rate (%), 95% interval")
    axes.set_xlim(left=0)
    axes.grid(axis="x", alpha=0.3)
    axes.set_title(short(title, 95), fontsize=10, loc="left")
    return _png(figure)


@_plain
def trend_png(attribute: str, shares: Shares) -> bytes:
    """Stacked shares of the commonest values per period."""
    figure = _figure(12, 4.2)
    axes = figure.add_subplot(1, 1, 1)
    palette = ["#4a78b5", "#e39b3c", "#3f9e5a", "#c8433a", "#8a6bbf", "#8c6d4f", "#d177b5", "#bbbbbb"]
    axes.stackplot(
        np.asarray([p.replace(tzinfo=None) for p in shares.periods], dtype="datetime64[s]"),
        100 * shares.shares,
        labels=[short(v, 28) for v in shares.values],
        colors=palette[: len(shares.values)],
        step="post" if len(shares.periods) < 3 else None,
    )
    axes.set_ylim(0, 100)
    axes.set_ylabel("share of purchases (%)")
    axes.set_xlabel(f"{shares.period} (start)")
    axes.set_title(short(f"{attribute}: share of purchases per {shares.period}", 90), loc="left", fontsize=10)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    for label in axes.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")
    return _png(figure)


@_plain
def gaps_png(gaps: Sequence[Gap]) -> bytes:
    """Share of purchases next to share of the catalogue for the values bought beyond their stock."""
    rows = list(gaps)[::-1]
    figure = _figure(11, 1.3 + 0.45 * max(len(rows), 2))
    axes = figure.add_subplot(1, 1, 1)
    y = np.arange(len(rows))
    axes.barh(
        y + 0.2, [100 * g.demand for g in rows], height=0.4, color="#e39b3c", label="share of purchases"
    )
    axes.barh(
        y - 0.2, [100 * g.supply for g in rows], height=0.4, color="#4a78b5", label="share of catalogue"
    )
    axes.set_yticks(y, [short(f"{g.value} ({g.group})", 36) for g in rows], fontsize=8)
    for i, g in enumerate(rows):
        axes.text(100 * g.demand, i + 0.2, f" {g.ratio:.1f}×", va="center", fontsize=8)
    axes.set_xlabel("share (%)")
    axes.set_xlim(0, 100 * max([g.demand for g in rows] + [0.01]) * 1.25)
    axes.legend(loc="lower right", fontsize=8)
    axes.set_title(
        "Bought more than stocked (label: purchases share / catalogue share)", loc="left", fontsize=10
    )
    return _png(figure)
