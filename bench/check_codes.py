"""The precision check of imported `error_codes` (issue 19): a seeded sample of the codes
`kbtool import docfx` extracts from the OfficeDocs corpus, each with the line it came
from, for a person to judge (a real code, or a number that only looks like one).

    .venv/bin/python bench/check_codes.py [--sample 50] [--seed 19] [--work DIR]

It imports the corpus once into the work folder (as bench_lint.py does, and shares its
copy), prints how many articles got codes and how many distinct codes there are, then the
sample: code, article, and the source line holding it. The verdict is a reader's, not the
script's: the README states the last one, with the date it was read.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_lint import officedocs_kb  # noqa: E402
from bench_suggest import OFFICEDOCS  # noqa: E402

from kbtool.content import load_kb  # noqa: E402
from kbtool.importers.codes import code_sources  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=REPO / "bench" / "out" / "lint", help="where the import is kept")
    ap.add_argument("--sample", type=int, default=50, help="codes to sample (default 50)")
    ap.add_argument("--seed", type=int, default=19)
    args = ap.parse_args()
    if not OFFICEDOCS.is_dir():
        sys.exit(f"check_codes: the OfficeDocs corpus is not at {OFFICEDOCS}")
    kb = load_kb(officedocs_kb(args.work))
    found = []  # (code, article id, the source line it is on)
    for a in kb.articles:
        lines = "\n".join(code_sources(a.title, a.body)).splitlines()
        for code in a.error_codes:
            line = next((ln.strip() for ln in lines if code.split()[-1] in ln), "")
            found.append((code, a.id, line))
    with_codes = sum(1 for a in kb.articles if a.error_codes)
    print(f"{len(kb.articles)} articles, {with_codes} with error_codes, {len(found)} codes "
          f"({len({c.upper() for c, _, _ in found})} distinct)")
    for k, (code, doc_id, line) in enumerate(random.Random(args.seed).sample(found, min(args.sample, len(found))), 1):
        print(f"{k:3}. {code:<16} {doc_id}\n     {line[:160]}")


if __name__ == "__main__":
    main()
