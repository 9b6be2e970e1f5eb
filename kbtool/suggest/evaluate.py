"""Scoring the engine against golden tickets: what matters to a support agent.

A golden ticket is `{"id", "subject", "body", "expected": [ids], "audience"?, "kind"?, "half"?}`.

- `expected: [...]` (answerable): P@1, MRR (over the top 10), Recall@5 and nDCG@5 of the ranking,
  whatever the confidence shown.
- `expected: []` means the right answer is *no suggestion*. The ticket is correctly abstained on
  when nothing is suggested **or only "low"** suggestions are: low is shown to agents as "maybe,
  check it", never offered to a customer as an answer, so it counts as abstaining. A "high" or
  "medium" top suggestion is a false positive.
- `audience` is the ticket's own (customers get public content only); tickets that set none get
  the default, which is `suggest`'s default: public.
- `kind` (vague, log, email, ...) gives a per-kind breakdown of the same metrics.
- An expected id the index does not hold, or that the ticket's audience may not see, is
  reported in `EvalReport.unknown` and the ticket is left out of the scores (a typo in a
  golden file is not a ranking miss).
- The calibration table says how often the top suggestion is right at each confidence level,
  over every scored ticket (a suggestion on a no-answer ticket is wrong).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..config import AUDIENCES
from .engine import DocMeta, SuggestResult
from .ticket import Ticket

CONFIDENCES = ("high", "medium", "low")
ANSWERING = ("high", "medium")  # what counts as offering an answer (low counts as abstaining)
HALVES = ("tune", "report")


class Suggester(Protocol):
    """What `evaluate` needs of an engine."""

    def suggest(self, ticket: Ticket, snippets: bool = True) -> SuggestResult: ...

    def article(self, doc_id: str, internal: bool = False) -> DocMeta | None: ...


@dataclass
class Miss:
    """A golden ticket scored wrong: its expected article did not come first, or (no answer
    expected) it got a high/medium suggestion."""

    id: Any  # the golden line's id, as written (None if it has none)
    subject: str  # its first 120 characters
    expected: list[str]
    got: list[str]  # the top 3 suggested
    rank: int | None  # the first expected article's rank in the top 10, None if absent
    kind: str = ""
    confidence: str | None = None  # the top suggestion's confidence

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Scores:
    """Metrics over one group of tickets (all, or one kind)."""

    n: int = 0  # tickets scored
    answerable: int = 0  # with a non-empty `expected`
    p_at_1: float = 0.0  # over answerable tickets
    mrr: float = 0.0
    recall_at_5: float = 0.0
    ndcg_at_5: float = 0.0
    no_answer: int = 0  # tickets whose right answer is no suggestion
    abstained: int = 0  # of those, how many got nothing (or only "low")

    @property
    def abstention(self) -> float | None:
        return self.abstained / self.no_answer if self.no_answer else None

    def to_dict(self) -> dict[str, Any]:
        r = (lambda x: round(x, 4))  # noqa: E731
        return {"n": self.n, "answerable": self.answerable, "p@1": r(self.p_at_1), "mrr": r(self.mrr),
                "recall@5": r(self.recall_at_5), "ndcg@5": r(self.ndcg_at_5), "no_answer": self.no_answer,
                "abstained": self.abstained,
                "abstention": None if self.abstention is None else r(self.abstention)}


@dataclass
class Outcome:
    """One scored ticket."""

    kind: str
    expected: set[str]
    ranked: list[str]
    confidence: str | None  # of the top suggestion

    @property
    def first(self) -> int | None:
        return next((r for r, i in enumerate(self.ranked, 1) if i in self.expected), None)

    @property
    def right(self) -> bool:
        """Answerable: the top suggestion is expected. No answer expected: nothing high/medium."""
        if self.expected:
            return self.first == 1
        return self.confidence not in ANSWERING


@dataclass
class EvalReport:
    overall: Scores
    by_kind: dict[str, Scores]
    calibration: dict[str, tuple[int, int]]  # top-suggestion confidence -> (tickets, right)
    misses: list[Miss]
    unknown: list[str] = field(default_factory=list)  # "ticket id: expected id (why)", not scored
    semantic: bool = False

    # the overall figures under their historical names
    @property
    def n(self) -> int:
        return self.overall.n

    @property
    def p_at_1(self) -> float:
        return self.overall.p_at_1

    @property
    def mrr(self) -> float:
        return self.overall.mrr

    @property
    def recall_at_5(self) -> float:
        return self.overall.recall_at_5

    @property
    def ndcg_at_5(self) -> float:
        return self.overall.ndcg_at_5

    def metrics(self) -> dict[str, Any]:
        return {**self.overall.to_dict(), "semantic": self.semantic}

    def to_dict(self) -> dict[str, Any]:
        return {**self.metrics(), "by_kind": {k: s.to_dict() for k, s in self.by_kind.items()},
                "calibration": {c: {"n": n, "right": ok, "precision": round(ok / n, 4) if n else None}
                                for c, (n, ok) in self.calibration.items()},
                "unknown": self.unknown, "misses": [m.to_dict() for m in self.misses]}


def _scores(outcomes: list[Outcome]) -> Scores:
    s = Scores(n=len(outcomes))
    p1 = mrr = rec5 = ndcg = 0.0
    for o in outcomes:
        if not o.expected:
            s.no_answer += 1
            s.abstained += o.right
            continue
        s.answerable += 1
        first = o.first
        p1 += first == 1
        mrr += 1 / first if first else 0
        rec5 += len(o.expected & set(o.ranked[:5])) / len(o.expected)
        dcg = sum(1 / math.log2(r + 1) for r, i in enumerate(o.ranked[:5], 1) if i in o.expected)
        ndcg += dcg / sum(1 / math.log2(r + 1) for r in range(1, min(len(o.expected), 5) + 1))
    n = max(s.answerable, 1)
    s.p_at_1, s.mrr, s.recall_at_5, s.ndcg_at_5 = p1 / n, mrr / n, rec5 / n, ndcg / n
    return s


def _unreachable(engine: Suggester, case: dict[str, Any], audience: str) -> list[str]:
    """The expected ids of `case` that its audience cannot be suggested, each with why."""
    out = []
    for doc_id in case["expected"]:
        if engine.article(doc_id, internal=True) is None and engine.article(doc_id) is None:
            out.append(f"{case.get('id')}: {doc_id} (not a live article in the index)")
        elif engine.article(doc_id, internal=audience == "internal") is None:
            out.append(f"{case.get('id')}: {doc_id} (not visible to a {audience} ticket)")
    return out


def evaluate(engine: Suggester, cases: list[dict[str, Any]], audience: str = "public",
             semantic: bool = True) -> EvalReport:
    """Score `engine` on golden tickets (`audience`: for tickets that name none; `semantic=False`:
    the lexical ranking even where the engine has embeddings). See the module docstring."""
    outcomes: list[Outcome] = []
    misses: list[Miss] = []
    unknown: list[str] = []
    calibration = {c: (0, 0) for c in CONFIDENCES}
    used = False  # whether the model took part (the engine has embeddings and `semantic` asked for them)
    for case in cases:
        aud = case.get("audience") or audience
        bad = _unreachable(engine, case, aud)
        if bad:
            unknown += bad
            continue
        res = engine.suggest(Ticket(case.get("subject", ""), case.get("body", ""), case.get("product"), aud, 10,
                                    semantic), snippets=False)
        used = used or res.semantic
        top = res.suggestions[0].confidence if res.suggestions else None
        o = Outcome(str(case.get("kind") or "-"), set(case["expected"]), [s.id for s in res.suggestions], top)
        outcomes.append(o)
        if top is not None:
            n, ok = calibration[top]
            calibration[top] = (n + 1, ok + (bool(o.expected) and o.first == 1))
        if not o.right:
            misses.append(Miss(case.get("id"), case.get("subject", "")[:120], sorted(o.expected), o.ranked[:3],
                               o.first, o.kind, top))
    kinds = sorted({o.kind for o in outcomes})
    by_kind = {k: _scores([o for o in outcomes if o.kind == k]) for k in kinds}
    return EvalReport(_scores(outcomes), by_kind, calibration, misses, unknown, used)


def read_golden(path: Path, half: str | None = None) -> list[dict[str, Any]]:
    """Golden tickets, one JSON object a line (`half`: only that half's); a malformed line
    raises ValueError naming it."""
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{n}: invalid JSON: {e.msg}") from None
        problem = _golden_problem(obj)
        if problem:
            raise ValueError(f"{path}:{n}: {problem}")
        if half is None or obj.get("half") == half:
            cases.append(obj)
    return cases


def _golden_problem(obj: Any) -> str | None:
    """What is wrong with one golden line, or None."""
    if not isinstance(obj, dict) or not isinstance(obj.get("expected"), list):
        return "each line needs an object with an 'expected' list of ids ([] = no article answers it)"
    if not all(isinstance(i, str) and i for i in obj["expected"]):
        return "'expected' holds article ids (non-empty strings)"
    if not isinstance(obj.get("subject", ""), str) or not isinstance(obj.get("body", ""), str):
        return "'subject' and 'body' must be strings"
    if obj.get("audience") is not None and obj["audience"] not in AUDIENCES:
        return f"'audience' must be one of {', '.join(AUDIENCES)}"
    if obj.get("half") is not None and obj["half"] not in HALVES:
        return f"'half' must be one of {', '.join(HALVES)}"
    if obj.get("kind") is not None and not isinstance(obj["kind"], str):
        return "'kind' must be a string"
    return None
