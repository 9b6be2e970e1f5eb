"""A small project for the review queue: two owners, two products, one of each problem."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from kbfactory import make_project, write_article

from kbtool.config import Config

TODAY = date(2026, 12, 2)  # review_every 365: reviewed 2025-01-01 is overdue, 2025-12-20 due in 18 days
DUP_BODY = """
Exporting the audit log needs the admin role. Open Settings, then Security, then Audit log,
pick the date range and the columns you want, and choose Export. Large ranges are split into
several files of one hundred thousand rows each and mailed to the requesting administrator.

## Steps

1. Open Settings and choose Security.
2. Choose Audit log, set the range, and select Export.
"""


@pytest.fixture
def today() -> date:
    """The review day the fixture KB's dates are chosen for."""
    return TODAY


@pytest.fixture
def review_project(tmp_path: Path) -> Config:
    cfg = make_project(tmp_path / "proj", copy_sample=False)
    kb = cfg.kb
    write_article(kb, "overdue-a", owner="alpha-team", product="billing", created="2024-06-01",
                  last_reviewed="2025-01-01",
                  intro="Invoices are issued on the first day of each billing cycle.")
    write_article(kb, "soon-b", owner="alpha-team", product="billing", last_reviewed="2025-12-20",
                  intro="Refunds go back to the card that paid within ten working days.")
    write_article(kb, "broken-c", owner="beta-team", product="sso",
                  intro="Single sign-on with Okta: see [the setup guide](okta-setup-missing.md).")
    write_article(kb, "fresh-d", owner="beta-team", product="sso",
                  intro="SAML certificates rotate yearly; upload the new one before the old expires.")
    write_article(kb, "internal-e", owner="beta-team", product="sso", audience="internal",
                  intro="Escalate identity provider outages to the on-call engineer in the sso channel.")
    write_article(kb, "dup-f", DUP_BODY, owner="alpha-team", title="Export the audit log")
    write_article(kb, "dup-g", DUP_BODY, owner="alpha-team", title="Download audit log entries")
    return cfg
