"""The text view of an `InsightsReport`: what a terminal or a CI log shows."""

from __future__ import annotations

from .model import Acceptance, InsightsReport

ARTICLES_SHOWN = 10


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _acceptance(title: str, rows: list[Acceptance]) -> list[str]:
    if not rows:
        return []
    return [title] + [f"  {r.key:>6}: {r.accepted}/{r.shown} accepted ({pct(r.rate)})" for r in rows]


def _header(rep: InsightsReport) -> list[str]:
    w, h, f = rep.window, rep.headline, rep.filters
    shown = ", ".join(f"{k} {v}" for k, v in (("owner", f.owner), ("product", f.product), ("audience", f.audience))
                      if v)
    return [
        f"kbtool insights: {rep.source}",
        f"window {w.since:%Y-%m-%d %H:%M} .. {w.until:%Y-%m-%d %H:%M} UTC ({w.days} days, per {w.bucket})"
        + (f"; {shown}" if shown else ""),
        "",
        f"tickets {h.tickets}   answered {h.answered} ({pct(h.answer_rate)})   unanswered {h.unanswered}   "
        f"linked {h.linked} (KB linkage {pct(h.linkage_rate)})",
        f"feedback {h.feedback} (helpful {h.helpful}, not helpful {h.not_helpful})   deflections {h.deflections}",
    ]


def _timeline(rep: InsightsReport) -> list[str]:
    rows = [p for p in rep.timeline if p.tickets or p.shown]
    if not rows:
        return []
    return ["", f"over time (per {rep.window.bucket}):"] + [
        f"  {p.start}  tickets {p.tickets:>5}  unanswered {p.unanswered:>4}  linkage {pct(p.linkage_rate):>6}"
        f"  acceptance {pct(p.acceptance_rate):>6}" for p in rows]


def _articles(rep: InsightsReport) -> list[str]:
    out = ["", f"articles ({len(rep.articles)} live; most used first):"]
    for a in rep.articles[:ARTICLES_SHOWN]:
        flags = " STALE" if a.stale else ""
        out.append(f"  {a.id}: suggested {a.suggested} (first {a.suggested_first}), accepted {a.accepted}, "
                   f"helpful {a.helpful}/{a.helpful + a.not_helpful}, deflections {a.deflections}{flags}")
    if rep.stale_but_used:
        out += ["", "stale but heavily used (review overdue):"]
        out += [f"  {a.id}: review due {a.review_due}, {a.uses} uses, owner {a.owner}" for a in rep.stale_but_used]
    if rep.never_suggested:
        out += ["", f"never suggested in {rep.window.days} days ({len(rep.never_suggested)}): "
                + ", ".join(rep.never_suggested)]
    return out


def _gaps(rep: InsightsReport) -> list[str]:
    g = rep.gaps
    out = ["", f"content gaps ({g.method}): {len(g.clusters)} clusters, {g.clustered} of {g.unanswered} "
           f"unanswered tickets" + (f"; {g.without_text} without stored text" if g.without_text else "")]
    if g.note:
        out.append(f"  ({g.note})")
    for i, c in enumerate(g.clusters, 1):
        near = f"{c.nearest.id} ({c.nearest.similarity:.2f})" if c.nearest else "none"
        out += [f"  {i}. {c.suggested_title}  [{c.size} tickets, {c.trend}: {c.first_half} -> {c.second_half}]",
                f"     terms: {', '.join(c.top_terms)}; nearest article: {near}"]
        out += [f"     - {r.text.splitlines()[0][:100]}" for r in c.representatives]
    return out


def _spikes(rep: InsightsReport) -> list[str]:
    if not rep.known_issues:
        return []
    out = ["", "known issues (tickets matched per day):"]
    for s in rep.known_issues:
        flagged = "; ".join(f"SPIKE {d.day}: {d.count} (baseline {d.baseline_mean:.1f}, threshold "
                            f"{d.threshold:.1f})" for d in s.spikes)
        out.append(f"  {s.id}: {s.total} tickets" + (f"; {flagged}" if flagged else ""))
    return out


def format_text(rep: InsightsReport) -> str:
    lines = _header(rep) + _timeline(rep)
    lines += [""] + _acceptance("acceptance by rank:", rep.by_rank) + _acceptance("acceptance by confidence:",
                                                                                   rep.by_confidence)
    lines += _articles(rep) + _gaps(rep) + _spikes(rep)
    if rep.problems:
        lines += ["", f"input problems ({len(rep.problems)}):"] + [f"  {p}" for p in rep.problems]
    return "\n".join(lines).rstrip() + "\n"


__all__ = ["format_text", "pct"]
