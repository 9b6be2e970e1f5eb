"""The HTML report: one self-contained file, for people who would rather look than read.

Inline CSS and inline SVG charts drawn here (no JavaScript, no fonts, images or styles from
anywhere else), so the file can be mailed, attached to a ticket or opened offline, and
makes no request when opened. Every text from the KB or a ticket is HTML-escaped; article
URLs are left out on purpose (a help-center link is a request to another host).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from .model import Acceptance, ArticleUsage, GapCluster, InsightsReport, KnownIssueSeries
from .render import pct

BLUE, GREY, RED, GREEN, AMBER = "#2f6fde", "#c9d3e3", "#d64545", "#2e9e6b", "#d98b1c"

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f4f6fa;color:#1d2433}
header{background:#1d2433;color:#fff;padding:24px 32px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#b8c2d6}main{padding:24px 32px;max-width:1200px;margin:auto}
h2{font-size:18px;margin:32px 0 12px}.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border-radius:10px;padding:14px 18px;box-shadow:0 1px 3px #0002;min-width:150px}
.card b{display:block;font-size:28px}.card span{color:#5b6577;font-size:13px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:14px}
.panel{background:#fff;border-radius:10px;padding:14px 18px;box-shadow:0 1px 3px #0002}
.panel h3{margin:0 0 8px;font-size:15px}.muted{color:#5b6577;font-size:13px}
.chip{display:inline-block;background:#e8eefb;color:#23408e;border-radius:10px;padding:1px 8px;margin:2px;font-size:12px}
.badge{float:right;background:#1d2433;color:#fff;border-radius:10px;padding:1px 9px;font-size:13px}
.rising{color:#d64545}.falling{color:#2e9e6b}.steady{color:#5b6577}
blockquote{margin:6px 0;padding:4px 10px;border-left:3px solid #c9d3e3;color:#39404f;font-size:13px;
white-space:pre-wrap;max-height:5.5em;overflow:hidden}
table{border-collapse:collapse;width:100%;background:#fff;border-radius:10px;overflow:hidden;box-shadow:0 1px 3px #0002}
th,td{padding:7px 10px;text-align:left;border-bottom:1px solid #eef1f6;font-size:13px}th{background:#eef1f6}
td.n{text-align:right;font-variant-numeric:tabular-nums}.meter{background:#eef1f6;border-radius:4px;height:8px}
.meter i{display:block;height:8px;border-radius:4px;background:#2f6fde}svg text{font-size:10px;fill:#5b6577}
"""


def _svg(width: int, height: int, body: str, label: str) -> str:
    # no xmlns: inline SVG in HTML needs none, and the file stays free of any URL
    return (f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(label)}">'
            f"{body}</svg>")


def bar_chart(values: Sequence[float], labels: Sequence[str], *, label: str, highlight: Sequence[float] = (),
              color: str = BLUE, height: int = 140) -> str:
    """Vertical bars; `highlight` (same length, optional) is drawn over each bar in red
    (unanswered tickets, spike days). Up to 8 evenly spaced x labels."""
    n, w, pad = max(len(values), 1), 600, 22
    top = max([*values, *highlight, 1])
    bw = (w - pad) / n
    parts = [f'<line x1="{pad}" y1="{height - pad}" x2="{w}" y2="{height - pad}" stroke="#c9d3e3"/>',
             f'<text x="0" y="10">{top:g}</text>']
    for i, v in enumerate(values):
        x, h = pad + i * bw, (height - 2 * pad) * v / top
        parts.append(f'<rect x="{x + bw * 0.1:.1f}" y="{height - pad - h:.1f}" width="{bw * 0.8:.1f}" '
                     f'height="{h:.1f}" fill="{color}" rx="1"><title>{escape(labels[i])}: {v:g}</title></rect>')
        if highlight and highlight[i]:
            hh = (height - 2 * pad) * highlight[i] / top
            parts.append(f'<rect x="{x + bw * 0.1:.1f}" y="{height - pad - hh:.1f}" width="{bw * 0.8:.1f}" '
                         f'height="{hh:.1f}" fill="{RED}" rx="1"><title>{escape(labels[i])}: '
                         f'{highlight[i]:g}</title></rect>')
    step = max(1, n // 8)
    parts += [f'<text x="{pad + i * bw:.1f}" y="{height - 6}">{escape(labels[i][5:])}</text>'
              for i in range(0, len(labels), step)]
    return _svg(w, height, "".join(parts), label)


def line_chart(series: Sequence[tuple[str, str, Sequence[float | None]]], labels: Sequence[str], *,
               label: str, height: int = 140) -> str:
    """Rates (0..1) over time, one polyline per (name, colour, values); gaps where None."""
    n, w, pad = max(len(labels), 1), 600, 22
    dx = (w - pad - 10) / max(n - 1, 1)
    parts = [f'<line x1="{pad}" y1="{height - pad}" x2="{w}" y2="{height - pad}" stroke="#c9d3e3"/>',
             '<text x="0" y="14">100%</text>', f'<text x="0" y="{height - pad}">0%</text>']
    for k, (name, color, values) in enumerate(series):
        pts = [(pad + i * dx, height - pad - (height - 2 * pad) * v) for i, v in enumerate(values) if v is not None]
        if pts:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
            parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}"/>' for x, y in pts]
        parts.append(f'<rect x="{pad + 120 * k}" y="{height - 12}" width="10" height="8" fill="{color}"/>'
                     f'<text x="{pad + 14 + 120 * k}" y="{height - 4}">{escape(name)}</text>')
    return _svg(w, height, "".join(parts), label)


def hbars(rows: Sequence[Acceptance], *, label: str) -> str:
    """Horizontal bars of acceptance rates, with the counts."""
    if not rows:
        return '<p class="muted">no suggestions shown</p>'
    h, w = 20 * len(rows) + 6, 320  # a narrow viewBox: its 10-unit text stays readable when scaled up
    parts = []
    for i, r in enumerate(rows):
        y, v = 4 + 20 * i, r.rate or 0.0
        parts.append(f'<text x="0" y="{y + 11}">{escape(r.key)}</text>'
                     f'<rect x="50" y="{y}" width="{180 * v:.1f}" height="14" fill="{BLUE}" rx="2"/>'
                     f'<text x="{54 + 180 * v:.1f}" y="{y + 11}">{pct(r.rate)} ({r.accepted}/{r.shown})</text>')
    return _svg(w, h, "".join(parts), label)


def _cards(rep: InsightsReport) -> str:
    h = rep.headline
    cards = [("tickets", str(h.tickets)), ("KB linkage", pct(h.linkage_rate)), ("answered", pct(h.answer_rate)),
             ("unanswered", str(h.unanswered)), ("gap clusters", str(len(rep.gaps.clusters))),
             ("helpful", f"{h.helpful}/{h.helpful + h.not_helpful}"), ("deflections", str(h.deflections)),
             ("known-issue spikes", str(sum(len(s.spikes) for s in rep.known_issues)))]
    return '<div class="cards">' + "".join(f'<div class="card"><b>{escape(v)}</b><span>{escape(k)}</span></div>'
                                           for k, v in cards) + "</div>"


def _trends(rep: InsightsReport) -> str:
    labels = [p.start.isoformat() for p in rep.timeline]
    tickets = bar_chart([p.tickets for p in rep.timeline], labels, highlight=[p.unanswered for p in rep.timeline],
                        label="tickets per period, unanswered in red")
    rates = line_chart([("KB linkage", BLUE, [p.linkage_rate for p in rep.timeline]),
                        ("acceptance", GREEN, [p.acceptance_rate for p in rep.timeline])], labels,
                       label="linkage and acceptance rates")
    return (f'<h2>Over time (per {rep.window.bucket})</h2><div class="grid">'
            f'<div class="panel"><h3>Tickets <span class="muted">(unanswered in red)</span></h3>{tickets}</div>'
            f'<div class="panel"><h3>KB linkage and acceptance</h3>{rates}</div>'
            f'<div class="panel"><h3>Acceptance by rank</h3>{hbars(rep.by_rank, label="acceptance by rank")}</div>'
            f'<div class="panel"><h3>Acceptance by confidence</h3>'
            f'{hbars(rep.by_confidence, label="acceptance by confidence")}</div></div>')


def _gap_card(i: int, c: GapCluster) -> str:
    arrow = {"rising": "&#9650; rising", "falling": "&#9660; falling", "steady": "&#9654; steady"}[c.trend]
    near = "no live article"
    if c.nearest:
        near = (f'nearest: <b>{escape(c.nearest.title)}</b> <span class="muted">({escape(c.nearest.id)}, '
                f'similarity {c.nearest.similarity:.2f})</span><div class="meter"><i style="width:'
                f'{100 * max(0.0, min(c.nearest.similarity, 1.0)):.0f}%"></i></div>')
    return (f'<div class="panel"><span class="badge">{c.size}</span><h3>{i}. {escape(c.suggested_title)}</h3>'
            f'<div class="{c.trend}">{arrow} <span class="muted">{c.first_half} &rarr; {c.second_half}</span></div>'
            f'<div>{"".join(f"<span class=chip>{escape(t)}</span>" for t in c.top_terms)}</div>'
            + "".join(f"<blockquote>{escape(r.text[:400])}</blockquote>" for r in c.representatives)
            + f'<div class="muted">{near}</div></div>')


def _gaps(rep: InsightsReport) -> str:
    g = rep.gaps
    intro = (f'<p class="muted">{g.clustered} of {g.unanswered} unanswered tickets in {len(g.clusters)} clusters '
             f'({escape(g.method)}{"; " + escape(g.note) if g.note else ""})'
             + (f"; {g.without_text} stored without text" if g.without_text else "") + "</p>")
    cards = "".join(_gap_card(i, c) for i, c in enumerate(g.clusters, 1))
    return f'<h2>Content gaps</h2>{intro}<div class="grid">{cards}</div>'


def _spike_panel(s: KnownIssueSeries) -> str:
    spiked = {d.day for d in s.spikes}
    chart = bar_chart(s.counts, [d.isoformat() for d in s.days], color=GREY, height=100,
                      highlight=[n if d in spiked else 0 for d, n in zip(s.days, s.counts)],
                      label=f"tickets per day for {s.id}")
    flags = "".join(f"<div><b class=rising>spike {d.day}</b>: {d.count} tickets (baseline {d.baseline_mean:.1f}, "
                    f"threshold {d.threshold:.1f})</div>" for d in s.spikes) or '<div class="muted">no spike</div>'
    return f'<div class="panel"><span class="badge">{s.total}</span><h3>{escape(s.title)}</h3>{chart}{flags}</div>'


def _table(rows: Sequence[ArticleUsage], title: str) -> str:
    if not rows:
        return ""
    head = ("<tr><th>article</th><th>owner</th><th>suggested</th><th>accepted</th><th>helpful</th>"
            "<th>deflections</th><th>review due</th></tr>")
    body = "".join(
        f"<tr><td>{escape(a.title)}<div class=muted>{escape(a.id)}</div></td><td>{escape(a.owner)}</td>"
        f"<td class=n>{a.suggested}</td><td class=n>{a.accepted}</td><td class=n>{a.helpful}/"
        f"{a.helpful + a.not_helpful}</td><td class=n>{a.deflections}</td>"
        f"<td{' class=rising' if a.stale else ''}>{a.review_due or ''}</td></tr>" for a in rows)
    return f"<h2>{escape(title)}</h2><table>{head}{body}</table>"


def render_html(rep: InsightsReport, *, articles_shown: int = 15) -> str:
    w = rep.window
    spikes = "".join(_spike_panel(s) for s in rep.known_issues)
    never = ", ".join(escape(i) for i in rep.never_suggested)
    problems = "".join(f"<li>{escape(p)}</li>" for p in rep.problems)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>KB insights</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_CSS}</style></head><body>'
        f"<header><h1>Knowledge base insights</h1><p>{escape(rep.source)} &middot; {w.since:%Y-%m-%d} to "
        f"{w.until:%Y-%m-%d} ({w.days} days) &middot; generated {rep.generated:%Y-%m-%d %H:%M} UTC</p></header><main>"
        + _cards(rep) + _trends(rep) + _gaps(rep)
        + (f'<h2>Known-issue spikes</h2><div class="grid">{spikes}</div>' if spikes else "")
        + _table(rep.stale_but_used, "Stale but heavily used (review overdue)")
        + _table(rep.articles[:articles_shown], "Most used articles")
        + (f'<h2>Never suggested in {w.days} days</h2><p class="muted">{never}</p>' if never else "")
        + (f"<h2>Input problems</h2><ul>{problems}</ul>" if problems else "")
        + "</main></body></html>\n")


__all__ = ["bar_chart", "hbars", "line_chart", "render_html"]
