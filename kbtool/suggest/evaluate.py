"""Scoring the engine against golden tickets: P@1, MRR, Recall@5, nDCG@5, and the misses."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .engine import SuggestResult
from .ticket import Ticket


class Suggester(Protocol):
    """What `evaluate` needs of an engine."""

    def suggest(self, ticket: Ticket, snippets: bool = True) -> SuggestResult: ...


@dataclass
class Miss:
    """A golden ticket whose expected article did not come first."""

    id: Any  # the golden line's id, as written (None if it has none)
    subject: str  # its first 120 characters
    expected: list[str]
    got: list[str]  # the top 3 suggested
    rank: int | None  # the first expected article's rank in the top 10, None if absent

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class EvalReport:
    n: int
    p_at_1: float
    mrr: float
    recall_at_5: float
    ndcg_at_5: float
    misses: list[Miss]
    semantic: bool = False

    def metrics(self) -> dict[str, Any]:
        return {"n": self.n, "p@1": round(self.p_at_1, 4), "mrr": round(self.mrr, 4),
                "recall@5": round(self.recall_at_5, 4), "ndcg@5": round(self.ndcg_at_5, 4),
                "semantic": self.semantic}


def evaluate(engine: Suggester, cases: list[dict[str, Any]], audience: str = "internal",
             semantic: bool = True) -> EvalReport:
    """P@1, MRR (over the top 10), Recall@5 and nDCG@5 of `engine` on golden tickets
    (`semantic=False`: the lexical ranking even where the engine has embeddings)."""
    p1 = mrr = rec5 = ndcg = 0.0
    misses = []
    used = False  # whether the model took part (the engine has embeddings and `semantic` asked for them)
    for case in cases:
        expected = set(case["expected"])
        res = engine.suggest(Ticket(case.get("subject", ""), case.get("body", ""), case.get("product"), audience, 10,
                                    semantic), snippets=False)
        used = used or res.semantic
        ranked = [s.id for s in res.suggestions]
        first = next((r for r, i in enumerate(ranked, 1) if i in expected), None)
        p1 += first == 1
        mrr += 1 / first if first else 0
        rec5 += len(expected & set(ranked[:5])) / len(expected)
        dcg = sum(1 / math.log2(r + 1) for r, i in enumerate(ranked[:5], 1) if i in expected)
        idcg = sum(1 / math.log2(r + 1) for r in range(1, min(len(expected), 5) + 1))
        ndcg += dcg / idcg
        if first != 1:
            misses.append(Miss(case.get("id"), case.get("subject", "")[:120], sorted(expected), ranked[:3], first))
    n = max(len(cases), 1)
    return EvalReport(len(cases), p1 / n, mrr / n, rec5 / n, ndcg / n, misses, used)


def read_golden(path: Path) -> list[dict[str, Any]]:
    """Golden tickets, one JSON object a line; a malformed line raises ValueError naming it."""
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{n}: invalid JSON: {e.msg}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("expected"), list) or not obj["expected"]:
            raise ValueError(f"{path}:{n}: each line needs an object with a non-empty 'expected' list of ids")
        if not isinstance(obj.get("subject", ""), str) or not isinstance(obj.get("body", ""), str):
            raise ValueError(f"{path}:{n}: 'subject' and 'body' must be strings")
        cases.append(obj)
    return cases
