"""`kbtool.importers.common`: ids, front-matter, dates, types, the fence scanner, whitespace, link targets."""

from __future__ import annotations

from pathlib import Path

from kbtool.content import fence_mask
from kbtool.importers import Imported, ImportReport, Skipped, choose_type, parse_docfx_date, render_front_matter, slug
from kbtool.importers.common import (
    as_list,
    claim_id,
    clip,
    existing_ids,
    fence_kinds,
    first_paragraph,
    link_spans,
    map_link_targets,
    tidy,
    write_article,
)

TROUBLESHOOTING = {"troubleshooting": ["Symptoms", "Cause", "Resolution"]}


def test_slug() -> None:
    assert slug("can't-search-additional-mailbox") == "cant-search-additional-mailbox"
    assert slug("Groups-dont-synchronize") == "groups-dont-synchronize"
    assert slug("Résumé: über (v2)") == "resume-uber-v2"
    # cut at a hyphen in the second half when there is one, else hard
    assert slug("alpha-beta-gamma", 12) == "alpha-beta"
    assert slug("abcdefghijkl", 5) == "abcde"


def test_parse_docfx_date() -> None:
    assert parse_docfx_date("01/24/2024").isoformat() == "2024-01-24"
    assert parse_docfx_date("3/5/2024").isoformat() == "2024-03-05"
    assert parse_docfx_date("2024-02-29").isoformat() == "2024-02-29"
    assert parse_docfx_date("13/45/2024") is None and parse_docfx_date(None) is None
    assert parse_docfx_date("2023-02-29") is None  # not a real day


def test_render_front_matter() -> None:
    fm = render_front_matter({"id": "404", "title": "yes", "tags": ["a", "b"], "owner": "v-six", "related": []})
    assert fm == '---\nid: "404"\ntitle: "yes"\ntags: [a, b]\nowner: v-six\n---\n'


def test_front_matter_values_read_back_as_the_strings_written() -> None:
    """Every string value comes back from a YAML reader as that string: plain only when no
    reader would take it for a number or a boolean (imported error codes such as 0x8007016a)."""
    import yaml

    values = ["0x8007016a", "0x00000008", "0b101", "0o17", "404", "1e3", "1_000", "-7", "yes", "off", "v-six",
              "30088-26", "aadsts50076", "plain-slug"]
    fm = render_front_matter({"error_codes": values, "id": "0x1f"})
    meta = yaml.safe_load(fm.strip().strip("-"))
    assert meta == {"error_codes": values, "id": "0x1f"}, fm
    assert "plain-slug]" in fm and "v-six, " in fm  # (slugs still written plain)


def test_choose_type() -> None:
    body = "## Symptoms\n\nx\n\n## Cause\n\ny\n\n## Resolution\n\n"
    assert choose_type(body, "troubleshooting", TROUBLESHOOTING) == "reference"  # an empty section
    assert choose_type(body + "z\n", None, TROUBLESHOOTING) == "troubleshooting"
    assert choose_type("## Steps\n\n- a\n", "howto", {"howto": ["Steps"]}) == "reference"  # KB203: not numbered
    assert choose_type("## Steps\n\n1. a\n", "howto", {"howto": ["Steps"]}) == "howto"
    assert choose_type("## Q?\n\nA.\n", None, TROUBLESHOOTING, fallback="faq") == "faq"


def test_summaries_and_lists() -> None:
    assert clip("  one\n two  ") == "one two"
    assert clip("alpha beta, gamma delta", 14) == "alpha beta…"
    assert first_paragraph("# Title\n\n> quoted\n\nThe **first** [para](x.md)\nwith `code`.\n\nSecond.\n") == \
        "The first para with code."
    assert as_list("a, b ,, c") == ["a", "b", "c"]
    assert as_list(["x ", None, "", " y  z"]) == ["x", "y z"] and as_list(None) == []


def test_fences_follow_commonmark() -> None:
    lines = ["- text", "  ```ps", "  x", "    ```", "after", "~~~~", "~~~", "~~~~", "```a`b", "> ```", "> q", "> ```"]
    # in a list item a closer may be indented up to three columns more than the item's content;
    # a shorter run does not close;
    # a backtick opener's info string may not contain a backtick; fences inside quotes count
    assert fence_kinds(lines) == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]
    assert fence_mask(lines) == [k != 0 for k in fence_kinds(lines)]
    assert fence_kinds(["> ```", "> q", "> ```"], unquoted_only=True) == [0, 0, 0]
    assert fence_kinds(["```", "x", "      ```"]) == [1, 2, 2]  # four more columns: still code
    assert fence_kinds(["  ```", "x", "    ```"]) == [1, 2, 2]  # top level: 4 columns is code (as markdown-it)
    assert fence_kinds(["> ```", "> q", "after"]) == [1, 2, 0]  # an unclosed quoted fence ends with its quote


def test_tidy_whitespace() -> None:
    # hard breaks kept, other trailing spaces dropped, a closing fence re-indented
    assert tidy("a  \nb   \n\n\n- c\n\n  ```ps\n  x  \n    ```\n") == "a  \nb\n\n- c\n\n  ```ps\n  x\n  ```\n"
    assert tidy("\n\nx\n\n\n\ny  \n\n") == "x\n\ny\n"  # a break before nothing is not kept


def test_link_targets() -> None:
    # balanced parentheses in a target; a "link" with spaces is not one
    line = 'see ![x](media/a-(b)-c.png "t") and [T](IEnumerable input, X)'
    assert [line[a:b] for a, b in link_spans(line)] == ["media/a-(b)-c.png"]
    line = "[a](<b c.md>) [d](e.md 'f')"
    assert [line[a:b] for a, b in link_spans(line)] == ["b c.md", "e.md"]
    upper = map_link_targets("[a](x.md) `[b](y.md)` [c]: z.md", str.upper)
    assert upper == "[a](X.MD) `[b](y.md)` [c]: z.md"  # inline code untouched; a ref definition only at the start
    assert map_link_targets("[c]: z.md", str.upper) == "[c]: Z.MD"


def test_ids_and_writing(tmp_path: Path) -> None:
    dest = tmp_path / "kb"
    (dest / "runbooks" / "deep").mkdir(parents=True)
    (dest / "runbooks" / "deep" / "taken.md").write_text("x", encoding="utf-8")
    existing = existing_ids(dest)
    assert existing == {"taken": dest / "runbooks" / "deep" / "taken.md"}
    assert claim_id("taken", set(), dest, existing, ["folder-taken"]) == "folder-taken"
    assert claim_id("taken", {"folder-taken"}, dest, existing, ["folder-taken"]) == "taken-2"
    assert claim_id("free", set(), dest, existing) == "free"
    # a file at exactly articles/<id>.md does not block the id (force may overwrite it)
    assert claim_id("mine", set(), dest, {"mine": dest / "articles" / "mine.md"}) == "mine"

    target = dest / "articles" / "mine.md"
    assert write_article(target, "one\n", force=False) is True
    assert write_article(target, "two\n", force=False) is False and target.read_text(encoding="utf-8") == "one\n"
    assert write_article(target, "two\n", force=True) is True and target.read_text(encoding="utf-8") == "two\n"
    assert [p.name for p in target.parent.iterdir()] == ["mine.md"]  # no temp file left behind


def test_report_counts_and_conflicts(tmp_path: Path) -> None:
    report = ImportReport("docfx", tmp_path, tmp_path / "kb")
    report.imported.append(Imported("a.md", "articles/a.md", "a", "howto", "published", "public"))
    report.skipped += [Skipped("b.md", "exists: articles/b.md (use --force to overwrite)"), Skipped("c.md", "empty body")]
    assert [s.source for s in report.conflicts] == ["b.md"]
    assert report.counts()["types"] == {"howto": 1}
    assert report.summary().startswith("imported 1 article(s) (howto 1); skipped 2; 0 construct(s) not converted; "
                                       "source problems: none; 0 asset(s) copied; ")
    assert report.to_dict()["imported"][0]["notes"] == []
