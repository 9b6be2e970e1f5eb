"""`kbtool insights`: what the KB did to the tickets, and what it is missing.

    from kbtool.insights import report, format_text, render_html
    rep = report(open_store(db), kb, since=parse_when("30d"), config=cfg)
    rep = report(read_tickets(Path("export.jsonl")), kb, engine=open_engine(cfg, kb))  # offline

- `report` (report.py): the `InsightsReport` (model.py) from an event store, events, or a
  ticket export; `usage` (tickets, linkage, acceptance, per article), `gaps` (content gaps
  clustered by meaning), `spikes` (known-issue spikes and their rule), `window` (time);
- `tickets`: reading JSONL and Zendesk exports with located problems, and the offline engine;
- `render`: the text view; `html`: the one-file HTML page with inline SVG charts.
"""

from __future__ import annotations

from .gaps import cluster_gaps, gap_tickets
from .html import render_html
from .model import (
    Acceptance,
    ArticleUsage,
    Filters,
    GapAnalysis,
    GapCluster,
    GapTicket,
    Headline,
    InsightsReport,
    KnownIssueSeries,
    NearestArticle,
    SpikeDay,
    TimePoint,
    Window,
)
from .render import format_text
from .report import report
from .spikes import is_spike
from .tickets import ExportTicket, TicketFile, TicketFileError, TicketProblem, open_engine, read_tickets
from .window import make_window, parse_when

__all__ = [
    "Acceptance", "ArticleUsage", "ExportTicket", "Filters", "GapAnalysis", "GapCluster", "GapTicket", "Headline",
    "InsightsReport", "KnownIssueSeries", "NearestArticle", "SpikeDay", "TicketFile", "TicketFileError",
    "TicketProblem", "TimePoint", "Window", "cluster_gaps", "format_text", "gap_tickets", "is_spike", "make_window",
    "open_engine", "parse_when", "read_tickets", "render_html", "report",
]
