"""Benchmark `kbtool lint` on a generated 10,000-article KB.

    .venv/bin/python bench/bench_lint.py [--articles 10000] [--keep DIR] [--no-cli]

Generates a KB shaped like the sample one (front-matter with every field, 250-450
words per article in the required sections of its type, numbered steps, code blocks,
relative links with #anchors to other articles, tags) plus 1% planted near-duplicates
and a sprinkling of defects, then times, separately:

  load    kbtool.content.load_kb (parsing; not lint's code)
  lint    kbtool.lint.run_lint with every default rule, duplicates included
  cli     `kbtool lint --kb DIR --today ... --format json` end to end, in a subprocess

and prints wall-clock and CPU seconds for each (CPU time is the fair figure when other
processes share the machine). Target: `kbtool lint` well under 10 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kbtool.config import load_config  # noqa: E402
from kbtool.content import load_kb  # noqa: E402
from kbtool.lint import run_lint  # noqa: E402

TODAY = date(2026, 11, 23)
WORDS = """
account admin api app assertion attribute audit authentication backup billing browser bulk
cache card certificate change check clear click client code config connection console create
customer data date default delete delivery domain download email enable endpoint error event
export failed field file filter group header identity import integration invoice issue jira
key limit link list log login message mobile notification open option orbit owner page password
payment permission plan policy project provider provisioning push rate redirect refresh report
request reset response retry role rotate rule saml scim search secret security select send
server session settings setup sign signature slack sso status step sync team tenant test ticket
time token update upload user value verify view webhook workspace
the a an to of in for on with and or is are be it that this you your when if after before then
from by at as not can will should must may each new other same all any more most only also
""".split()
TYPES = ["troubleshooting", "howto", "known-issue", "faq", "reference"]
SECTIONS = {
    "troubleshooting": ["Symptoms", "Cause", "Resolution"],
    "known-issue": ["Symptoms", "Cause", "Workaround", "Status"],
    "howto": ["Before you begin", "Steps"],
    "faq": ["Question", "Answer"],
    "reference": ["Overview", "Details", "Limits"],
}
PRODUCTS = ["auth", "sso", "scim", "api", "webhooks", "browser", "data", "billing", "admin", "email"]


def _sentence(rng: random.Random, weights: list[float]) -> str:
    n = rng.randint(8, 18)
    words = rng.choices(WORDS, weights=weights, k=n)
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def _paragraph(rng: random.Random, weights: list[float], sentences: int) -> str:
    return " ".join(_sentence(rng, weights) for _ in range(sentences))


def generate(root: Path, n: int, seed: int = 7) -> int:
    """Write n articles under root/articles; returns the number of planted near-duplicates."""
    rng = random.Random(seed)
    weights = [1.0 / (i + 1) ** 0.9 for i in range(len(WORDS))]  # Zipf-like word frequencies
    rng.shuffle(weights)
    art = root / "articles"
    art.mkdir(parents=True)
    ids = [f"article-{i:05d}" for i in range(n)]
    dup_every = 100
    # a planted near-duplicate keeps the type of the article it copies
    types = [TYPES[(i - 1 if i % dup_every == 1 and i > 1 else i) % len(TYPES)] for i in range(n)]
    bodies: dict[int, str] = {}
    for i, aid in enumerate(ids):
        t = types[i]
        if i % dup_every == 1 and i > 1:
            # near-duplicate of the previous article: same type, a few words changed
            src = bodies[i - 1]
            words = src.split(" ")
            for _ in range(max(1, len(words) // 60)):
                k = rng.randrange(len(words))
                if words[k].isalpha():
                    words[k] = rng.choice(WORDS)
            body = " ".join(words)
        else:
            parts = [_paragraph(rng, weights, 2), ""]
            for sec in SECTIONS[t]:
                parts.append(f"## {sec}\n")
                if sec in ("Steps", "Resolution", "Workaround"):
                    for s in range(1, rng.randint(4, 7)):
                        parts.append(f"{s}. {_sentence(rng, weights)}")
                    parts.append("")
                else:
                    parts.append(_paragraph(rng, weights, rng.randint(3, 6)) + "\n")
            if i % 3 == 0:
                parts.append("```bash\ncurl -H \"Authorization: Bearer <YOUR_API_TOKEN>\" https://api.orbit.example/v2/users\n```\n")
            for _ in range(rng.randint(1, 3)):
                j = rng.randrange(n)
                sec = SECTIONS[types[j]][-1]
                anchor = sec.lower().replace(" ", "-")
                parts.append(f"See [{ids[j]}]({ids[j]}.md#{anchor}) for details.")
            body = "\n".join(parts) + "\n"
        bodies[i] = body
        created = TODAY - timedelta(days=rng.randint(400, 1500))
        reviewed = TODAY - timedelta(days=rng.randint(1, 300))
        if i % 500 == 7:
            reviewed = TODAY - timedelta(days=400)  # overdue: a planted KB301
        title = " ".join(rng.choices(WORDS[:120], k=rng.randint(4, 8))).capitalize() + f" ({i})"
        related = ", ".join(rng.sample(ids, 2))
        tags = ", ".join(sorted(set(rng.choices(WORDS[:120], k=3))))
        front = (
            f"---\nid: {aid}\ntitle: \"{title}\"\ntype: {t}\nstatus: published\naudience: public\n"
            f"owner: team-{i % 12}\nsummary: \"{_sentence(rng, weights)}\"\nproduct: {PRODUCTS[i % len(PRODUCTS)]}\n"
            f"tags: [{tags}]\ncreated: {created}\nlast_reviewed: {reviewed}\nrelated: [{related}]\n---\n\n"
        )
        (art / f"{aid}.md").write_text(front + body, encoding="utf-8")
    return sum(1 for i in range(n) if i % dup_every == 1 and i > 1)


class _timer:
    """Wall-clock and CPU (process) time of a block: CPU time is what to compare when
    other processes share the machine."""

    def __enter__(self) -> _timer:
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._w
        self.cpu = time.process_time() - self._c

    def __lt__(self, other: _timer) -> bool:
        return self.wall < other.wall

    def __str__(self) -> str:
        return f"{self.wall:6.2f} s {self.cpu:6.2f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--keep", type=Path, help="generate into this (new) directory and keep it")
    ap.add_argument("--no-cli", action="store_true", help="skip the end-to-end CLI run")
    ap.add_argument("--repeat", type=int, default=3, help="report the best of N runs (default 3)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="kbtool-bench-")) if args.keep is None else args.keep
    kb_dir = tmp / "kb"
    try:
        t0 = time.perf_counter()
        planted = generate(kb_dir, args.articles)
        t_gen = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in (kb_dir / "articles").iterdir())
        print(f"generated {args.articles} articles ({size / 1e6:.1f} MB, {planted} planted near-duplicates) "
              f"in {t_gen:.1f} s  [{kb_dir}]")
        print(f"machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}")

        cfg = load_config(cwd=tmp, kb=kb_dir)
        print(f"load average before: {os.getloadavg()[0]:.2f} (other processes compete for the 2 cores)")
        print(f"best of {args.repeat} runs      wall      cpu")
        t_load = t_lint = t_dup = None
        for _ in range(args.repeat):  # best of N: the figure least disturbed by other processes
            with _timer() as t:
                kb = load_kb(kb_dir)
            t_load = min(t_load or t, t)
            with _timer() as t:
                result = run_lint(kb, cfg, today=TODAY)
            t_lint = min(t_lint or t, t)
            with _timer() as t:
                dup_only = run_lint(kb, cfg, today=TODAY, select=["KB501"])
            t_dup = min(t_dup or t, t)
        assert t_load and t_lint and t_dup
        counts: dict[str, int] = {}
        for f in result.findings:
            counts[f.code] = counts.get(f.code, 0) + 1
        print(f"load_kb:          {t_load}")
        print(f"run_lint (all):   {t_lint}   findings: {dict(sorted(counts.items()))}")
        print(f"  KB501 alone:    {t_dup}   near-duplicate pairs found: {len(dup_only.findings)} of {planted} planted")
        print(f"load + lint:      {t_load.wall + t_lint.wall:6.2f} s {t_load.cpu + t_lint.cpu:6.2f} s")
        if not args.no_cli:
            cmd = [sys.executable, "-m", "kbtool.cli", "lint", "--kb", str(kb_dir), "--today", TODAY.isoformat(),
                   "--format", "json"]
            best: tuple[float, float] | None = None
            for _ in range(args.repeat):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
                wall = time.perf_counter() - t0
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                best = min(best or (wall, cpu), (wall, cpu))
            assert best is not None
            print(f"kbtool lint (CLI): {best[0]:6.2f} s {best[1]:6.2f} s   exit code {proc.returncode}")
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
