"""`Snapshot.search` on the shared corpus: ranking, filters, query syntax, fragments, did-you-mean."""

from __future__ import annotations

import threading

import pytest

from kbtool.index import BadQuery, Filters, Snapshot

LIVE_IDS = 11  # indexed and visible by default (13 minus the draft and the retired one)


def ids(result) -> list[str]:
    return [h.id for h in result.hits]


# --- ranking: boosts and error codes -------------------------------------------------------


def test_title_match_outranks_body_only_match(snap: Snapshot) -> None:
    r = snap.search("quarantined")
    assert ids(r)[:2] == ["release-quarantined-attachments", "attachment-scanning"]
    assert r.hits[0].score > r.hits[1].score > 0


def test_a_word_found_in_one_field_still_scores(snap: Snapshot) -> None:
    # Whoosh's coordination scaling scored such hits 0 (ranking them arbitrarily).
    r = snap.search("okta")
    assert ids(r) == ["saml-403-user-not-assigned"] and r.hits[0].score > 0


@pytest.mark.parametrize("query", ["SAML-403", "saml-403", "error_code:SAML-403"])
def test_error_code_matches_as_a_whole(snap: Snapshot, query: str) -> None:
    assert ids(snap.search(query))[0] == "saml-403-user-not-assigned"


def test_underscore_error_code_matches_as_a_whole(snap: Snapshot) -> None:
    r = snap.search("ERR_CERT_DATE_INVALID")
    assert ids(r)[0] == "err-cert-date-invalid"
    assert ids(snap.search("NET::ERR_CERT_DATE_INVALID"))[0] == "err-cert-date-invalid"


@pytest.mark.parametrize("query, expected", [
    ("403", "saml-403-user-not-assigned"),
    ("saml 403", "saml-403-user-not-assigned"),
    ("CERT_DATE", "err-cert-date-invalid"),
    ("cert date invalid", "err-cert-date-invalid"),
    ("sig mismatch", "webhook-signature-mismatch"),
])
def test_error_code_matches_by_its_parts(snap: Snapshot, query: str, expected: str) -> None:
    assert ids(snap.search(query))[0] == expected


# --- filters ---------------------------------------------------------------------------------


def test_default_filters_exclude_drafts_and_retired(snap: Snapshot) -> None:
    r = snap.search("invoice")
    assert set(ids(r)) == {"invoice-download", "invoice-refund-internal", "billing-dispute-handling"}
    assert r.total == 3


def test_include_retired_shows_replaced_by(snap: Snapshot) -> None:
    r = snap.search("invoice", Filters(include_retired=True))
    hit = next(h for h in r.hits if h.id == "invoice-legacy-portal")
    assert hit.status == "retired" and hit.replaced_by == "invoice-download"
    assert "invoice-numbering-draft" not in ids(r)  # retired added, drafts still out


def test_all_statuses(snap: Snapshot) -> None:  # what `--all` asks for
    r = snap.search("invoice", Filters(status=None, include_retired=True))
    assert {"invoice-numbering-draft", "invoice-legacy-portal"} <= set(ids(r))


@pytest.mark.parametrize("filters, expected", [
    (Filters(type="runbook"), {"billing-dispute-handling"}),
    (Filters(status=("draft",)), {"invoice-numbering-draft"}),
    (Filters(status=("in-review",)), {"invoice-refund-internal"}),
    (Filters(audience="public"), {"invoice-download"}),
    (Filters(audience="internal"), {"invoice-refund-internal", "billing-dispute-handling"}),
    (Filters(product="webhooks"), set()),
    (Filters(tag="invoices"), {"invoice-download"}),
    (Filters(tag="INVOICES"), {"invoice-download"}),
    (Filters(type="faq", status=("draft", "in-review")), {"invoice-numbering-draft", "invoice-refund-internal"}),
])
def test_filters(snap: Snapshot, filters: Filters, expected: set[str]) -> None:
    r = snap.search("invoice", filters)
    assert set(ids(r)) == expected and r.total == len(expected)


def test_total_counts_only_documents_the_filters_let_through(snap: Snapshot) -> None:
    everything = snap.search("invoice", Filters(status=None), limit=100).total
    r = snap.search("invoice", limit=1)  # fewer hits than matches: the total is counted separately
    assert len(r.hits) == 1 and r.total == 3 < everything == 5


# --- query syntax ------------------------------------------------------------------------------


def test_phrase(snap: Snapshot) -> None:
    assert ids(snap.search('"signature verification"')) == ["webhook-signature-mismatch"]
    assert ids(snap.search('"verification signature"')) == []


def test_phrase_over_error_code_words_does_not_crash(snap: Snapshot) -> None:
    # The error-code fields have no positions: Whoosh raised QueryError for such phrases.
    assert ids(snap.search('"cert date"'))[0] == "err-cert-date-invalid"
    assert "webhook-signature-mismatch" in ids(snap.search('"webhook sig"'))


def test_and(snap: Snapshot) -> None:
    assert ids(snap.search("webhook AND signature")) == ["webhook-signature-mismatch"]


def test_not_excludes(snap: Snapshot) -> None:
    # With OR grouping Whoosh read "a NOT b" as "a OR (NOT b)": every document without b.
    r = snap.search("webhook NOT timeout")
    assert set(ids(r)) == {"webhook-signature-mismatch", "webhook-backlog-drain"}
    assert snap.search("attachments NOT discount").total == 2  # NOT a missing word divided by zero


def test_field_value(snap: Snapshot) -> None:
    assert ids(snap.search("title:signature")) == ["webhook-signature-mismatch"]
    assert set(ids(snap.search("type:runbook"))) == {"webhook-backlog-drain", "billing-dispute-handling"}
    assert ids(snap.search("symptoms:dashboards")) == ["reporting-databases-maintenance"]


def test_wildcards(snap: Snapshot) -> None:
    assert set(ids(snap.search("quarantin*"))) == {"release-quarantined-attachments", "attachment-scanning"}
    r = snap.search("*", limit=100)
    assert r.total == LIVE_IDS and len(r.hits) == LIVE_IDS


def test_star_on_a_sparse_field_means_has_a_value(snap: Snapshot) -> None:
    assert set(ids(snap.search("error_code:*", limit=100))) == {
        "webhook-delivery-timeouts", "webhook-signature-mismatch", "saml-403-user-not-assigned", "err-cert-date-invalid"}
    assert snap.search("* NOT webhook", limit=100).total == LIVE_IDS - 3


@pytest.mark.parametrize("query", ["created:notadate", "last_reviewed:[soon TO later]"])
def test_bad_query_raises(snap: Snapshot, query: str) -> None:
    with pytest.raises(BadQuery) as e:
        snap.search(query)
    assert isinstance(e.value, ValueError) and str(e.value)


# --- highlighting and did-you-mean --------------------------------------------------------------


def test_fragment_highlights_matched_words(snap: Snapshot) -> None:
    hit = snap.search("receiver payload").hits[0]
    assert hit.id == "webhook-delivery-timeouts"
    assert "**receiver**" in hit.fragment and "**payload**" in hit.fragment


def test_fragment_highlights_error_code_found_by_code_field(snap: Snapshot) -> None:
    frag = snap.search("SAML-403").hits[0].fragment
    assert "**SAML**-**403**" in frag


def test_fragment_markup_ansi(snap: Snapshot) -> None:
    frag = snap.search("receiver", markup="ansi").hits[0].fragment
    assert "\033[1;33mreceiver\033[0m" in frag and "**" not in frag


@pytest.mark.parametrize("query, suggestion", [
    ("webhok", "webhook"),
    ("databse", "database"),  # not the stem "databas", not the commoner "databases"
    ("title:webhok", "title:webhook"),
    ("webhok timeout", "webhook timeout"),
])
def test_did_you_mean_from_unstemmed_field(snap: Snapshot, query: str, suggestion: str) -> None:
    assert snap.search(query).did_you_mean == suggestion


def test_no_did_you_mean_for_good_results(snap: Snapshot) -> None:
    assert snap.search("webhook").did_you_mean is None


# --- threads -------------------------------------------------------------------------------------


def test_concurrent_searches_in_threads(snap: Snapshot) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for q in ("webhook", "SAML-403", "invoice", "quarantin*", '"signature verification"'):
                assert snap.search(q).hits
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
