"""Benchmark the help-center build (`kbtool build` = `kbtool.site.build_site`).

Times the build of the sample KB and of generated KBs with 1,000 and 2,500 public
articles (plus ~10% drafts, internal articles and runbooks that must not be
published), and prints build time, site size, the size of Material's
`search/search_index.json` (total and per 1,000 articles) and the size of an article
page (which stays flat because the navigation is compact).

Generated articles are built from the sample KB's own vocabulary: ~400 words in 3-4
`##` sections, nested lists, a code block, error codes, aliases, tags, related
articles and inline links to other articles.

    .venv/bin/python bench/bench_site.py                 # sample, 1000, 2500
    .venv/bin/python bench/bench_site.py --sizes 500     # sample and 500
    .venv/bin/python bench/bench_site.py --baseline      # also Material's default full-text index
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import kbtool.site.build as site  # noqa: E402  (plan_site is looked up there at build time)
from kbtool.config import load_config  # noqa: E402
from kbtool.content import load_kb  # noqa: E402
from kbtool.site import build_site  # noqa: E402

PRODUCTS = ["auth", "sso", "scim", "api", "webhooks", "browser", "data", "billing", "admin", "email",
            "integrations", "mobile", "platform"]
TYPES = ["troubleshooting"] * 4 + ["howto"] * 3 + ["faq", "reference", "known-issue"]
SECTIONS = {
    "troubleshooting": ["Symptoms", "Cause", "Resolution"],
    "howto": ["Before you begin", "Steps"],
    "faq": ["What it means", "Details"],
    "reference": ["Overview", "Limits", "Details"],
    "known-issue": ["Symptoms", "Cause", "Workaround", "Status"],
}


def _vocabulary() -> list[str]:
    words: list[str] = []
    for f in sorted((REPO / "kb" / "articles").glob("*.md")):
        text = f.read_text(encoding="utf-8").split("---", 2)[-1]
        words += re.findall(r"[A-Za-z][a-z]{2,12}", text)
    return words or "orbit workspace admin console user account setting sign token request".split()


def generate_kb(root: Path, n: int, seed: int = 7) -> None:
    """Write `n` public articles and ~n/10 non-public ones under `root`/{articles,runbooks}."""
    rnd = random.Random(seed)
    vocab = _vocabulary()
    tags_pool = sorted({w.lower() for w in vocab if 4 <= len(w) <= 9})[:400]
    (root / "articles").mkdir(parents=True)
    (root / "runbooks").mkdir()
    ids = [f"article-{i:05d}" for i in range(n)]

    def sentence(k: int = 12) -> str:
        return " ".join(rnd.choice(vocab) for _ in range(k)).capitalize() + "."

    def paragraph(s: int = 3) -> str:
        return " ".join(sentence(rnd.randint(8, 16)) for _ in range(s))

    def write(path: Path, meta: dict, body: str) -> None:
        fm = "\n".join(f"{k}: {v}" for k, v in meta.items())
        path.write_text(f"---\n{fm}\n---\n\n{body}\n", encoding="utf-8")

    for i, aid in enumerate(ids + [f"hidden-{j:05d}" for j in range(n // 10)]):
        hidden = aid.startswith("hidden-")
        t = rnd.choice(TYPES)
        code = f"{rnd.choice(['ERR', 'API', 'SYNC', 'AUTH', 'HOOK'])}-{rnd.randint(100, 999)}"
        others = rnd.sample(ids, 4)
        parts = [paragraph(2)]
        for title in SECTIONS[t]:
            parts.append(f"## {title}")
            if title in ("Steps", "Resolution", "Workaround"):
                parts.append("\n".join(
                    f"{k}. {sentence(rnd.randint(8, 14))}" + (
                        f"\n   - **{rnd.choice(vocab).capitalize()}:** {sentence(8)}\n   - {sentence(6)}" if k == 2 else "")
                    for k in range(1, 6)))
                parts.append(f"```bash\ncurl -s https://api.orbit.example/v2/{rnd.choice(vocab).lower()} "
                             f"-H 'Authorization: Bearer <YOUR_API_TOKEN>'\n```")
            else:
                parts.append(paragraph(rnd.randint(3, 5)))
            if title == "Symptoms":
                parts.append(f"The app shows `{code}: {sentence(6)}`")
        parts.append(f"See also [{sentence(3)[:-1]}]({others[0]}.md) and [{sentence(3)[:-1]}]({others[1]}.md).")
        meta = {
            "id": aid, "title": f'"{sentence(rnd.randint(6, 10))[:-1]} ({code})"', "type": "runbook" if hidden and i % 3 == 0 else t,
            "status": "draft" if hidden and i % 3 == 1 else "published",
            "audience": "internal" if hidden else "public", "owner": "support",
            "summary": f'"{sentence(rnd.randint(14, 22))}"', "product": rnd.choice(PRODUCTS),
            "tags": "[" + ", ".join(rnd.sample(tags_pool, 4)) + "]",
            "created": "2025-01-10", "last_reviewed": f"2026-{rnd.randint(8, 11):02d}-{rnd.randint(10, 28):02d}",
            "error_codes": f'["{code}"]', "aliases": f'["{" ".join(rnd.sample(vocab, 3)).lower()}"]',
            "related": "[" + ", ".join(others[2:]) + "]",
        }
        if meta["type"] == "runbook":
            body = "\n\n".join(f"## {h}\n\n1. {sentence()}\n2. {sentence()}" for h in
                               ("When to use", "Prerequisites", "Steps", "Verification", "Escalation"))
            write(root / "runbooks" / f"{aid}.md", meta, body)
        else:
            write(root / "articles" / f"{aid}.md", meta, "\n\n".join(parts))


def _size(n: float) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} KB"


def _material_default_index(plan_site):  # type: ignore[no-untyped-def]
    """plan_site, but article pages indexed by Material's own indexer (full text): the baseline."""
    def plan(*args, **kwargs):  # type: ignore[no-untyped-def]
        p = plan_site(*args, **kwargs)
        for doc in p.pages:
            if doc.startswith("articles/"):
                p.pages[doc] = p.pages[doc].replace('search: {"exclude": true}\n', "", 1)
        p.search_docs = [d for d in p.search_docs if not d["location"].startswith("articles/")]
        return p
    return plan


def baseline_index_bytes(kb_dir: Path, out: Path) -> int:
    original = site.plan_site
    site.plan_site = _material_default_index(original)
    try:
        cfg = load_config(cwd=REPO, kb=kb_dir)
        return build_site(load_kb(cfg.kb), cfg, site_dir=out).search_index_bytes
    finally:
        site.plan_site = original


def bench(label: str, kb_dir: Path, out: Path) -> dict:
    cfg = load_config(cwd=REPO, kb=kb_dir)
    t0 = time.perf_counter()
    kb = load_kb(cfg.kb)
    t_load = time.perf_counter() - t0
    t1, c1 = time.perf_counter(), time.process_time()
    result = build_site(kb, cfg, site_dir=out)
    t_build, c_build = time.perf_counter() - t1, time.process_time() - c1
    pages = sorted((out / "articles").glob("*/index.html"))
    article_html = [p.stat().st_size for p in pages if not p.read_text(encoding="utf-8").startswith("\n<!doctype html>\n<html lang=\"en\">\n<head>\n    <meta charset=\"utf-8\">\n    <title>Redirecting")]
    return {
        "label": label, "articles": result.articles, "load_s": t_load, "build_s": t_build, "cpu_s": c_build,
        "site": result.site_bytes, "files": result.files, "index": result.search_index_bytes,
        "index_per_1000": result.search_index_bytes * 1000 / max(result.articles, 1),
        "page_avg": sum(article_html) / max(len(article_html), 1), "warnings": len(result.warnings),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[1000, 2500], help="generated KB sizes (public articles)")
    ap.add_argument("--no-sample", action="store_true", help="skip the sample KB")
    ap.add_argument("--baseline", action="store_true",
                    help="also build with Material's default (full-text) search index, for comparison")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out", help="where the sites are built")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    def run(label: str, kb_dir: Path, out: Path) -> None:
        row = bench(label, kb_dir, out)
        if args.baseline:
            row["baseline"] = baseline_index_bytes(kb_dir, out.with_name(out.name + "-baseline"))
        rows.append(row)

    if not args.no_sample:
        run("sample KB", REPO / "kb", args.out / "site-sample")
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"kbtool-bench-{n}-") as tmp:
            t0 = time.perf_counter()
            generate_kb(Path(tmp) / "kb", n)
            print(f"generated {n} articles in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
            run(f"generated {n}", Path(tmp) / "kb", args.out / f"site-{n}")
    print(f"{'KB':<16}{'articles':>9}{'load':>8}{'build':>8}{'(cpu)':>8}{'site':>10}{'files':>7}{'search_index.json':>19}"
          f"{'per 1,000':>11}{'article page':>14}")
    for r in rows:
        print(f"{r['label']:<16}{r['articles']:>9}{r['load_s']:>7.1f}s{r['build_s']:>7.1f}s{r['cpu_s']:>7.1f}s{_size(r['site']):>10}"
              f"{r['files']:>7}{_size(r['index']):>19}{_size(r['index_per_1000']):>11}{_size(r['page_avg']):>14}")
    for r in rows:
        if "baseline" in r:
            print(f"{r['label']}: Material's default full-text index would be {_size(r['baseline'])} "
                  f"({_size(r['baseline'] * 1000 / max(r['articles'], 1))} per 1,000 articles); "
                  f"kbtool's is {r['index'] / r['baseline']:.0%} of that")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"(python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load:.1f}; sites in {args.out})")


if __name__ == "__main__":
    main()
