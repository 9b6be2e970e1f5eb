"""`import_zendesk` and `kbtool import zendesk`: HTML -> Markdown, field mapping, legacy URLs, the report."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from kbfactory import REPO

from kbtool.cli import main
from kbtool.content import load_kb
from kbtool.importers import ImportProblem, import_zendesk

ZENDESK = REPO / "tests" / "fixtures" / "import" / "zendesk" / "articles.json"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


EXPORT_504 = '''---
id: export-fails-with-export-504
title: "Export fails with EXPORT-504"
type: troubleshooting
status: published
audience: public
owner: support
summary: "Large CSV exports stop with EXPORT-504 after about 60 seconds."
component: data-exports
tags: [csv, export, timeouts]
error_codes: ["EXPORT-504"]
created: 2024-03-14
last_reviewed: 2026-09-02
legacy_urls: ["https://support.orbit.example/hc/en-us/articles/360001000001-Export-fails-with-EXPORT-504"]
---

Large CSV exports stop with `EXPORT-504` after about 60 seconds.

## Symptoms

The export dialog shows **Export failed (EXPORT-504)**.

![Export error dialog](https://support.orbit.example/hc/article_attachments/360009876543/export-error.png)

## Cause

Exports over 1 million rows exceed the gateway timeout.

## Resolution

1. Filter the view to fewer rows.
2. Use the bulk export API:

```bash
curl -H "Authorization: Bearer <YOUR_API_TOKEN>" \\
  https://api.orbit.example/v2/exports
```

### Related

See [plan limits](plan-limits-by-tier.md#exports) and [an article that was not exported](https://support.orbit.example/hc/en-us/articles/360009999999).
'''

PLAN_LIMITS = '''---
id: plan-limits-by-tier
title: "Plan limits by tier"
type: reference
status: published
audience: public
owner: support
summary: "Each plan has limits."
component: billing
tags: [billing, plans]
created: 2023-11-01
last_reviewed: 2026-08-15
legacy_urls: ["https://support.orbit.example/hc/en-us/articles/360001000002-Plan-limits-by-tier"]
---

Each plan has limits.

## Exports

| Plan | Rows per export |
| --- | --- |
| Starter | 100,000 |
| Business | 1,000,000 |

## Seats

| Plan | Seats |
| --- | --- |
| Contact sales for Enterprise | |

Back to [export errors](export-fails-with-export-504.md).
'''

REFUND = '''---
id: refund-policy-for-annual-plans
title: "Refund policy for annual plans"
type: reference
status: published
audience: internal
owner: support
summary: "Agents only: refunds for annual plans are prorated."
component: billing
tags: [billing, refunds]
created: 2025-01-10
last_reviewed: 2026-10-01
legacy_urls: ["https://support.orbit.example/hc/en-us/articles/360001000003-Refund-policy-for-annual-plans"]
---

Agents only: refunds for annual plans are prorated.

[Watch the video](https://www.youtube.com/embed/abc123)
'''

DRAFT_SSO = '''---
id: new-sso-settings-page
title: "New SSO settings page"
type: howto
status: draft
audience: public
owner: support
summary: "New SSO settings page"
component: section-360000200003
tags: [admin-console, sso]
created: 2026-10-20
last_reviewed: 2026-11-01
legacy_urls: ["https://support.orbit.example/hc/en-us/articles/360001000004-New-SSO-settings-page"]
---

## Steps

1. Open **Admin console > Security > SSO**.
2. Select *New connection*.
'''


RESET_SYNC = '''---
id: reset-the-sync-agent
title: "Reset the sync agent"
type: howto
status: published
audience: public
owner: support
summary: "If the agent stops with SYNC-409, reset it."
component: data-exports
tags: [sync]
created: 2022-02-01
last_reviewed: 2022-06-01
legacy_urls: ["https://support.orbit.example/hc/en-us/articles/360001000006-Reset-the-sync-agent"]
---

<a id="top"></a>If the agent stops with `SYNC-409`, reset it.

## Steps

1. Stop the agent.
2. Delete the cache folder.
3. Go on with [step 3](reset-the-sync-agent.md#h_step3).

### Step 3: start the agent again {#h_step3}

Start it from the tray.

[Back to top](reset-the-sync-agent.md#top)
'''

# The exact-output tests check the conversion: a review period no source date exceeds keeps them
# as written (the import baseline for overdue dates has its own test in test_gate.py).
KEEP_SOURCE_DATES = 365 * 100


def test_zendesk_converts_html_and_maps_fields(tmp_path: Path, loads_clean: Callable[[Path], None]) -> None:
    dest = tmp_path / "kb"
    import_zendesk(ZENDESK, dest, review_every=KEEP_SOURCE_DATES)
    arts = dest / "articles"
    # h1 sections -> ##, code block with its language, image, links to exported articles -> .md (anchor kept),
    # other help-center links made absolute, label_names -> sorted slug tags, section name -> component
    assert read(arts / "export-fails-with-export-504.md") == EXPORT_504
    # tables: <thead> header kept; a table without one gets its first row as the header; colspan flattened
    assert read(arts / "plan-limits-by-tier.md") == PLAN_LIMITS
    # user_segment_id -> internal; iframe -> link; script dropped
    assert read(arts / "refund-policy-for-annual-plans.md") == REFUND
    # draft -> status draft; h3-only body shifted to ##; numbered Steps -> howto
    assert read(arts / "new-sso-settings-page.md") == DRAFT_SSO
    # heading ids kept as attr-list ids, `<a name>` anchors as `<a id>`: the links into them still resolve;
    # edited_at (the last content edit) is the review date
    assert read(arts / "reset-the-sync-agent.md") == RESET_SYNC
    # the empty body and the two translations are not written
    assert sorted(p.name for p in arts.glob("*.md")) == [
        "export-fails-with-export-504.md", "new-sso-settings-page.md", "plan-limits-by-tier.md",
        "refund-policy-for-annual-plans.md", "reset-the-sync-agent.md", "sync-agent-faq.md",
    ]
    loads_clean(dest)


def test_zendesk_report(tmp_path: Path) -> None:
    report = import_zendesk(ZENDESK, tmp_path / "kb")
    assert [(i.source, i.id, i.type, i.status, i.audience) for i in report.imported] == [
        ("zendesk:360001000001", "export-fails-with-export-504", "troubleshooting", "published", "public"),
        ("zendesk:360001000002", "plan-limits-by-tier", "reference", "published", "public"),
        ("zendesk:360001000003", "refund-policy-for-annual-plans", "reference", "published", "internal"),
        ("zendesk:360001000004", "new-sso-settings-page", "howto", "draft", "public"),
        ("zendesk:360001000006", "reset-the-sync-agent", "howto", "published", "public"),
        ("zendesk:360001000007", "sync-agent-faq", "reference", "published", "public"),
    ]
    assert [(s.source, s.reason) for s in report.skipped] == [
        ("zendesk:360001000005", "no title"),
        ("zendesk:360001000008", "empty body: nothing to import (add the content in the source or here)"),
    ]
    # second-locale copies: the same id in `de` (the export's locale is en-us), a `fr` copy of its own
    assert [(t.source, t.locale, t.original) for t in report.translations] == [
        ("zendesk:360001000002", "de", "plan-limits-by-tier"), ("zendesk:360001000009", "fr", ""),
    ]
    assert "; 2 translation(s) set aside;" in report.summary()
    assert [(u.source, u.kind) for u in report.unconverted] == [
        ("zendesk:360001000002", "html-table"), ("zendesk:360001000003", "html-script"),
        ("zendesk:360001000003", "html-iframe"),
    ]
    assert [(p.source, p.kind) for p in report.problems] == [("zendesk:360001000001", "remote-image")]
    # the old URLs, also in each article's legacy_urls (the site writes a redirect page for them)
    assert [(r.old_url, r.path) for r in report.redirects] == [
        ("https://support.orbit.example/hc/en-us/articles/360001000001-Export-fails-with-EXPORT-504",
         "articles/export-fails-with-export-504.md"),
        ("https://support.orbit.example/hc/en-us/articles/360001000002-Plan-limits-by-tier", "articles/plan-limits-by-tier.md"),
        ("https://support.orbit.example/hc/en-us/articles/360001000003-Refund-policy-for-annual-plans",
         "articles/refund-policy-for-annual-plans.md"),
        ("https://support.orbit.example/hc/en-us/articles/360001000004-New-SSO-settings-page",
         "articles/new-sso-settings-page.md"),
        ("https://support.orbit.example/hc/en-us/articles/360001000006-Reset-the-sync-agent",
         "articles/reset-the-sync-agent.md"),
        ("https://support.orbit.example/hc/en-us/articles/360001000007-Sync-agent-FAQ", "articles/sync-agent-faq.md"),
    ]


def test_zendesk_force_and_bad_exports(tmp_path: Path, loads_clean: Callable[[Path], None]) -> None:
    dest = tmp_path / "kb"
    import_zendesk(ZENDESK, dest)
    target = dest / "articles" / "plan-limits-by-tier.md"
    target.write_text("local edit\n", encoding="utf-8")
    again = import_zendesk(ZENDESK, dest)
    assert again.imported == [] and len(again.conflicts) == 6 and read(target) == "local edit\n"
    assert again.redirects == []
    forced = import_zendesk(ZENDESK, dest, force=True)
    assert len(forced.imported) == 6 and read(target) == PLAN_LIMITS

    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ImportProblem, match="invalid JSON at line 1"):
        import_zendesk(bad, dest)
    bad.write_text('{"results": []}', encoding="utf-8")
    with pytest.raises(ImportProblem, match="expected a Help Center export"):
        import_zendesk(bad, dest)
    # a bare list of articles works too; the same title twice gets the Zendesk id appended
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps([{"id": 1, "title": "Same", "body": "<p>one</p>", "updated_at": "2026-01-02T00:00:00Z"},
                                {"id": 2, "title": "Same", "body": "<p>two</p>", "updated_at": "2026-01-03T00:00:00Z"}]),
                    encoding="utf-8")
    r = import_zendesk(bare, tmp_path / "kb2")
    assert [i.id for i in r.imported] == ["same", "same-2"]
    loads_clean(tmp_path / "kb2")



def test_zendesk_html_url_becomes_legacy_urls(tmp_path: Path, loads_clean: Callable[[Path], None]) -> None:
    dest = tmp_path / "kb"
    import_zendesk(ZENDESK, dest)
    kb = load_kb(dest)
    assert {a.id: a.legacy_urls for a in kb.articles} == {
        "export-fails-with-export-504": ["https://support.orbit.example/hc/en-us/articles/360001000001-Export-fails-with-EXPORT-504"],
        "plan-limits-by-tier": ["https://support.orbit.example/hc/en-us/articles/360001000002-Plan-limits-by-tier"],
        "refund-policy-for-annual-plans": [
            "https://support.orbit.example/hc/en-us/articles/360001000003-Refund-policy-for-annual-plans"],
        "new-sso-settings-page": ["https://support.orbit.example/hc/en-us/articles/360001000004-New-SSO-settings-page"],
        "reset-the-sync-agent": ["https://support.orbit.example/hc/en-us/articles/360001000006-Reset-the-sync-agent"],
        "sync-agent-faq": ["https://support.orbit.example/hc/en-us/articles/360001000007-Sync-agent-FAQ"],
    }
    # an html_url no static page can answer (query string, no path) is reported, not written: the file stays clean
    export = tmp_path / "odd.json"
    export.write_text(json.dumps({"articles": [
        {"id": 7, "title": "Query URL", "body": "<p>Seven.</p>", "html_url": "https://old.example/kb/show?id=7",
         "updated_at": "2026-01-02T00:00:00Z"},
        {"id": 8, "title": "Root URL", "body": "<p>Eight.</p>", "html_url": "https://old.example/",
         "updated_at": "2026-01-02T00:00:00Z"},
        {"id": 9, "title": "No URL", "body": "<p>Nine.</p>", "updated_at": "2026-01-02T00:00:00Z"},
        {"id": 10, "title": "Accents", "body": "<p>Ten.</p>", "updated_at": "2026-01-02T00:00:00Z",
         "html_url": "https://old.example/hc/fr/articles/10-Probl%C3%A8me"},
    ]}), encoding="utf-8")
    r = import_zendesk(export, tmp_path / "kb2")
    assert [(u.source, u.kind, u.detail) for u in r.unconverted] == [
        ("zendesk:7", "legacy-url", "html_url 'https://old.example/kb/show?id=7' has a query string ('?…'): "
                                    "a static site cannot redirect by query; not kept in legacy_urls"),
        ("zendesk:8", "legacy-url", "html_url 'https://old.example/' has no path: the site's home page cannot "
                                    "redirect to an article; not kept in legacy_urls"),
    ]
    assert [(x.old_url, x.id) for x in r.redirects] == [("https://old.example/hc/fr/articles/10-Probl%C3%A8me", "accents")]
    loads_clean(tmp_path / "kb2")
    kb2 = load_kb(tmp_path / "kb2")
    assert {a.id: a.legacy_urls for a in kb2.articles} == {
        "query-url": [], "root-url": [], "no-url": [], "accents": ["https://old.example/hc/fr/articles/10-Probl%C3%A8me"]}


# --- CLI -------------------------------------------------------------------------------------


def test_cli_import_zendesk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    res = runner.invoke(main, ["import", "zendesk", str(ZENDESK), "kb", "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["counts"]["imported"] == 6 and len(data["redirects"]) == 6 and data["counts"]["translations"] == 2
    res = runner.invoke(main, ["import", "zendesk", str(ZENDESK), "kb", "--force", "-v"])
    assert res.exit_code == 0
    assert ("redirect https://support.orbit.example/hc/en-us/articles/360001000003-Refund-policy-for-annual-plans"
            " -> articles/refund-policy-for-annual-plans.md") in res.output.splitlines()
    (tmp_path / "bad.json").write_text("[", encoding="utf-8")
    res = runner.invoke(main, ["import", "zendesk", "bad.json", "kb"])
    assert res.exit_code == 2 and "invalid JSON" in res.output
