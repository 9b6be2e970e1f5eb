"""`kbtool import docfx|zendesk`: converted Markdown and front-matter, --force, the report, the CLI."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from kbtool.cli import main
from kbtool.content import load_kb
from kbtool.importers import (
    ImportProblem, _convert_quotes, _link_spans, _tidy, choose_type, docfx_tags, import_docfx, import_zendesk, parse_docfx_date,
    render_front_matter, slug, terminal_progress,
)

from conftest import SHARED

FIXTURES = Path(__file__).parent / "fixtures" / "import"
DOCFX = FIXTURES / "docfx"
ZENDESK = FIXTURES / "zendesk" / "articles.json"
BAD_DATE_FILE = "Exchange/ExchangeOnline/can't-open-shared-mailbox.md"
FILE_DATE = datetime(2024, 6, 30, 12, 0).timestamp()  # the bad-ms.date file's mtime: the fallback


@pytest.fixture()
def docfx_src(tmp_path: Path) -> Path:
    """A copy of the DocFX fixture tree whose bad-date file has a known modification time."""
    src = tmp_path / "src"
    shutil.copytree(DOCFX, src)
    os.utime(src / BAD_DATE_FILE, (FILE_DATE, FILE_DATE))
    return src


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def assert_loads_clean(kb_root: Path) -> None:
    kb = load_kb(kb_root)
    assert [d for d in kb.diagnostics if d.severity == "error"] == []
    assert all(a.valid for a in kb.articles)


# --- DocFX -----------------------------------------------------------------------------------

MAIL_FLOW = '''---
id: mail-flow-stops
title: "Mail flow to Exchange Online stops with event 2004"
type: troubleshooting
status: published
audience: public
owner: meerak
summary: "Fixes an issue in which mail flow to Exchange Online stops and event 2004 is logged."
product: exchange
component: exchangeonline
tags: [exchange-hybrid, exchange-online, exchange-server-2019, mail-flow]
created: 2024-01-24
last_reviewed: 2024-01-24
aliases: ["Mail flow to Exchange Online stops and event ID 2004 is logged"]
---

_Original KB number:_ &nbsp; 2888788

## Symptoms

Mail flow to Exchange Online stops and the transport server logs event 2004:

![Screenshot of the \\[Retry\\] queue in Queue Viewer.](media/Exchange/ExchangeOnline/media/mail-flow-stops/queue.png)

!!! note
    This issue affects hybrid deployments only.

    Cloud-only tenants aren't affected.

## Cause

The SMTP service has two certificates. See [Configure the connector](configure-connector.md#step-2-check-the-certificate) and [Hybrid setup](https://learn.microsoft.com/exchange/hybrid-deployment "Hybrid").

## Resolution

1. Open the Exchange Management Shell.

    !!! important
        Back up the registry before you change it. See [How to back up the registry](https://support.microsoft.com/help/322756).

2. Select the settings icon ![Settings](media/Exchange/ExchangeOnline/media/mail-flow-stops/gear.png), and then run:

    ```powershell
    Get-ExchangeCertificate | fl
    > [!NOTE] stays code
    ```

!!! tip
    Run the [Microsoft Remote Connectivity Analyzer](https://testconnectivity.microsoft.com/) first.

!!! note
    The MSOnline PowerShell module is deprecated. Use [Microsoft Graph PowerShell](https://learn.microsoft.com/powershell/microsoftgraph/overview) instead.
'''

CONFIGURE_CONNECTOR = '''---
id: configure-connector
title: "Configure a send connector for hybrid mail flow"
type: howto
status: published
audience: public
owner: luche
summary: "Step-by-step instructions to configure the outbound connector."
product: exchange
component: exchangeserver
tags: [exchange-server-2019, hybrid]
created: 2024-03-05
last_reviewed: 2024-03-05
---

Use these steps when mail flow between on-premises and Exchange Online stops.

## Steps

1. Open the *Exchange admin center*.
2. Go to **Mail flow** > **Send connectors**.

    !!! caution
        Don't delete the default connector.

3. Verify the certificate. See [the symptoms](mail-flow-stops.md#symptoms).

[Run Tests: Outbound Mail Flow](https://aka.ms/PillarMailFlow){ .md-button }

## Step 2 - Check the certificate

Run `Get-ExchangeCertificate` and compare the thumbprints. Back to [the steps](#steps) or [Can't open a shared mailbox](cant-open-shared-mailbox.md).
'''

SHARED_MAILBOX = '''---
id: cant-open-shared-mailbox
title: "Can't open a shared mailbox in Outlook"
type: reference
status: published
audience: public
owner: v-six
summary: "Describes why users can't open a shared mailbox after they get Full Access permission."
product: exchange
component: exchangeonline
tags: [outlook-for-microsoft-365]
created: 2024-06-30
last_reviewed: 2024-06-30
---

## Problem

When you try to open the shared mailbox, you receive this error:

```
Cannot expand the folder. The set of folders cannot be opened.
```

![Screenshot of the error.](media/Exchange/ExchangeOnline/media/cant-open-shared-mailbox/error.png)

## Solution

Remove and re-add the mailbox. For the steps, see [Configure the connector](configure-connector.md).

> **Third-party information disclaimer**
>
> The third-party products that this article discusses are made by companies that are independent of Microsoft.
'''

OUTLOOK_KNOWN_ISSUE = '''---
id: outlook-known-issues
title: "Outlook search returns no results for new items"
type: known-issue
status: published
audience: public
owner: outlook-writer
summary: "Outlook search doesn't show items received in the last hour."
product: outlook
created: 2023-11-02
last_reviewed: 2023-11-02
---

## Symptoms

New messages don't appear in search results for up to an hour.

## Cause

The search indexer processes new items in batches.

## Workaround

Use **Search** > **Search Tools** > **Rebuild index**.

## Status

Microsoft is researching this problem and will post more information in this article when the information becomes available.

:::zone pivot="windows"
On Windows, also check the Windows Search service.
:::zone-end

<!-- include not converted: ../includes/does-not-exist.md -->

See [the old article](old-article.md).
'''

EXCHANGE_FAQ = '''---
id: exchangeonline-known-issues
title: "Exchange Online known issues"
type: faq
status: published
audience: public
owner: meerak
summary: "Frequently asked questions about Exchange Online known issues."
product: exchange
component: exchangeonline
created: 2024-02-29
last_reviewed: 2024-02-29
---

## Why do messages show a delay?

Messages can be delayed during service incidents.
'''


def test_docfx_converts_markup_and_maps_front_matter(docfx_src: Path, tmp_path: Path) -> None:
    dest = tmp_path / "kb"
    report = import_docfx(docfx_src, dest)
    arts = dest / "articles"
    assert sorted(p.name for p in arts.glob("*.md")) == [
        "cant-open-shared-mailbox.md", "configure-connector.md", "exchangeonline-known-issues.md",
        "mail-flow-stops.md", "outlook-known-issues.md",
    ]
    # alerts -> admonitions, :::image::: -> images, includes inlined (in a list item, at top level,
    # with front-matter), site-root links -> learn.microsoft.com, .md links -> new file names,
    # DocFX-style anchors -> the site's slugs, H1 -> aliases
    assert read(arts / "mail-flow-stops.md") == MAIL_FLOW
    # steps -> howto; :::no-loc:::, nested CAUTION alert, [!div class="nextstepaction"] -> button
    assert read(arts / "configure-connector.md") == CONFIGURE_CONNECTOR
    # apostrophe in the file name; bad ms.date -> file date; Problem/Solution -> reference; include in a quote
    assert read(arts / "cant-open-shared-mailbox.md") == SHARED_MAILBOX
    # Symptoms/Cause/Workaround/Status -> known-issue; an unknown extension stays (and is reported)
    assert read(arts / "outlook-known-issues.md") == OUTLOOK_KNOWN_ISSUE
    # ms.topic faq -> faq; same file name as Outlook/known-issues.md -> parent folder in the id
    assert read(arts / "exchangeonline-known-issues.md") == EXCHANGE_FAQ
    # the image that exists is copied where the link points
    assert (arts / "media/Exchange/ExchangeOnline/media/mail-flow-stops/queue.png").read_bytes() == \
        (DOCFX / "Exchange/ExchangeOnline/media/mail-flow-stops/queue.png").read_bytes()
    assert_loads_clean(dest)
    assert report.kind == "docfx" and report.dest == dest.resolve()


def test_docfx_report_lists_imported_skipped_unconverted_and_problems(docfx_src: Path, tmp_path: Path) -> None:
    report = import_docfx(docfx_src, tmp_path / "kb")
    assert [(i.source, i.path, i.type) for i in report.imported] == [
        (BAD_DATE_FILE, "articles/cant-open-shared-mailbox.md", "reference"),
        ("Exchange/ExchangeOnline/known-issues.md", "articles/exchangeonline-known-issues.md", "faq"),
        ("Exchange/ExchangeOnline/mail-flow-stops.md", "articles/mail-flow-stops.md", "troubleshooting"),
        ("Exchange/ExchangeServer/configure-connector.md", "articles/configure-connector.md", "howto"),
        ("Outlook/known-issues.md", "articles/outlook-known-issues.md", "known-issue"),
    ]
    assert {(i.status, i.audience) for i in report.imported} == {("published", "public")}
    assert report.imported[0].notes == [
        "ms.date 13/45/2024 is not a MM/DD/YYYY date: last_reviewed set to the file's modification date 2024-06-30",
        "ms.topic troubleshooting but the body lacks non-empty ## Symptoms, ## Cause, ## Resolution: imported as reference",
    ]
    assert [(s.source, s.reason) for s in report.skipped] == [
        ("includes/disclaimer.md", "no front-matter: not an article (DocFX include or fragment)"),
        ("includes/powershell-note.md", "ms.topic include: not an article"),
        ("includes/registry-alert.md", "no front-matter: not an article (DocFX include or fragment)"),
    ]
    assert [(u.source, u.line, u.kind, u.detail) for u in report.unconverted] == [
        ("Outlook/known-issues.md", 30, "include", "include file not found: ../includes/does-not-exist.md"),
        ("Outlook/known-issues.md", 26, "docfx-extension", 'DocFX syntax left as text: :::zone pivot="windows"'),
        ("Outlook/known-issues.md", 28, "docfx-extension", "DocFX syntax left as text: :::zone-end"),
    ]
    assert sorted((p.source, p.line, p.kind) for p in report.problems) == [
        (BAD_DATE_FILE, 10, "bad-date"),
        (BAD_DATE_FILE, 23, "missing-file"),
        ("Exchange/ExchangeOnline/mail-flow-stops.md", 45, "missing-file"),
        ("Outlook/known-issues.md", 32, "broken-link"),
    ]
    assert report.assets == ["articles/media/Exchange/ExchangeOnline/media/mail-flow-stops/queue.png"]
    assert report.redirects == []
    data = report.to_dict()
    assert data["counts"] == {"imported": 5, "skipped": 3, "unconverted": 3, "problems": 4, "redirects": 0,
                              "assets": 1, "types": {"faq": 1, "howto": 1, "known-issue": 1, "reference": 1,
                                                     "troubleshooting": 1}}
    json.dumps(data)  # serialisable as is
    assert report.summary().startswith("imported 5 article(s) (faq 1, howto 1, known-issue 1, reference 1, "
                                       "troubleshooting 1); skipped 3; 3 construct(s) not converted; ")


def test_docfx_never_overwrites_without_force(docfx_src: Path, tmp_path: Path) -> None:
    dest = tmp_path / "kb"
    import_docfx(docfx_src, dest)
    edited = dest / "articles" / "mail-flow-stops.md"
    edited.write_text(read(edited).replace("two certificates", "TWO certificates"), encoding="utf-8")

    again = import_docfx(docfx_src, dest)
    assert again.imported == [] and again.assets == []
    assert len(again.conflicts) == 5
    assert ("Exchange/ExchangeOnline/mail-flow-stops.md",
            "exists: articles/mail-flow-stops.md (use --force to overwrite)") in [(s.source, s.reason) for s in again.skipped]
    assert "TWO certificates" in read(edited)  # untouched

    forced = import_docfx(docfx_src, dest, force=True)
    assert len(forced.imported) == 5 and forced.conflicts == []
    assert read(edited) == MAIL_FLOW
    assert sorted(p.name for p in (dest / "articles").glob("*.md")) == [  # same ids on re-import
        "cant-open-shared-mailbox.md", "configure-connector.md", "exchangeonline-known-issues.md",
        "mail-flow-stops.md", "outlook-known-issues.md",
    ]


def test_docfx_ids_avoid_files_already_in_the_kb(docfx_src: Path, tmp_path: Path) -> None:
    dest = tmp_path / "kb"
    (dest / "runbooks").mkdir(parents=True)
    (dest / "runbooks" / "configure-connector.md").write_text("---\nid: configure-connector\n---\n", encoding="utf-8")
    report = import_docfx(docfx_src, dest)
    assert "exchangeserver-configure-connector" in [i.id for i in report.imported]
    assert read(dest / "articles" / "mail-flow-stops.md").count("exchangeserver-configure-connector.md#") == 1


def test_docfx_progress_and_errors(docfx_src: Path, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    import_docfx(docfx_src, tmp_path / "kb", progress=lambda done, total: calls.append((done, total)))
    assert calls == [(n, 10) for n in range(1, 11)]  # 5 files converted, then 5 written
    assert terminal_progress("importing") is None  # stderr is not a terminal under pytest
    with pytest.raises(ImportProblem, match="source directory not found"):
        import_docfx(tmp_path / "nope", tmp_path / "kb2")
    with pytest.raises(ImportProblem, match="inside the source"):
        import_docfx(docfx_src, docfx_src / "out")


def test_docfx_helpers() -> None:
    assert slug("can't-search-additional-mailbox") == "cant-search-additional-mailbox"
    assert slug("Groups-dont-synchronize") == "groups-dont-synchronize"
    assert slug("Résumé: über (v2)") == "resume-uber-v2"
    assert parse_docfx_date("01/24/2024").isoformat() == "2024-01-24"
    assert parse_docfx_date("3/5/2024").isoformat() == "2024-03-05"
    assert parse_docfx_date("2024-02-29").isoformat() == "2024-02-29"
    assert parse_docfx_date("13/45/2024") is None and parse_docfx_date(None) is None
    assert docfx_tags({"appliesto": ["Exchange Online", "Outlook 2016"],
                       "ms.custom": ["sap:Mail Flow\\Connectors", "CSSTroubleshoot", "CI 114797", "has-azure-ad-ps-ref",
                                     "Exchange Hybrid"]}) == ["exchange-hybrid", "exchange-online", "mail-flow", "outlook-2016"]
    # balanced parentheses in a target; a "link" with spaces is not one
    line = 'see ![x](media/a-(b)-c.png "t") and [T](IEnumerable input, X)'
    assert [line[a:b] for a, b in _link_spans(line)] == ["media/a-(b)-c.png"]
    # whitespace: hard breaks kept, other trailing spaces dropped, a closing fence re-indented
    assert _tidy("a  \nb   \n\n\n   ```ps\n   x  \n    ```\n") == "a  \nb\n\n   ```ps\n   x\n   ```\n"
    fm = render_front_matter({"id": "404", "title": "yes", "tags": ["a", "b"], "owner": "v-six", "related": []})
    assert fm == '---\nid: "404"\ntitle: "yes"\ntags: [a, b]\nowner: v-six\n---\n'
    # an alert inside a quote, lower-case marker without a space, a video, a div wrapper that is not a button
    quoted = ["> Quote", ">", ">> [!warning]", ">> Careful.", "", "> [!VIDEO https://example.com/v]", "",
              '> [!div class="mx-tdBreakAll"]', "> |a|b|", "> |-|-|", "> |1|2|"]
    assert _convert_quotes(quoted, None) == [  # type: ignore[arg-type]
        "> Quote", ">", "> !!! warning", ">     Careful.", "", "[Watch the video](https://example.com/v)", "",
        "|a|b|", "|-|-|", "|1|2|"]
    body = "## Symptoms\n\nx\n\n## Cause\n\ny\n\n## Resolution\n\n"
    assert choose_type(body, "troubleshooting", {"troubleshooting": ["Symptoms", "Cause", "Resolution"]}) == "reference"
    assert choose_type(body + "z\n", None, {"troubleshooting": ["Symptoms", "Cause", "Resolution"]}) == "troubleshooting"
    assert choose_type("## Steps\n\n- a\n", "howto", {"howto": ["Steps"]}) == "reference"  # KB203: not numbered


# --- Zendesk ---------------------------------------------------------------------------------

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


def test_zendesk_converts_html_and_maps_fields(tmp_path: Path) -> None:
    dest = tmp_path / "kb"
    import_zendesk(ZENDESK, dest)
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
    assert sorted(p.name for p in arts.glob("*.md")) == [
        "export-fails-with-export-504.md", "new-sso-settings-page.md", "plan-limits-by-tier.md",
        "refund-policy-for-annual-plans.md",
    ]
    assert_loads_clean(dest)


def test_zendesk_report(tmp_path: Path) -> None:
    report = import_zendesk(ZENDESK, tmp_path / "kb")
    assert [(i.source, i.id, i.type, i.status, i.audience) for i in report.imported] == [
        ("zendesk:360001000001", "export-fails-with-export-504", "troubleshooting", "published", "public"),
        ("zendesk:360001000002", "plan-limits-by-tier", "reference", "published", "public"),
        ("zendesk:360001000003", "refund-policy-for-annual-plans", "reference", "published", "internal"),
        ("zendesk:360001000004", "new-sso-settings-page", "howto", "draft", "public"),
    ]
    assert [(s.source, s.reason) for s in report.skipped] == [
        ("zendesk:360001000005", "no title"),
        ("zendesk:360001000002", "duplicate article id 360001000002 (another locale?); the first one was imported"),
    ]
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
    ]


def test_zendesk_force_and_bad_exports(tmp_path: Path) -> None:
    dest = tmp_path / "kb"
    import_zendesk(ZENDESK, dest)
    target = dest / "articles" / "plan-limits-by-tier.md"
    target.write_text("local edit\n", encoding="utf-8")
    again = import_zendesk(ZENDESK, dest)
    assert again.imported == [] and len(again.conflicts) == 4 and read(target) == "local edit\n"
    assert again.redirects == []
    forced = import_zendesk(ZENDESK, dest, force=True)
    assert len(forced.imported) == 4 and read(target) == PLAN_LIMITS

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
    assert_loads_clean(tmp_path / "kb2")



def test_zendesk_html_url_becomes_legacy_urls(tmp_path: Path) -> None:
    dest = tmp_path / "kb"
    import_zendesk(ZENDESK, dest)
    kb = load_kb(dest)
    assert {a.id: a.legacy_urls for a in kb.articles} == {
        "export-fails-with-export-504": ["https://support.orbit.example/hc/en-us/articles/360001000001-Export-fails-with-EXPORT-504"],
        "plan-limits-by-tier": ["https://support.orbit.example/hc/en-us/articles/360001000002-Plan-limits-by-tier"],
        "refund-policy-for-annual-plans": [
            "https://support.orbit.example/hc/en-us/articles/360001000003-Refund-policy-for-annual-plans"],
        "new-sso-settings-page": ["https://support.orbit.example/hc/en-us/articles/360001000004-New-SSO-settings-page"],
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
    assert_loads_clean(tmp_path / "kb2")
    kb2 = load_kb(tmp_path / "kb2")
    assert {a.id: a.legacy_urls for a in kb2.articles} == {
        "query-url": [], "root-url": [], "no-url": [], "accents": ["https://old.example/hc/fr/articles/10-Probl%C3%A8me"]}

# --- CLI -------------------------------------------------------------------------------------


def test_cli_import_docfx(docfx_src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    res = runner.invoke(main, ["import", "docfx", str(docfx_src), "kb", "--report", "report.json"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert "skipped includes/disclaimer.md: no front-matter: not an article (DocFX include or fragment)" in lines
    assert "not converted Outlook/known-issues.md:30: include file not found: ../includes/does-not-exist.md" in lines
    assert lines[-1].startswith("imported 5 article(s) (faq 1, howto 1, known-issue 1, reference 1, troubleshooting 1)")
    assert json.loads((tmp_path / "report.json").read_text())["counts"]["imported"] == 5
    assert read(tmp_path / "kb" / "articles" / "mail-flow-stops.md") == MAIL_FLOW

    res = runner.invoke(main, ["import", "docfx", str(docfx_src), "kb"])
    assert res.exit_code == 1
    assert "5 file(s) already exist in" in res.output and "use --force" in res.output

    res = runner.invoke(main, ["import", "docfx", str(docfx_src), "kb", "--force", "-v"])
    assert res.exit_code == 0, res.output
    assert "imported Exchange/ExchangeOnline/mail-flow-stops.md -> articles/mail-flow-stops.md " \
           "(troubleshooting, published, public)" in res.output

    res = runner.invoke(main, ["import", "docfx", str(tmp_path / "missing"), "kb"])
    assert res.exit_code == 2


def test_cli_import_zendesk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    res = runner.invoke(main, ["import", "zendesk", str(ZENDESK), "kb", "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["counts"]["imported"] == 4 and len(data["redirects"]) == 4
    res = runner.invoke(main, ["import", "zendesk", str(ZENDESK), "kb", "--force", "-v"])
    assert res.exit_code == 0
    assert ("redirect https://support.orbit.example/hc/en-us/articles/360001000003-Refund-policy-for-annual-plans"
            " -> articles/refund-policy-for-annual-plans.md") in res.output.splitlines()
    (tmp_path / "bad.json").write_text("[", encoding="utf-8")
    res = runner.invoke(main, ["import", "zendesk", "bad.json", "kb"])
    assert res.exit_code == 2 and "invalid JSON" in res.output


# --- the real corpus -------------------------------------------------------------------------

OFFICEDOCS = SHARED / "data" / "officedocs-support"


@pytest.mark.slow
@pytest.mark.skipif(not OFFICEDOCS.is_dir(), reason="needs ../shared/data/officedocs-support")
def test_import_officedocs_corpus_loads_without_errors(tmp_path: Path) -> None:
    t0 = time.perf_counter()
    report = import_docfx(OFFICEDOCS, tmp_path / "kb")
    assert time.perf_counter() - t0 < 120
    assert len(report.imported) == 2448
    assert all(s.source.startswith("includes/") for s in report.skipped) and len(report.skipped) == 11
    kb = load_kb(tmp_path / "kb")
    assert len(kb.articles) == 2448
    assert [d for d in kb.diagnostics if d.severity == "error"] == []
    assert all(a.valid for a in kb.articles)
    assert len({a.id for a in kb.articles}) == 2448
    assert not any("[!NOTE]" in a.body or ":::image" in a.body for a in kb.articles)


def test_docfx_links_split_over_lines_and_root_links(tmp_path: Path) -> None:
    src = tmp_path / "src" / "Teams"
    src.mkdir(parents=True)
    (src / "a.md").write_text(
        "---\ntitle: A\ndescription: d\nms.date: 01/02/2024\n---\n# A\n\nSee [one](\n/office/one) and [two](/office/two\n).\n"
        "And [three](/office/three) but not `[code](/office/code)`.\n", encoding="utf-8")
    import_docfx(tmp_path / "src", tmp_path / "kb", base_url="https://docs.example.com")
    body = read(tmp_path / "kb" / "articles" / "a.md").split("---\n", 2)[2]
    assert body == ("\nSee [one](https://docs.example.com/office/one) and [two](https://docs.example.com/office/two).\n"
                    "And [three](https://docs.example.com/office/three) but not `[code](/office/code)`.\n")
    import_docfx(tmp_path / "src", tmp_path / "kb2", base_url=None)
    assert "[three](/office/three)" in read(tmp_path / "kb2" / "articles" / "a.md")
