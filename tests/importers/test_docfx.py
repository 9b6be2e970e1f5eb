"""`import_docfx` and `kbtool import docfx`: converted Markdown, front-matter, ids, --force, the report."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from kbfactory import REPO, SHARED

from kbtool.cli import main
from kbtool.content import load_kb
from kbtool.importers import ImportProblem, docfx_slug, docfx_tags, import_docfx, terminal_progress
from kbtool.importers.docfx import _convert_quotes

DOCFX = REPO / "tests" / "fixtures" / "import" / "docfx"
BAD_DATE_FILE = "Exchange/ExchangeOnline/can't-open-shared-mailbox.md"
# The exact-output tests check the conversion: a review period no source date exceeds keeps them
# as written (the import baseline for overdue dates has its own test in test_gate.py).
KEEP_SOURCE_DATES = 365 * 100
FILE_DATE = datetime(2024, 6, 30, 12, 0).timestamp()  # the bad-ms.date file's mtime: the fallback
OFFICEDOCS = SHARED / "data" / "officedocs-support"


@pytest.fixture()
def docfx_src(tmp_path: Path) -> Path:
    """A copy of the DocFX fixture tree whose bad-date file has a known modification time."""
    src = tmp_path / "src"
    shutil.copytree(DOCFX, src)
    os.utime(src / BAD_DATE_FILE, (FILE_DATE, FILE_DATE))
    return src


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


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


def test_docfx_converts_markup_and_maps_front_matter(docfx_src: Path, tmp_path: Path,
                                                     loads_clean: Callable[[Path], None]) -> None:
    dest = tmp_path / "kb"
    report = import_docfx(docfx_src, dest, review_every=KEEP_SOURCE_DATES)
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
    loads_clean(dest)
    assert report.kind == "docfx" and report.dest == dest.resolve()


def test_docfx_report_lists_imported_skipped_unconverted_and_problems(docfx_src: Path, tmp_path: Path) -> None:
    report = import_docfx(docfx_src, tmp_path / "kb", review_every=KEEP_SOURCE_DATES)
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
                              "assets": 1, "translations": 0, "types": {"faq": 1, "howto": 1, "known-issue": 1, "reference": 1,
                                                     "troubleshooting": 1}}
    json.dumps(data)  # serialisable as is
    assert report.summary().startswith("imported 5 article(s) (faq 1, howto 1, known-issue 1, reference 1, "
                                       "troubleshooting 1); skipped 3; 3 construct(s) not converted; ")


def test_docfx_never_overwrites_without_force(docfx_src: Path, tmp_path: Path) -> None:
    dest = tmp_path / "kb"
    import_docfx(docfx_src, dest, review_every=KEEP_SOURCE_DATES)
    edited = dest / "articles" / "mail-flow-stops.md"
    edited.write_text(read(edited).replace("two certificates", "TWO certificates"), encoding="utf-8")

    again = import_docfx(docfx_src, dest, review_every=KEEP_SOURCE_DATES)
    assert again.imported == [] and again.assets == []
    assert len(again.conflicts) == 5
    assert ("Exchange/ExchangeOnline/mail-flow-stops.md",
            "exists: articles/mail-flow-stops.md (use --force to overwrite)") in [(s.source, s.reason) for s in again.skipped]
    assert "TWO certificates" in read(edited)  # untouched

    forced = import_docfx(docfx_src, dest, force=True, review_every=KEEP_SOURCE_DATES)
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
    report = import_docfx(docfx_src, dest, review_every=KEEP_SOURCE_DATES)
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
    assert docfx_tags({"appliesto": ["Exchange Online", "Outlook 2016"],
                       "ms.custom": ["sap:Mail Flow\\Connectors", "CSSTroubleshoot", "CI 114797", "has-azure-ad-ps-ref",
                                     "Exchange Hybrid"]}) == ["exchange-hybrid", "exchange-online", "mail-flow", "outlook-2016"]
    # an alert inside a quote, lower-case marker without a space, a video, a div wrapper that is not a button
    quoted = ["> Quote", ">", ">> [!warning]", ">> Careful.", "", "> [!VIDEO https://example.com/v]", "",
              '> [!div class="mx-tdBreakAll"]', "> |a|b|", "> |-|-|", "> |1|2|"]
    assert _convert_quotes(quoted, None) == [  # type: ignore[arg-type]
        "> Quote", ">", "> !!! warning", ">     Careful.", "", "[Watch the video](https://example.com/v)", "",
        "|a|b|", "|-|-|", "|1|2|"]
    # markdig's GitHub-style heading ids: punctuation dropped, each space a hyphen
    assert docfx_slug("Step 2 - Check the certificate") == "step-2---check-the-certificate"
    assert docfx_slug("Method 1: Use X") == "method-1-use-x"


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
    # the CLI uses the config's review period: ms.date 01/24/2024 is overdue, so the import baseline applies
    assert read(tmp_path / "kb" / "articles" / "mail-flow-stops.md") == MAIL_FLOW.replace(
        "last_reviewed: 2024-01-24", f"last_reviewed: {date.today()}")

    res = runner.invoke(main, ["import", "docfx", str(docfx_src), "kb"])
    assert res.exit_code == 1
    assert "5 file(s) already exist in" in res.output and "use --force" in res.output

    res = runner.invoke(main, ["import", "docfx", str(docfx_src), "kb", "--force", "-v"])
    assert res.exit_code == 0, res.output
    assert "imported Exchange/ExchangeOnline/mail-flow-stops.md -> articles/mail-flow-stops.md " \
           "(troubleshooting, published, public)" in res.output

    res = runner.invoke(main, ["import", "docfx", str(tmp_path / "missing"), "kb"])
    assert res.exit_code == 2



# --- the real corpus -------------------------------------------------------------------------


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
