"""Ticket text in, ranked article suggestions out — with the evidence for each.

- `ticket`: the `Ticket`, and what is read from it (clean-up of emails and HTML, error codes);
- `engine`: the `Engine` (BM25F over the index's compiled forward data, error codes, succession,
  confidence, snippets, the optional semantic fusion), its typed results (`SuggestResult`,
  `Suggestion`, `Why`, `Evidence`, `DocMeta`) and the `EngineHolder` that follows index builds;
- `evaluate`: metrics over golden tickets (`evaluate`, `read_golden`, `EvalReport`, `Miss`).

The ranking constants are re-exported for reading; to change one (a benchmark, a test), set it
on `kbtool.suggest.engine`, the module that reads it.
"""

from __future__ import annotations

from .engine import (
    CODE_BONUS,
    FIELD_B,
    FIELD_WEIGHTS,
    K1,
    MAX_QUERY_TERMS,
    PRODUCT_BOOST,
    SEMANTIC_WEIGHT,
    DocMeta,
    Engine,
    EngineHolder,
    Evidence,
    Suggestion,
    SuggestResult,
    Why,
    load_embeddings,
)
from .evaluate import EvalReport, Miss, evaluate, read_golden
from .ticket import ERROR_PATTERNS, Ticket, clean_ticket, extract_error_codes, html_to_text, norm_code

__all__ = [
    "CODE_BONUS", "ERROR_PATTERNS", "FIELD_B", "FIELD_WEIGHTS", "K1", "MAX_QUERY_TERMS", "PRODUCT_BOOST",
    "SEMANTIC_WEIGHT", "DocMeta", "Engine", "EngineHolder", "EvalReport", "Evidence", "Miss", "SuggestResult",
    "Suggestion", "Ticket", "Why", "clean_ticket", "evaluate", "extract_error_codes", "html_to_text",
    "load_embeddings", "norm_code", "read_golden",
]
