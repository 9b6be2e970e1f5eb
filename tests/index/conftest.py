"""Fixtures of the index tests: a small KB that follows the content contract (docs/authoring-sample-kb.md),
its index (shared read-only per module, or a test's own copy to edit), and the writers behind them.

Articles are written with kbfactory; `article` only fixes this corpus's defaults (a
troubleshooting article of product "api", summary "What to do about <title>.", tags listed
even when empty), which the ranking and spelling tests were written against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kbfactory import write_article

from kbtool.config import Config
from kbtool.content import load_kb
from kbtool.index import Index, Snapshot


def article(kb: Path, doc_id: str, title: str, *, type: str = "troubleshooting", product: str = "api",
            summary: str | None = None, tags: tuple[str, ...] = (), **fields: Any) -> Path:
    """One article (or runbook, by type) of this corpus: kbfactory's article with the defaults above."""
    return write_article(kb, doc_id, title=title, type=type, product=product, tags=list(tags),
                         summary=summary or f"What to do about {title.lower()}.", **fields)


def make_kb(kb: Path) -> Path:
    """The shared test corpus: webhooks, SSO, a browser error, billing with every status and
    audience, two articles for the title-boost check and one for spelling."""
    article(
        kb, "webhook-delivery-timeouts", "Webhook deliveries time out", product="webhooks",
        tags=("webhooks", "delivery"), error_codes=("WEBHOOK-TIMEOUT",), aliases=("webhooks not arriving",),
        summary="Fix webhooks that fail with WEBHOOK-TIMEOUT because the receiver answers too slowly.",
        intro="Orbit waits 10 seconds for your endpoint to answer each webhook delivery.",
        sections={"Symptoms": "The delivery log shows `WEBHOOK-TIMEOUT: No response within 10 seconds` for webhooks.",
                  "Cause": "The receiver processes the payload before it answers, so the request hits the timeout.",
                  "Resolution": "1. Answer with HTTP 200 first.\n2. Process webhooks asynchronously from a queue."})
    article(
        kb, "webhook-signature-mismatch", "Webhook signature verification fails", product="webhooks",
        tags=("webhooks", "security"), error_codes=("WEBHOOK-SIG-MISMATCH",),
        intro="Each webhook carries an HMAC signature computed with the endpoint secret.",
        sections={"Symptoms": "Your handler rejects webhooks with `WEBHOOK-SIG-MISMATCH`.",
                  "Cause": "A middleware parsed the raw body, or the endpoint secret is from staging.",
                  "Resolution": "1. Verify the signature over the raw body.\n2. Copy the secret of this endpoint."})
    article(
        kb, "webhook-backlog-drain", "Drain a webhook backlog", type="runbook", product="webhooks",
        tags=("webhooks", "queue"),
        intro="Webhooks queue per endpoint; drain webhooks slowly so receivers recover.",
        sections={"When to use": "The webhooks queue age alert fires.", "Prerequisites": "orbitctl access.",
                  "Steps": "1. Pause the webhooks queue.\n2. Resume at 10 webhooks per second.",
                  "Verification": "The queue age is back under one minute.", "Escalation": "Page platform-oncall."})
    article(
        kb, "saml-403-user-not-assigned", "SSO sign-in fails with SAML-403: user not assigned", product="sso",
        tags=("sso", "saml", "login"), error_codes=("SAML-403",), aliases=("sso access denied",),
        sections={"Symptoms": "Orbit shows `SAML-403: User is not assigned to this application.`",
                  "Cause": "The user is not assigned to the Orbit app in the identity provider.",
                  "Resolution": "1. Assign the app to the user in Okta.\n2. Sign in again."})
    article(
        kb, "err-cert-date-invalid", "Browser shows NET::ERR_CERT_DATE_INVALID", product="browser",
        tags=("browser", "tls"), error_codes=("ERR_CERT_DATE_INVALID",),
        sections={"Symptoms": "Chrome shows `NET::ERR_CERT_DATE_INVALID` on app.orbit.example.",
                  "Cause": "The device clock is wrong, or a proxy re-signs traffic with an expired certificate.",
                  "Resolution": "1. Set the clock automatically.\n2. Update the proxy certificate."})
    # Title boost: "quarantined" is in one title, and only in the other one's body (twice).
    article(
        kb, "release-quarantined-attachments", "Release quarantined attachments", type="howto", product="data",
        tags=("attachments",), intro="Admins can review files held by the scanner.",
        sections={"Steps": "1. Open **Admin console > Security > Files**.\n2. Select the file and click **Release**."})
    article(
        kb, "attachment-scanning", "How attachment scanning works", type="faq", product="data", tags=("attachments",),
        intro="Every upload is scanned for malware before other members can open it.",
        sections={"What happens to a flagged file": "A flagged file is quarantined. Quarantined files stay hidden "
                                                    "until an admin reviews them."})
    # Spelling: "databases" is more frequent than "database"; "webhooks" more than "webhook".
    article(
        kb, "reporting-databases-maintenance", "Maintenance of the reporting databases", type="known-issue",
        product="platform", tags=("maintenance",),
        intro="The reporting databases are read replicas. The primary database is not affected.",
        sections={"Symptoms": "Dashboards load slowly while the databases are resynced.",
                  "Cause": "Nightly maintenance of the reporting databases.",
                  "Workaround": "Run large reports after 06:00 UTC.", "Status": "Fix planned for release 2026.12."})
    # Billing, one article per status and audience.
    article(kb, "invoice-download", "Download invoices as PDF", type="howto", product="billing",
            tags=("billing", "invoices"), sections={"Steps": "1. Open **Billing > Invoices**.\n2. Click the invoice."})
    article(kb, "invoice-numbering-draft", "Invoice numbering policy", type="faq", status="draft",
            product="billing", tags=("billing",), intro="How each invoice gets its number.")
    article(kb, "invoice-legacy-portal", "Download invoices from the legacy portal", type="howto",
            status="retired", product="billing", tags=("billing", "invoices"), replaced_by="invoice-download",
            sections={"Steps": "1. Open the legacy portal.\n2. Download the invoice."})
    article(kb, "invoice-refund-internal", "Refund an invoice", type="faq", status="in-review",
            audience="internal", product="billing", tags=("billing", "refunds"),
            intro="Support may refund an invoice within 30 days.")
    article(kb, "billing-dispute-handling", "Handle a billing dispute", type="runbook", product="billing",
            tags=("billing",), intro="A customer disputes an invoice or a card charge.")
    return kb


def generate_articles(kb: Path, n: int) -> None:
    """`n` generated troubleshooting articles sharing a 26-word vocabulary (`token<i>` unique to each)."""
    words = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
             "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()
    for i in range(n):
        w = [words[(i * 7 + k * 3) % len(words)] for k in range(12)]
        article(kb, f"generated-{i:05d}", f"Generated {w[0]} {w[1]} article {i}", product="platform",
                tags=(w[2],), sections={"Symptoms": " ".join(w) + f" token{i}.",
                                        "Cause": " ".join(reversed(w)) + ".",
                                        "Resolution": f"1. Restart {w[3]}.\n2. Check {w[4]} {i}."})


@pytest.fixture(scope="session", name="article")
def _article() -> Callable[..., Path]:
    """`article(kb, id, title, **fields)`: write one article of this corpus."""
    return article


@pytest.fixture(scope="session", name="make_kb")
def _make_kb() -> Callable[[Path], Path]:
    """`make_kb(kb_dir)`: write the shared 13-article corpus; returns `kb_dir`."""
    return make_kb


@pytest.fixture(scope="session", name="generate_articles")
def _generate_articles() -> Callable[[Path, int], None]:
    """`generate_articles(kb_dir, n)`: add `n` generated articles."""
    return generate_articles


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The corpus and its index, shared by a module's read-only tests: (kb, index dir)."""
    root = tmp_path_factory.mktemp("kb-shared")
    kb = make_kb(root / "kb")
    Index(root / "index").build(load_kb(kb))
    return kb, root / "index"


@pytest.fixture(scope="module")
def snap(built: tuple[Path, Path]) -> Iterator[Snapshot]:
    s = Index(built[1]).open()
    yield s
    s.close()


@pytest.fixture()
def fresh(tmp_path: Path) -> tuple[Path, Path, Config]:
    """A KB and its index of this test's own (to edit), and a Config pointing at both."""
    kb = make_kb(tmp_path / "kb")
    ix = tmp_path / "index"
    Index(ix).build(load_kb(kb))
    cfg = Config(root=tmp_path, kb=kb.resolve(), index_dir=ix, site_dir=tmp_path / "site",
                 mkdocs_yml=tmp_path / "mkdocs.yml")
    return kb, ix, cfg
