"""Gap mining finds what is really missing: three sample-KB articles removed, their topics'
tickets among ordinary ones, run offline through the real engine and index."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from kbtool.insights import GapTicket, cluster_gaps, make_window, open_engine, read_tickets, report
from kbtool.insights.gaps import leader_clusters, suggested_title

REMOVED = ("vat-tax-id", "slack-integration-setup", "account-deletion")


def _purity(gap_project: Any, cluster: Any) -> tuple[str, float]:
    topics = Counter(gap_project.topic_of.get(k.removeprefix("t:"), "") for k in cluster.ticket_keys)
    topic, n = topics.most_common(1)[0]
    return topic, n / cluster.size


@pytest.fixture(scope="module")
def offline(gap_project: Any) -> Any:
    engine = open_engine(gap_project.config, gap_project.kb)
    return report(read_tickets(gap_project.export), gap_project.kb, engine=engine, config=gap_project.config,
                  method="lexical")


def test_each_removed_topic_surfaces_as_a_cluster(offline: Any, gap_project: Any) -> None:
    g = offline.gaps
    assert g.method == "lexical"
    found = {}
    for c in g.clusters:
        topic, purity = _purity(gap_project, c)
        if topic and purity >= 0.7:
            found.setdefault(topic, c)
    assert set(found) == set(REMOVED), [(_purity(gap_project, c), c.top_terms) for c in g.clusters]
    assert "vat" in found["vat-tax-id"].top_terms
    assert "slack" in found["slack-integration-setup"].top_terms
    # ordinary tickets mostly do not form gap clusters: most clusters are removed topics
    precision = sum(1 for c in g.clusters if _purity(gap_project, c)[0]) / len(g.clusters)
    print(f"gap mining: {len(found)}/3 removed topics found, {len(g.clusters)} clusters, precision {precision:.2f}")
    assert precision >= 0.6
    ordinary_clustered = sum(1 for c in g.clusters for k in c.ticket_keys if not gap_project.topic_of[k[2:]])
    assert ordinary_clustered <= 0.1 * sum(1 for t in gap_project.topic_of.values() if not t)


def test_clusters_are_described(offline: Any) -> None:
    for c in offline.gaps.clusters:
        assert c.size >= 3 and len(c.representatives) == 3 and c.top_terms and c.suggested_title
        assert c.first_half + c.second_half == c.size
        assert c.nearest is not None and 0.0 <= c.nearest.similarity <= 1.0
        assert c.nearest.id not in REMOVED  # only live articles can be nearest
    vat = next(c for c in offline.gaps.clusters if "vat" in c.top_terms)
    assert vat.trend == "rising"  # its tickets all come in the second half of the window


def test_representatives_are_redacted(gap_project: Any, tmp_path: Any) -> None:
    export = tmp_path / "t.jsonl"
    rows = [f'{{"id": "r{i}", "subject": "VAT number invalid", "body": "Our VAT number DE12345678{i} is rejected, '
            f'write to jane.doe{i}@acme-corp.com or call +44 20 7946 09{i:02d}"}}' for i in range(4)]
    export.write_text("\n".join(rows), encoding="utf-8")
    rep = report(read_tickets(export), gap_project.kb, engine=open_engine(gap_project.config, gap_project.kb),
                 method="lexical")
    texts = [r.text for c in rep.gaps.clusters for r in c.representatives]
    assert texts and all("acme-corp.com" not in t and "[EMAIL]" in t and "7946" not in t for t in texts)


def test_leader_clusters_do_not_chain_through_a_generic_ticket() -> None:
    # 0-1-2 are one topic, 4-5-6 another; ticket 3 is close to 2 and 4 only
    neigh = [np.array(n) for n in ([1, 2], [0, 2], [0, 1, 3], [2, 4], [3, 5, 6], [4, 6], [4, 5])]
    label = leader_clusters(neigh, min_size=3)
    assert label[0] == label[1] == label[2] != label[5] == label[6]
    assert len(set(label.tolist()) - {-1}) == 2


def test_suggested_title() -> None:
    assert suggested_title("delete my account please", ["delete"]) == "Delete my account please"
    assert suggested_title("help", ["vat", "invoice", "number"]) == "Vat invoice number"


def test_fewer_tickets_than_a_cluster_gives_no_cluster() -> None:
    now = datetime.now(UTC)
    window = make_window(now - timedelta(days=1), now, None, None)
    g = cluster_gaps([GapTicket("t:1", "x", "x y z", now, "abstained")], [], window, method="lexical")
    assert g.clusters == [] and g.unanswered == 1


@pytest.mark.slow
@pytest.mark.semantic
def test_semantic_clustering_finds_the_removed_topics(gap_project: Any) -> None:
    engine = open_engine(gap_project.config, gap_project.kb)
    rep = report(read_tickets(gap_project.export), gap_project.kb, engine=engine, method="semantic")
    topics = {t for c in rep.gaps.clusters for t, p in [_purity(gap_project, c)] if t and p >= 0.7}
    assert rep.gaps.method == "semantic" and topics == set(REMOVED)
