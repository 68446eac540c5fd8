"""The marketing insights report: one self-contained HTML page (plots inline as PNG data URIs).

Sections: segments and what they over-index on (the recommendation profiles), best and worst
creatives per segment with 95% intervals (an impression log), attribute trends over time and
catalogue gaps (the interaction log against the catalogue). The service keeps no query log, so
gaps are purchases against catalogue share, and the page says so. Every name on the page comes
from a catalogue or a log and is escaped.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from shopfuse.creative.logs import BanditLog
from shopfuse.insights import plots
from shopfuse.insights.stats import (
    ALL_USERS,
    CreativeRate,
    Gap,
    Lift,
    catalogue_gaps,
    choose_segment_column,
    creative_rates,
    is_uniform,
    over_index,
    shares_over_time,
)
from shopfuse.recommend.space import GROUP_ATTRIBUTES

if TYPE_CHECKING:
    from shopfuse.recommend.engine import Recommendations
    from shopfuse.recommend.profiles import Profile

__all__ = ["ReportOptions", "build_report", "trend_attributes", "write_report"]

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;color:#222;max-width:1240px;padding:0 16px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:34px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:18px 0 6px}.note{color:#555;margin:4px 0 10px}
img{max-width:100%;height:auto;display:block;margin:8px 0}
table{border-collapse:collapse;margin:6px 0 14px;font-size:13px}
td,th{border-bottom:1px solid #eee;padding:3px 10px 3px 0;text-align:left;vertical-align:top}
th{color:#555;font-weight:600}.num{text-align:right;font-variant-numeric:tabular-nums}
.best{color:#1f7a3a}.worst{color:#a8322b}.counts span{display:inline-block;margin-right:18px}
"""


@dataclass(slots=True)
class ReportOptions:
    """What the report shows."""

    title: str = "Marketing insights"
    segments: int | None = None
    """Number of user segments (None: chosen by silhouette)."""
    segment_column: str | None = None
    """The log's column to split creatives by (None: ``segment``, a ``user_id`` mapped to the
    store's segments, or a text column with a few values)."""
    min_impressions: float = 50.0
    """Creatives with fewer (effective) impressions in a segment are not ranked there."""
    top: int = 5
    """Best and worst creatives shown per segment."""
    trend_attributes: Sequence[str] | None = None
    """Attributes whose shares over time are plotted (None: a product type and a colour)."""
    min_purchases: int = 5
    """A value bought fewer times is not called a gap."""
    max_segments: int = 8
    """Log segments shown (the largest), besides all users."""
    notes: list[str] = field(default_factory=list)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _img(png: bytes, alt: str, testid: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img data-testid="{_e(testid)}" alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def trend_attributes(names: Sequence[str], limit: int = 2) -> list[str]:
    """A product-type attribute and a colour attribute when the catalogue has them, else the first."""
    lowered = {n: n.lower() for n in names}
    kinds = [n for n in names if "type" in lowered[n] or "category" in lowered[n]]
    colours = [n for n in names if "colour" in lowered[n] or "color" in lowered[n]]
    chosen = [*kinds[:1], *colours[:1]]
    return chosen[:limit] if chosen else list(names[:limit])


def build_report(
    recommendations: Recommendations,
    log: BanditLog | None = None,
    options: ReportOptions | None = None,
    *,
    store: str = "",
) -> str:
    """The report's HTML for the store's items and interactions, and an impression log if given."""
    from shopfuse.recommend.profiles import interest_attributes

    options = options or ReportOptions()
    space, interactions = recommendations.space, recommendations.interactions
    purchases = [e for e in interactions.events if e.event == "purchase"] or list(interactions.events)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{_e(options.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1 data-testid='title'>{_e(options.title)}</h1>",
        f"<p class='note'>Store {_e(store or '(in memory)')} · generated "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}</p>",
        "<p class='counts'>"
        f"<span>{len(space)} catalogue items</span><span>{len(interactions.users)} users</span>"
        f"<span>{len(purchases)} purchases</span>"
        + (f"<span>{len(log)} logged impressions</span>" if log is not None else "")
        + "</p>",
    ]
    labels, segment_names, section = _segments_section(recommendations, options)
    parts.append(section)
    parts.append(_creatives_section(log, labels, segment_names, options))
    names = interest_attributes(space)
    attributes = list(options.trend_attributes) if options.trend_attributes else trend_attributes(names)
    parts.append(_trends_section(recommendations, purchases, attributes))
    parts.append(_gaps_section(recommendations, purchases, attributes, options))
    parts.extend(f"<p class='note'>{_e(n)}</p>" for n in options.notes)
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(html_text: str, out: str | Path) -> Path:
    """Write the page atomically."""
    from shopfuse.config import atomic_write_text

    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, html_text)
    return target


def _segments_section(
    recommendations: Recommendations, options: ReportOptions
) -> tuple[dict[str, str], dict[str, str], str]:
    """The section, each user's segment id, and each segment id's display name."""
    out = ["<h2 id='segments'>Segments and what they over-index on</h2>"]
    try:
        profiles, segments, _ = recommendations.segments(options.segments)
    except ValueError as exc:
        out.append(f"<p class='note' data-testid='no-segments'>No segments: {_e(exc)}</p>")
        return {}, {}, "\n".join(out)
    overall = _mean_traits([p for p in profiles if p.vector is not None])
    out.append(
        "<p class='note'>Users are clustered by their profile vectors (k-means over what they bought). "
        "Lift = the segment's mean interest weight of a value ÷ all users' mean weight (2× = twice as "
        "much as everyone); values with at least 10% of the segment's interest are shown.</p>"
    )
    by_user = {p.user_id: p for p in profiles}
    panels = []
    rows = []
    labels: dict[str, str] = {}
    names: dict[str, str] = {}
    for segment in segments:
        members = [by_user[u] for u in segment.users if u in by_user]
        lifted = over_index(_mean_traits(members), overall, top=12)
        lifts = _distinct([f for f in lifted if f.group not in GROUP_ATTRIBUTES])[:6]
        described = ", ".join(f.value for f in lifts[:3]) or "mixed"
        names[str(segment.id)] = f"segment {segment.id}: {described}"
        labels.update(dict.fromkeys(segment.users, str(segment.id)))
        panels.append((f"segment {segment.id} ({len(segment.users)} users): {described}", lifts))
        tops = ", ".join(f"{f.value} ({f.group}) {f.lift:.1f}× · {f.share:.0%}" for f in lifts[:4])
        rows.append(
            f"<tr><td>{segment.id}</td><td class='num'>{len(segment.users)}</td>"
            f"<td>{_e(tops or 'nothing stands out')}</td></tr>"
        )
    out.append(_img(plots.lifts_png(panels), "segments: lift of attribute values", "plot-segments"))
    out.append(
        "<table data-testid='segments-table'><tr><th>segment</th><th>users</th>"
        "<th>over-indexes on (lift · share of the segment's interest)</th></tr>" + "".join(rows) + "</table>"
    )
    return labels, names, "\n".join(out)


def _distinct(lifts: Sequence[Lift]) -> list[Lift]:
    """The first of each value (a value named by several attributes, e.g. a type and a group, once)."""
    seen: set[str] = set()
    out = []
    for lift in lifts:
        key = lift.value.strip().lower()
        if key not in seen:
            seen.add(key)
            out.append(lift)
    return out


def _mean_traits(profiles: Sequence[Profile]) -> dict[str, dict[str, float]]:
    sums: dict[str, dict[str, float]] = {}
    for profile in profiles:
        for group, values in {**profile.interests, "category": profile.categories}.items():
            bucket = sums.setdefault(group, {})
            for key, weight in values.items():
                bucket[key] = bucket.get(key, 0.0) + weight
    n = max(len(profiles), 1)
    return {g: {k: v / n for k, v in values.items()} for g, values in sums.items()}


def _log_segments(
    log: BanditLog, user_labels: dict[str, str], segment_names: dict[str, str], options: ReportOptions
) -> tuple[np.ndarray | None, str, Callable[[str], str]]:
    """Each row's segment, how it was found, and a display name for a segment value."""
    column = options.segment_column
    if column is None and "segment" not in log.context and "user_id" in log.context and user_labels:
        values = np.asarray(
            [user_labels.get(str(u), "unknown") for u in log.context["user_id"]], dtype=object
        )
        return values, "the store's segment of each row's user_id", lambda v: segment_names.get(v, v)
    column = choose_segment_column(log, column)
    if column is None:
        return None, "no segment column (all users only)", str
    if column not in log.context:
        from shopfuse.errors import ConfigError

        raise ConfigError(f"{log.source}: no context column {column!r} to split creatives by")
    values = np.asarray([str(v) for v in log.context[column]], dtype=object)
    if column == "segment":
        return values, "the log's segment column", lambda v: segment_names.get(v, f"segment {v}")
    return values, f"the log's column {column!r}", lambda v: f"{column} = {v}"


def _creatives_section(
    log: BanditLog | None, user_labels: dict[str, str], segment_names: dict[str, str], options: ReportOptions
) -> str:
    out = ["<h2 id='creatives'>Best and worst creatives per segment</h2>"]
    if log is None:
        out.append(
            "<p class='note' data-testid='no-log'>No impression log given (shopfuse report --log).</p>"
        )
        return "\n".join(out)
    segments, how, display = _log_segments(log, user_labels, segment_names, options)
    uniform = is_uniform(log)
    rates = creative_rates(log, segments, weighted=not uniform)
    method = (
        "the log comes from a uniform-random policy, so each rate is clicks ÷ impressions with its "
        "Wilson 95% interval"
        if uniform
        else "the log's policy was not uniform, so each rate is inverse-propensity weighted "
        "(self-normalised: the rate had the creative been shown to the whole segment) with a "
        "Wilson 95% interval at the effective number of impressions"
    )
    out.append(
        f"<p class='note' data-testid='creatives-method'>{_e(log.source)}: {len(log)} impressions. "
        f"Segments: {_e(how)}. Click rate: {_e(method)}. Only creatives with at least "
        f"{options.min_impressions:g} (effective) impressions in a segment are ranked; "
        "positions are pooled.</p>"
    )
    by_segment: dict[str, list[CreativeRate]] = {}
    for rate in rates:
        by_segment.setdefault(rate.segment, []).append(rate)
    others = sorted(
        (s for s in by_segment if s != ALL_USERS), key=lambda s: -sum(r.impressions for r in by_segment[s])
    )
    order = [ALL_USERS, *others[: options.max_segments]]
    for number, segment in enumerate(order):
        ranked = [r for r in by_segment[segment] if r.effective >= options.min_impressions]
        name = ALL_USERS if segment == ALL_USERS else display(segment)
        size = sum(r.impressions for r in by_segment[segment])
        out.append(f"<h3>{_e(name)} <span class='note'>({size} impressions)</span></h3>")
        if len(ranked) < 2:
            out.append(
                f"<p class='note'>Too few impressions: {len(ranked)} creative(s) with at least "
                f"{options.min_impressions:g}.</p>"
            )
            continue
        ordered = sorted(ranked, key=lambda r: (-r.rate, -r.low, r.action))
        k = min(options.top, len(ordered) // 2)
        best, worst = ordered[:k], ordered[::-1][:k][::-1]
        title = f"{plots.short(name, 34)}: best (green), worst (red) of {len(ranked)} creatives"
        out.append(
            _img(plots.creatives_png(title, best, worst), f"creatives: {name}", f"plot-creatives-{number}")
        )
        table = [
            "<table><tr><th></th><th>creative</th><th>impressions</th><th>clicks</th>",
            "<th>click rate</th><th>95% interval</th></tr>",
        ]
        for kind, group in (("best", best), ("worst", worst)):
            for r in group:
                table.append(
                    f"<tr class='{kind}'><td>{kind}</td><td>{_e(r.action)}</td>"
                    f"<td class='num'>{r.impressions}</td>"
                    f"<td class='num'>{r.clicks:g}</td><td class='num'>{_pct(r.rate)}</td>"
                    f"<td class='num'>{_pct(r.low)} – {_pct(r.high)}</td></tr>"
                )
        out.append("".join(table) + "</table>")
    return "\n".join(out)


def _item_values(recommendations: Recommendations, attribute: str) -> list[str | None]:
    space = recommendations.space
    if attribute == "category":
        if space.categories is None or not space.category_names:
            return [None] * len(space)
        return [space.category_names[int(c)] for c in space.categories]
    values = []
    for attrs in space.attributes:
        value = attrs.get(attribute)
        values.append(str(value) if value not in (None, "") else None)
    return values


def _trends_section(recommendations: Recommendations, purchases: Sequence, attributes: Sequence[str]) -> str:
    out = [
        "<h2 id='trends'>Attribute and category trends</h2>",
        "<p class='note'>Share of each value among the period's purchases of items that have the "
        "attribute (weekly; monthly when weeks are too thin). 'category' is the engine's learned "
        "category (clusters of product content).</p>",
    ]
    index = recommendations.space.index
    for number, attribute in enumerate([*attributes, "category"]):
        values = _item_values(recommendations, attribute)
        times: list[float] = []
        seen: list[str] = []
        for event in purchases:
            row = index.get(event.item_id)
            value = None if row is None else values[row]
            if value is not None:
                times.append(event.timestamp)
                seen.append(value)
        if len(times) < 10:
            out.append(f"<p class='note'>{_e(attribute)}: too few purchases with a value ({len(times)}).</p>")
            continue
        shares = shares_over_time(times, seen)
        out.append(
            f"<h3>{_e(attribute)} <span class='note'>({len(times)} purchases, {len(shares.periods)} "
            f"{_e(shares.period)}s)</span></h3>"
        )
        out.append(_img(plots.trend_png(attribute, shares), f"trend of {attribute}", f"plot-trend-{number}"))
    return "\n".join(out)


def _gaps_section(
    recommendations: Recommendations, purchases: Sequence, attributes: Sequence[str], options: ReportOptions
) -> str:
    out = [
        "<h2 id='gaps'>Catalogue gaps</h2>",
        "<p class='note' data-testid='gaps-source'>The service keeps no search query log, so gaps come from "
        "purchases: values whose share of purchases is larger than their share of the catalogue's items "
        "(ratio = purchase share ÷ catalogue share; 3× = bought three times as often as stocked).</p>",
    ]
    index = recommendations.space.index
    gaps: list[Gap] = []
    for attribute in [*attributes, "category"]:
        values = _item_values(recommendations, attribute)
        bought = [values[index[e.item_id]] for e in purchases if e.item_id in index]
        gaps += catalogue_gaps(
            attribute,
            [v for v in bought if v is not None],
            [v for v in values if v is not None],
            min_purchases=options.min_purchases,
        )
    gaps = sorted(gaps, key=lambda g: (-g.ratio, -g.demand))[:12]
    if not gaps:
        out.append("<p class='note'>Nothing is bought beyond its share of the catalogue.</p>")
        return "\n".join(out)
    out.append(_img(plots.gaps_png(gaps), "catalogue gaps", "plot-gaps"))
    rows = "".join(
        f"<tr><td>{_e(g.value)}</td><td>{_e(g.group)}</td>"
        f"<td class='num'>{g.purchases} ({_pct(g.demand)})</td>"
        f"<td class='num'>{g.items} ({_pct(g.supply)})</td><td class='num'>{g.ratio:.1f}×</td></tr>"
        for g in gaps
    )
    out.append(
        "<table data-testid='gaps-table'><tr><th>value</th><th>attribute</th><th>purchases</th>"
        "<th>catalogue items</th><th>ratio</th></tr>" + rows + "</table>"
    )
    return "\n".join(out)
