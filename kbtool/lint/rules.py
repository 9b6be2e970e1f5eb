"""The lint rule registry: every rule `kbtool lint` can report, as data, declared once.

Ruff-style: a rule has a stable code (never reused), a kebab-case name, a default
severity, a one-line message template (the finding's text, filled with the specifics),
its docs (*What it does*, *Why it matters*, *Example*, *Fix*) and whether `--fix` can fix
it. Nothing else declares any of these: the checks look the rule up by code
(`LintContext.report`), `kbtool.lint.fix` registers one fixer per fixable code (a test
holds the two sets equal) and the outputs print what is here.
`kbtool lint --list-rules` prints the table and `kbtool rule CODE` prints one doc.

Code blocks: KB0xx file/parse and KB101-KB108 schema are emitted by the loader
(`kbtool.content`) and passed through; KB109+ schema (cross-file), KB2xx structure,
KB3xx freshness, KB4xx links, KB5xx duplicates, KB6xx sensitive data, KB7xx style are
checked in `kbtool.lint.checks` (KB6xx through `kbtool.lint.sensitive`).
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import get_close_matches

ERROR = "error"
WARNING = "warning"

CATEGORIES = {
    "KB0": "file", "KB1": "schema", "KB2": "structure", "KB3": "freshness",
    "KB4": "links", "KB5": "duplicates", "KB6": "sensitive-data", "KB7": "style",
    "KB8": "consistency",
}


@dataclass(frozen=True)
class RuleDoc:
    """A rule's documentation, one field per section of `kbtool rule CODE`."""

    what: str
    why: str
    example: str
    fix: str

    @property
    def markdown(self) -> str:
        return (
            f"## What it does\n{self.what.strip()}\n\n## Why it matters\n{self.why.strip()}\n\n"
            f"## Example\n{self.example.strip()}\n\n## Fix\n{self.fix.strip()}\n"
        )


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: str
    message: str
    docs: RuleDoc
    fixable: bool = False  # `kbtool lint --fix` has a fixer for it (kbtool.lint.fix.FIXERS)
    default: bool = True  # False: opt-in, runs only when selected explicitly
    by_audience: bool = False  # error in public content, warning in internal content
    loader: bool = False  # emitted by kbtool.content.load_kb, passed through by lint; the
    # message is then the loader's own text, and `message` here shows its shape

    @property
    def category(self) -> str:
        return CATEGORIES.get(self.code[:3], "other")

    @property
    def doc(self) -> str:
        """The docs as Markdown: the `## What it does` ... `## Fix` sections."""
        return self.docs.markdown

    def format(self, **params: object) -> str:
        return self.message.format(**params)

    @property
    def severity_label(self) -> str:
        return "error (public) / warning (internal)" if self.by_audience else self.severity


_RULES: list[Rule] = [
    # --- KB0xx: file and parse (emitted by the loader) ------------------------------
    Rule("KB001", "unreadable-file", ERROR, "cannot read file: {reason}", RuleDoc(
        "Reports a file under `articles/` or `runbooks/` that cannot be opened: no permission, "
        "a broken symlink or a symlink loop.",
        "An unreadable article silently disappears from search and the site; CI should say so.",
        "`articles/setup.md -> ../missing.md` (a dangling symlink).",
        "Restore the target, fix the permissions, or delete the file.",
    ), loader=True),
    Rule("KB002", "bad-encoding", ERROR, "binary file, or not valid UTF-8: byte {byte} cannot be decoded", RuleDoc(
        "Reports binary files and files that are not valid UTF-8, with the line and column of "
        "the first undecodable byte. A UTF-8 BOM and CRLF line endings are accepted.",
        "The site and the search index read UTF-8; a Latin-1 file shows mojibake or is dropped.",
        "A file saved as Windows-1252 containing `caf\\xe9`.",
        "Re-save the file as UTF-8 (most editors: *Save with encoding > UTF-8*).",
    ), loader=True),
    Rule("KB003", "empty-or-huge-file", ERROR, "empty file, or {size} KiB over the 2 MiB limit", RuleDoc(
        "Reports empty files and files over the 2 MiB article limit.",
        "An empty file is an article with no content; a huge one is almost always a pasted log or "
        "data dump that slows every tool and nobody can review.",
        "`articles/export-log.md` of 12 MiB.",
        "Delete the empty file; move big logs or data to an attachment store and link to them.",
    ), loader=True),
    Rule("KB004", "missing-front-matter", ERROR, "no front-matter, or front-matter never closed with '---'", RuleDoc(
        "Reports a file that does not start with a `---` line, or whose front-matter is never "
        "closed with a second `---` line.",
        "Without front-matter the file has no id, status or audience, so nothing can publish or "
        "index it safely.",
        "A file that starts with `# Title` instead of `---`.",
        "Add the front-matter block (`kbtool new TYPE --title ...` writes a complete one).",
    ), loader=True),
    Rule("KB005", "invalid-yaml", ERROR, "invalid YAML in front-matter: {problem}", RuleDoc(
        "Reports front-matter that is not valid YAML, at the line and column the parser stopped.",
        "The whole article is unusable until the YAML parses.",
        "`title: Fix: login fails` (an unquoted value containing `: `).",
        "Quote values that contain `:` or start with a special character: `title: \"Fix: login fails\"`.",
    ), loader=True),
    Rule("KB006", "front-matter-not-mapping", ERROR, "front-matter must be a mapping of 'key: value' lines, got {type}", RuleDoc(
        "Reports front-matter that parses but is not a mapping of `key: value` lines "
        "(for example a list or a bare string).",
        "Fields can only be read from a mapping.",
        "A front-matter block containing `- id: foo`.",
        "Write one `key: value` per line.",
    ), loader=True),
    # --- KB1xx: schema ----------------------------------------------------------------
    Rule("KB101", "missing-field", ERROR, "missing required field {field!r}", RuleDoc(
        "Reports a required front-matter field that is missing or empty: id, title, type, status, "
        "audience, owner, summary, created, last_reviewed (runbooks default to audience internal).",
        "Every tool relies on these fields: the site needs the title and summary, access control "
        "needs audience and status, freshness needs the dates.",
        "An article without `owner:`.",
        "Add the field. `kbtool new` scaffolds all of them.",
    ), loader=True),
    Rule("KB102", "wrong-type", ERROR, "field {field!r} must be {expected}, got {actual}", RuleDoc(
        "Reports a field with the wrong YAML type: a list where a string is expected, a string "
        "where a list is expected, a `review_every` that is not a positive number.",
        "YAML silently turns `status: yes` into a boolean and `tags: sso` into a string; the "
        "article then behaves differently from what the author wrote.",
        "`owner: [identity, billing]`",
        "Use the documented type; quote strings that YAML would read as booleans or numbers.",
    ), loader=True),
    Rule("KB103", "invalid-value", ERROR, "{field} {value!r} is not one of {allowed} (did you mean ...?)", RuleDoc(
        "Reports `type`, `status` or `audience` values outside the allowed set, with a "
        "*did you mean* suggestion, runbooks whose type is not `runbook`, and `legacy_urls` "
        "entries the site cannot redirect: not an `http(s)://` URL or `/path`, a query string, "
        "a `#fragment`, `..` segments, or no path at all.",
        "An unknown status is neither published nor hidden; an unknown audience could leak; "
        "an old URL that cannot be redirected leaves old links broken without a word.",
        "`status: publshed` -> `status 'publshed' is not one of ... (did you mean 'published'?)`; "
        "`legacy_urls: [\"https://old.example/kb?id=7\"]` -> `... has a query string`.",
        "Use one of the listed values. For an old URL with a query string, keep it in the old "
        "site's own redirect rules instead.",
    ), loader=True),
    Rule("KB104", "invalid-id", ERROR, "id {id!r} must be lowercase letters, digits and single hyphens", RuleDoc(
        "Reports an `id` that is not lowercase letters, digits and single hyphens.",
        "The id is the URL slug, the link target and the search key; it must be stable and portable.",
        "`id: SAML_Setup`",
        "Use `saml-setup` (and rename the file to match).",
    ), loader=True),
    Rule("KB105", "duplicate-id", ERROR, "duplicate id {id!r}: also used by {other}", RuleDoc(
        "Reports an `id` already used by another file, naming that file.",
        "Two articles with one id collide in links, redirects, search and the site.",
        "`runbooks/sso-outage.md` and `articles/sso-outage.md` both with `id: sso-outage`.",
        "Give one of them a new id. Ids are never reused, not even after retirement.",
    ), loader=True),
    Rule("KB106", "unknown-key", WARNING, "unknown front-matter key {key!r} (did you mean ...?)", RuleDoc(
        "Reports a front-matter key the schema does not know, with a *did you mean* suggestion "
        "for near-misses.",
        "A typo such as `ownr:` silently drops the value; the field then counts as missing.",
        "`ownr: identity-team` -> `unknown front-matter key 'ownr' (did you mean 'owner'?)`",
        "Fix the spelling or remove the key.",
    ), loader=True),
    Rule("KB107", "invalid-date", ERROR, "{field} {value!r} is not an ISO date (YYYY-MM-DD) / not a real calendar date", RuleDoc(
        "Reports `created` / `last_reviewed` values that are not ISO `YYYY-MM-DD` dates, or that "
        "are impossible dates such as `2025-02-30`.",
        "Freshness checks and the site's *last reviewed* line need a real date.",
        "`last_reviewed: 03/14/2025` or `created: 2025-02-30`.",
        "Write the date as `YYYY-MM-DD`. `--fix` rewrites unambiguous formats (`2025/03/14`, "
        "`2025-3-4`, `14 March 2025`, `March 14, 2025`, ISO datetimes); it never guesses "
        "between day-first and month-first.",
    ), fixable=True, loader=True),
    Rule("KB108", "duplicate-key", ERROR, "key {key!r} appears twice in front-matter", RuleDoc(
        "Reports a front-matter key written twice.",
        "YAML keeps the last value without a word; the first is silently ignored.",
        "Two `tags:` lines in one front-matter block.",
        "Merge the two into one key.",
    ), loader=True),
    Rule("KB109", "id-filename-mismatch", ERROR, "id {id!r} does not match the file name {stem!r}", RuleDoc(
        "Reports an article whose `id` differs from its file name (without `.md`).",
        "Links are written by file name and resolved by id; when they differ, one of them breaks.",
        "`articles/saml-setup.md` with `id: saml-sso-setup`.",
        "Rename the file or change the id so they match (ids of published articles are URLs: "
        "prefer renaming the file).",
    )),
    Rule("KB110", "reviewed-before-created", ERROR,
         "last_reviewed {reviewed} is before created {created}", RuleDoc(
        "Reports an article whose `last_reviewed` date is earlier than its `created` date.",
        "One of the dates is wrong, so the freshness check cannot be trusted.",
        "`created: 2026-03-01` with `last_reviewed: 2025-03-01`.",
        "Correct the date that is wrong.",
    )),
    Rule("KB111", "date-in-future", ERROR, "{field} {value} is in the future (today is {today})", RuleDoc(
        "Reports `created` or `last_reviewed` dates after today (`--today` fixes today for "
        "reproducible runs).",
        "A future review date hides an overdue article from the freshness check.",
        "`last_reviewed: 2099-01-01`",
        "Use the date the review actually happened.",
    )),
    Rule("KB112", "retired-without-replacement", ERROR,
         "status is retired but there is no replaced_by", RuleDoc(
        "Reports a retired article without `replaced_by`.",
        "Customers arriving from old links and search engines need somewhere to go; the site "
        "redirects a retired article to its replacement.",
        "`status: retired` and no `replaced_by:` line.",
        "Add `replaced_by: <id of the published article that supersedes it>`.",
    )),
    Rule("KB113", "unknown-reference", ERROR, "{field} names unknown id {target!r}{hint}", RuleDoc(
        "Reports `replaced_by` or `related` entries that name no article in the KB.",
        "A dangling reference is a broken *related articles* link or a redirect to nowhere.",
        "`related: [saml-setup]` when the article is called `saml-sso-setup`.",
        "Use the id of an existing article (the message suggests a close match).",
    )),
    Rule("KB114", "related-not-published", ERROR, "related article {target!r} is {what}", RuleDoc(
        "Reports a published article whose `related` list names a draft or retired article, and "
        "a public article whose `related` list names content that is not on the public site "
        "(in review, internal, or a runbook).",
        "Related links are shown on the site: they would point at a page that does not exist "
        "there, or leak the title of internal content.",
        "A published article with `related: [api-v1-keys]` where `api-v1-keys` is retired.",
        "Point at the live replacement (the message names it) or drop the entry.",
    )),
    Rule("KB115", "invalid-replacement", ERROR, "replaced_by {target!r} {problem}", RuleDoc(
        "Reports a `replaced_by` that cannot work: it names the article itself, a draft, "
        "in-review or internal article, a retired article whose chain never reaches a live one, "
        "or it is set on an article that is not retired.",
        "Redirects for retired content must land on a live, published page.",
        "`replaced_by: draft-audit-log-export` (a draft).",
        "Name the published article that replaces this one, or set `status: retired` if that "
        "was the intent.",
    )),
    Rule("KB116", "public-runbook", WARNING, "runbooks are internal, but audience is {audience!r}", RuleDoc(
        "Reports a runbook whose `audience` is not `internal`.",
        "Runbooks are never published; `audience: public` promises something that does not "
        "happen, and invites copying internal procedure into public content.",
        "`runbooks/sso-outage.md` with `audience: public`.",
        "Set `audience: internal` (or drop it: runbooks default to internal). Write a public "
        "article for what customers should see.",
    )),
    Rule("KB117", "duplicate-legacy-url", ERROR, "legacy URL {url!r} is also claimed by {other}", RuleDoc(
        "Reports a `legacy_urls` entry whose path another article also lists. Paths are compared "
        "as the site writes them: host, percent-encoding and a trailing slash do not matter "
        "(`https://a.example/hc/1-x`, `/hc/1-x/` and `https://b.example/hc/1-x` are one path). "
        "The finding sits on the newer article and names the other.",
        "The help center writes one redirect page per old path: only one article can get it (the "
        "build keeps the first by id), so the old link may land on the wrong article.",
        "`legacy_urls: [\"https://support.example.com/hc/en-us/articles/360001-Reset\"]` in both "
        "`reset-password.md` and `reset-password-v2.md`.",
        "Keep the URL on the article that really replaces the old page; if one of the two is "
        "retired in favour of the other, remove the URL from the retired one.",
    )),
    Rule("KB118", "comma-separated-list", ERROR, "{field} is one string {value!r}; it must be a list", RuleDoc(
        "Reports `tags`, `related` or `error_codes` written as one comma-separated string "
        "(`tags: sso, saml`) instead of a YAML list.",
        "YAML reads `sso, saml` as the single tag \"sso, saml\": the facet, the tag-format rule, "
        "related links and exact error-code matching all silently miss it.",
        "`tags: sso, saml`",
        "`--fix` splits it into a flow list: `tags: [sso, saml]`.",
    ), fixable=True),
    # --- KB2xx: structure -------------------------------------------------------------
    Rule("KB201", "missing-section", ERROR, "{type} article is missing the required section '## {section}'", RuleDoc(
        "Reports a required `##` section that is absent. Required sections per type come from "
        "`[tool.kbtool.sections]` (defaults: troubleshooting = Symptoms, Cause, Resolution; "
        "known-issue = Symptoms, Cause, Workaround, Status; howto = Steps; runbook = When to use, "
        "Prerequisites, Steps, Verification, Escalation|Rollback).",
        "Readers and the suggest engine rely on the shape: a troubleshooting article without a "
        "Resolution does not resolve anything.",
        "A troubleshooting article with `## Symptoms` and `## Fix` but no `## Resolution`.",
        "Add the section with that exact heading (case does not matter).",
    )),
    Rule("KB202", "empty-section", ERROR, "required section '## {section}' is empty", RuleDoc(
        "Reports a required `##` section with no content before the next `#`/`##` heading.",
        "An empty Resolution is worse than none: it looks finished.",
        "`## Cause` directly followed by `## Resolution`.",
        "Write the section.",
    )),
    Rule("KB203", "steps-not-numbered", ERROR, "'## Steps' has no numbered list ({kind} steps must be 1., 2., ...)", RuleDoc(
        "Reports a `## Steps` section (in runbooks and how-tos) without a numbered list.",
        "Steps are followed under pressure, often by someone reading them aloud on a call: "
        "numbers keep the place and make *step 4 failed* meaningful.",
        "`## Steps` written as a bullet list `- Open the console`.",
        "Number the steps `1.`, `2.`, ...",
    )),
    Rule("KB204", "multiple-h1", ERROR, "{count} H1 headings: the title comes from front-matter, use '##' for sections", RuleDoc(
        "Reports a body with more than one `#` heading.",
        "The page title is rendered from front-matter; several H1s break the outline, the table "
        "of contents and accessibility tools.",
        "`# Overview` and `# Steps` in one body.",
        "Demote them to `##` (and `###` below).",
    )),
    Rule("KB205", "h1-differs-from-title", WARNING, "H1 {h1!r} differs from the title {title!r}", RuleDoc(
        "Reports an H1 heading whose text is not the front-matter `title`.",
        "Readers see two different titles; search shows one and the page another.",
        "`title: Reset your password` with `# How to reset passwords` in the body.",
        "Delete the H1 (the title is rendered from front-matter) or make it match.",
    )),
    Rule("KB206", "heading-level-skip", WARNING, "heading level jumps from H{prev} to H{level}", RuleDoc(
        "Reports a heading more than one level deeper than the one before it (the page title "
        "counts as level 1, so the first heading should be `##`).",
        "Skipped levels break the table of contents and screen-reader navigation.",
        "`## Steps` followed by `#### Details`.",
        "Use the next level down (`###`).",
    )),
    Rule("KB207", "unclosed-code-fence", ERROR, "code fence {fence!r} opened here is never closed", RuleDoc(
        "Reports a fenced code block (```` ``` ```` or `~~~`) that is never closed.",
        "The rest of the article is swallowed: headings after it vanish from the structure and "
        "the page renders as raw text.",
        "A ```` ```bash ```` line with no closing ```` ``` ````.",
        "Close the fence with the same marker.",
    )),
    Rule("KB208", "scaffold-placeholder", ERROR, "{where} still holds the scaffold placeholder {text!r}", RuleDoc(
        "Reports text that `kbtool new` writes as a placeholder (the summary *One or two sentences "
        "on what this article solves.*, *Introduce the problem in a sentence or two.*, "
        "*1. First step.*, *Why it happens.*, ...) in an article that is not a draft.",
        "An unedited scaffold passes every structural rule, so it would be published with "
        "instructions such as *1. First step.* in front of customers.",
        "A `status: published` how-to whose `## Steps` still read `1. First step.` / `2. Second step.`.",
        "Write the real text, or keep `status: draft` until it is written.",
    )),
    # --- KB3xx: freshness -------------------------------------------------------------
    Rule("KB301", "review-overdue", ERROR,
         "review overdue by {days} day(s): last reviewed {reviewed}, due every {every} days (due {due})", RuleDoc(
        "Reports a published article whose `last_reviewed` + `review_every` (per article, else "
        "`review_every` in config, default 365 days) is before today. Drafts, in-review and "
        "retired articles are not checked.",
        "Support content rots: UI paths move and error messages change. A stale answer costs a "
        "ticket and trust. Unlike verification reminders, this blocks the merge.",
        "`last_reviewed: 2024-01-10` with the default 365 days, linted on 2025-03-01.",
        "Review the article against the product and update `last_reviewed` (or set a longer "
        "`review_every` for very stable content).",
    )),
    Rule("KB302", "review-due-soon", WARNING,
         "review due in {days} day(s) (on {due}): last reviewed {reviewed}", RuleDoc(
        "Reports a published article whose review falls due within `review_warn_days` "
        "(config, default 14) of today.",
        "A warning before the error leaves time to plan the review instead of blocking a merge.",
        "`last_reviewed: 2025-03-10`, 365 days, linted on 2026-03-01.",
        "Review the article soon and update `last_reviewed`.",
    )),
    # --- KB4xx: links -----------------------------------------------------------------
    Rule("KB401", "broken-link", ERROR, "broken link {target!r}: {problem}{hint}", RuleDoc(
        "Reports a relative link to a file that does not exist (external URLs are not fetched).",
        "A broken link on the help center is a dead end for a customer mid-problem.",
        "`[capture a HAR file](capture-har.md)` when the file is `capture-har-file.md`.",
        "Fix the target (the message suggests a close match).",
    )),
    Rule("KB402", "broken-anchor", ERROR, "anchor '#{anchor}' not found in {target}{hint}", RuleDoc(
        "Reports a `#anchor` that matches no anchor of the target article. Heading anchors are "
        "computed with the same slug function the site uses (Python-Markdown's toc `slugify` + "
        "`unique`, with attr-list `## Title {#id}` ids), so lint and site cannot disagree; an `id` "
        "on any raw HTML element, `<a name=...>` and a paragraph's `{: #id}` count too, as they do "
        "on the page (imported DocFX and Zendesk content links to `<a id=\"summary\"></a>` a lot). "
        "Ids inside code blocks, inline code or HTML comments do not.",
        "The link lands at the top of a long page instead of the answer.",
        "`(api-rate-limits.md#headers)` where the heading is `## Rate limit headers` "
        "(anchor `#rate-limit-headers`).",
        "Use the slug of an existing heading (the message suggests one).",
    )),
    Rule("KB403", "public-links-private", ERROR, "public article links to {what} content {target!r}{hint}", RuleDoc(
        "Reports links from a public, published article to internal, draft, in-review or retired "
        "content, and to runbooks.",
        "On the public site such a link is broken (the target is not published) and may leak "
        "the existence and title of internal material.",
        "A public article linking `[refunds](internal-billing-refund-policy.md)`.",
        "Link to public content instead, or remove the link. For a retired target link to its "
        "replacement.",
    )),
    Rule("KB404", "missing-image", ERROR, "missing image {target!r}: {problem}", RuleDoc(
        "Reports an image (`![alt](path)`) whose file does not exist.",
        "A missing screenshot leaves a broken-image icon where the key step should be.",
        "`![SSO page](images/sso.png)` with no `images/sso.png`.",
        "Add the image or fix the path.",
    )),
    Rule("KB405", "link-outside-kb", WARNING, "link {target!r} {problem}", RuleDoc(
        "Reports links that leave the KB directory or use a site-absolute path (`/...`).",
        "The site only contains the KB; such links work in a git viewer but break once published.",
        "`[contributing](../../CONTRIBUTING.md)` or `[login](/login)`.",
        "Link to a KB article by its relative file name, or use a full `https://` URL.",
    )),
    Rule("KB406", "unsafe-html", ERROR, "raw HTML the site will drop: {what}", RuleDoc(
        "Reports raw HTML that the published site removes when it sanitises pages: `<script>`, "
        "`<iframe>`, `<object>`, `<embed>`, `<style>` and `<form>` elements, event-handler "
        "attributes (`onclick=`, `onerror=`, also in attribute lists `{: onclick=...}`), `style=` "
        "attributes, and `javascript:`, `vbscript:` or `data:` URLs in links (`data:` images are "
        "kept). Code blocks and inline code are not checked.",
        "What the author sees in a preview is not what customers get: the script, handler or "
        "styling disappears from the page, and the content that relied on it breaks. Such markup "
        "is also how stored cross-site scripting gets in.",
        "`<img src=\"x.png\" onerror=\"alert(1)\">` or `[open](javascript:run())`.",
        "Use plain Markdown (links, images, tables, `<details>`); put code in a code block.",
    )),
    Rule("KB407", "html-comment", WARNING, "HTML comment in a public article: {text!r}", RuleDoc(
        "Reports HTML comments (`<!-- ... -->`) in public articles, outside code. kbtool's own "
        "`<!-- kbtool: disable=... -->` suppressions are not reported (the site strips every "
        "comment, those included).",
        "Comments are invisible in the preview but sit in the page source of whatever renders "
        "the Markdown; internal notes (*ask Legal*, ticket numbers, names) leak that way.",
        "`<!-- TODO: confirm with the billing team before Friday -->`",
        "Move the note to the pull request or an issue, and delete the comment.",
    )),
    # --- KB5xx: duplicates ------------------------------------------------------------
    Rule("KB501", "near-duplicate", WARNING,
         "near-duplicate of {other}: {percent}% of word 3-shingles shared (title + body Jaccard {score}, threshold {threshold})", RuleDoc(
        "Reports pairs of articles whose title + body are near-copies. Method: the text is "
        "lower-cased, split into words, and cut into overlapping word 3-shingles; similarity is "
        "the Jaccard index of the two shingle sets. Candidates are found with MinHash (64 hashes) "
        "and LSH banding, which is sub-quadratic, then every candidate pair is verified with the "
        "exact Jaccard index and reported when it reaches `duplicate_threshold` (config, default "
        "0.8). The finding sits on the newer article (later `created`) and names the other. "
        "Retired articles and their replacements are not compared.",
        "Two answers to one problem drift apart: one gets fixed, the other keeps misleading "
        "customers, and search splits its ranking between them.",
        "`reset-password-v2.md` copied from `reset-password.md` with a few words changed.",
        "Merge them into one article and retire the other with `replaced_by`.",
    )),
    Rule("KB502", "duplicate-title", WARNING, "same title as {other}", RuleDoc(
        "Reports an article whose title is the same (ignoring case, punctuation and spacing) as "
        "another live article's.",
        "Customers pick from titles in search results; two identical titles force a guess.",
        "Two articles titled *Reset your password*.",
        "Make the titles say what differs, or merge the articles.",
    )),
    Rule("KB503", "contained-duplicate", WARNING,
         "{percent}% of this article's word 3-shingles are in {other} (contained, threshold {threshold})", RuleDoc(
        "Reports an article most of whose text (word 3-shingles, at least `duplicate_threshold`) "
        "is contained in a longer article: one made of half of another, or a section copied out "
        "into its own page. Near-copies of similar size are KB501. Candidates come from a "
        "content-defined sample of shingles (the same ones in every text) and an inverted "
        "index, so the check is sub-quadratic; every candidate is verified on the full sets.",
        "The shorter copy drifts from the original: a fix lands in one and the other keeps "
        "the old answer.",
        "`saml-error-codes.md` made of the *Troubleshooting* half of `saml-sso-setup.md`.",
        "Link to the section of the longer article instead, or move the text into the shorter "
        "one and link to it from the longer one.",
    )),
    # --- KB6xx: sensitive data --------------------------------------------------------
    Rule("KB601", "private-key", ERROR, "private key block ({kind}) in the article", RuleDoc(
        "Reports PEM/OpenSSH/PGP private key blocks (`-----BEGIN ... PRIVATE KEY-----`). "
        "Error in public articles, warning in internal ones.",
        "A key in a git repository is compromised, even after the file is deleted: it stays in "
        "history and in every clone.",
        "`-----BEGIN RSA PRIVATE KEY-----` followed by key material.",
        "Remove it and rotate the key. Show a placeholder such as `<PRIVATE_KEY>` instead.",
    ), by_audience=True),
    Rule("KB602", "access-token", ERROR, "{kind} {masked} in the article", RuleDoc(
        "Reports tokens with a recognisable shape: AWS access key ids (`AKIA...`, `ASIA...`; AWS's "
        "documentation keys ending in `EXAMPLE` are allowed), GitHub (`ghp_`, `gho_`, `ghu_`, "
        "`ghs_`, `ghr_`, `github_pat_`), Slack (`xox?-`, webhook URLs), Stripe (`sk_live_`, "
        "`rk_live_`, `sk_test_`, `whsec_`), Google API keys (`AIza...`) and long `Bearer` "
        "tokens. The token is masked in the message. Error in public articles, warning in "
        "internal ones.",
        "Support articles are copied from real tickets and terminals; a pasted token is a live "
        "credential for anyone who reads the page or the repository.",
        "`curl -H 'Authorization: Bearer 3f9a...'` with a real token.",
        "Replace it with a placeholder such as `<YOUR_API_TOKEN>` and revoke the token.",
    ), by_audience=True),
    Rule("KB603", "jwt", ERROR, "JSON Web Token {masked} in the article", RuleDoc(
        "Reports JSON Web Tokens (`eyJ...`.`eyJ...`.`...`). Error in public articles, warning in "
        "internal ones.",
        "A JWT is a bearer credential until it expires, and its payload often holds personal data.",
        "A HAR excerpt with `eyJhbGciOi...`.",
        "Replace it with `<JWT>`; if it was live, revoke the session.",
    ), by_audience=True),
    Rule("KB604", "password-assignment", ERROR, "{name} set to a literal value {masked}", RuleDoc(
        "Reports `password=...`-style assignments (`password`, `passwd`, `pwd`, `secret`, "
        "`client_secret`, `api_key`, `access_token`, `auth_token`, ... followed by `=` or `:`) "
        "with a literal value. Placeholders (`<...>`, `$VAR`, `${VAR}`, `{{...}}`, `***`, `xxx`, "
        "`your-password`, `example`, `redacted`) are allowed. With `:` plain words are allowed "
        "too, so prose such as *Password: enter a new one* is fine, and code-style `x = y` "
        "(blanks around `=`) only counts with a quoted value, so `$password = Read-Host` is fine. "
        "Error in public articles, warning in internal ones.",
        "Credentials in examples get copied verbatim into customer configs and scripts, and "
        "real ones leak.",
        "`psql \"host=db user=admin password=hunter2\"`",
        "Use a placeholder: `password=<YOUR_PASSWORD>`.",
    ), by_audience=True),
    Rule("KB605", "email-address", ERROR, "email address {masked} is not on the allowlist ({allow})", RuleDoc(
        "Reports email addresses whose domain is not on the allowlist (`example.com`, "
        "`example.org`, `example.net` and their subdomains, plus `email_allowlist` in config; "
        "reserved test TLDs such as `.example` and placeholder domains starting with `your`, as "
        "in `you@yourcompany.com`, are allowed too). "
        "The local part is masked in the message. Error in public articles, warning in "
        "internal ones.",
        "Articles written from tickets leak customer and staff addresses (personal data under "
        "GDPR) and invite spam.",
        "`Ask jane.doe@acme-corp.com to re-send the invite.`",
        "Use `user@example.com`, or add your public support domain to `email_allowlist`.",
    ), by_audience=True),
    Rule("KB606", "ip-address", ERROR, "IP address {masked} is outside the documentation ranges", RuleDoc(
        "Reports IPv4/IPv6 addresses outside the documentation ranges (192.0.2.0/24, "
        "198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32). Loopback, unspecified, link-local "
        "addresses, netmasks and version numbers (`Version=15.0.0.0`, `RTCC/4.0.0.0`) are "
        "allowed, and so are networks in `ip_allowlist` (config). "
        "Error in public articles, warning in internal ones.",
        "Real addresses identify customers' or our own infrastructure, and readers copy them "
        "into firewall rules.",
        "`Allow 10.20.30.40 in your firewall.`",
        "Use a documentation address such as `203.0.113.10`, or add a published range (e.g. "
        "your egress IPs) to `ip_allowlist`.",
    ), by_audience=True),
    Rule("KB607", "card-number", ERROR, "payment card number ending {last4} in the article", RuleDoc(
        "Reports 13-19 digit numbers (plain, or grouped with spaces/dashes) with a card issuer "
        "prefix that pass the Luhn check. Only the last four digits are shown. Error in public "
        "articles, warning in internal ones.",
        "Card numbers must never be stored outside the PCI scope; a KB repository is not in it.",
        "`The customer's card 4111 1111 1111 1111 was declined.`",
        "Remove the number; refer to *the card ending 1111* if needed.",
    ), by_audience=True),
    Rule("KB608", "url-credentials", ERROR, "credentials in a {scheme}:// URL {masked}", RuleDoc(
        "Reports URLs and connection strings that carry a user name and password "
        "(`mongodb://admin:S3cret@db.example.com`, `postgres://u:p@host/db`, "
        "`https://user:pass@host`). Placeholders (`<password>`, `${PASS}`, `****`) are allowed. "
        "Error in public articles, warning in internal ones.",
        "It is a working database or service credential, not an email address; anyone reading "
        "the page can connect.",
        "`mongo \"mongodb://admin:S3cret@db1.acme.io:27017\"`",
        "Write `mongodb://<user>:<password>@<host>` and rotate the password.",
    ), by_audience=True),
    Rule("KB609", "phone-number", ERROR, "phone number {masked} in the article", RuleDoc(
        "Reports phone numbers in international form (`+44 20 7946 0123`, `+1-415-555-2671`) and "
        "North-American `(415) 555-2671` form. Fictional `555-01xx` numbers are allowed. Error "
        "in public articles, warning in internal ones.",
        "A phone number from a ticket is personal data; a staff number invites calls that bypass "
        "the support queue.",
        "`Call the customer back on +44 7700 912345.`",
        "Remove it, or use a fictional number such as `+1 555 0100`.",
    ), by_audience=True),
    Rule("KB610", "iban", ERROR, "IBAN {masked} (valid check digits) in the article", RuleDoc(
        "Reports International Bank Account Numbers: a country code, two check digits and up to "
        "30 letters and digits (grouped or not) that pass the ISO 13616 mod-97 check. Error in "
        "public articles, warning in internal ones.",
        "Bank details copied from a refund ticket are personal and financial data.",
        "`Refund to DE89 3704 0044 0532 0130 00.`",
        "Remove it; refer to *the account ending 3000* if needed.",
    ), by_audience=True),
    # --- KB7xx: style -----------------------------------------------------------------
    Rule("KB701", "summary-too-long", WARNING, "summary is {length} characters (max {limit})", RuleDoc(
        "Reports a `summary` longer than `max_summary` (config, default 240). A missing summary "
        "is KB101.",
        "The summary is the search snippet and the meta description; long ones are cut off "
        "mid-sentence.",
        "A 400-character summary that repeats the first paragraph.",
        "Say in one or two sentences what the reader gets.",
    )),
    Rule("KB702", "title-too-long", WARNING, "title is {length} characters (max {limit})", RuleDoc(
        "Reports a `title` longer than `max_title` (config, default 90).",
        "Long titles are truncated in search results, browser tabs and ticket macros.",
        "A title that lists every error code the article covers.",
        "Keep the title to the problem in the customer's words; put codes in `error_codes`.",
    )),
    Rule("KB703", "todo-left", WARNING, "{marker} left in the article", RuleDoc(
        "Reports `TODO` and `FIXME` markers in prose and HTML comments (code blocks are skipped).",
        "Unfinished articles look finished once published.",
        "`TODO: add screenshot of the new admin console`",
        "Finish the work or track it in an issue, then remove the marker.",
    )),
    Rule("KB704", "trailing-whitespace", WARNING, "trailing whitespace", RuleDoc(
        "Reports spaces or tabs at the end of a line (outside code blocks). Exactly two trailing "
        "spaces, Markdown's hard line break, are allowed.",
        "Invisible characters cause noisy diffs and merge conflicts.",
        "`Open the console.   ` (three spaces)",
        "`--fix` removes it.",
    ), fixable=True),
    Rule("KB705", "tag-format", WARNING, "tag {tag!r} {problem}", RuleDoc(
        "Reports tags that are not lowercase slugs (`[a-z0-9-]+`) and tags listed twice.",
        "Tags are facets on the site and filters in search: `SSO`, `sso` and `single sign-on` "
        "split one topic into three.",
        "`tags: [SSO, sso, Single Sign-On]`",
        "`--fix` lower-cases them, turns spaces and underscores into hyphens and drops "
        "duplicates (keeping the first occurrence and order).",
    ), fixable=True),
    Rule("KB706", "unsorted-tags", WARNING, "tags are not sorted", RuleDoc(
        "Opt-in (select it with `select = [\"KB706\"]` or `--select KB706`): reports a `tags` "
        "list that is not in alphabetical order.",
        "Sorted tags make diffs and reviews of front-matter predictable.",
        "`tags: [saml, okta, sso]`",
        "`--fix` sorts them.",
    ), fixable=True, default=False),
    Rule("KB707", "invalid-suppression", WARNING, "suppression comment names unknown rule {code!r}{hint}", RuleDoc(
        "Reports a `<!-- kbtool: disable=CODE -->` comment naming a code that does not exist.",
        "A typo in a suppression silently suppresses nothing, or hides that a rule was renamed.",
        "`<!-- kbtool: disable=KB4O1 -->` (letter O instead of zero).",
        "Use an existing code or prefix (`kbtool lint --list-rules`).",
    )),
    # --- KB8xx: consistency across articles ----------------------------------------------
    Rule("KB801", "conflicting-error-code", ERROR,
         "{code}: {message!r} is given as {other_code} in {other}", RuleDoc(
        "Reports an error message that articles attach to different codes: `CODE: message` "
        "(in prose or inline code) with the same message text (ignoring case and spacing) but "
        "another code elsewhere in the KB. The finding sits on the code used by fewer articles.",
        "Agents and customers match on the exact code; two codes for one error means one of the "
        "articles is wrong and exact-code matching sends people to the wrong answer.",
        "`SAML-400: Signature validation failed` in a public article and `SAML-401: Signature "
        "validation failed` in two runbooks.",
        "Check the product's real code and correct the articles (and their `error_codes`) that "
        "disagree.",
    )),
    Rule("KB802", "undeclared-error-code", WARNING, "error code {code!r} is mentioned but not in error_codes", RuleDoc(
        "Reports error-code-shaped tokens (`SAML-401`, `API-RATE-429`, `AADSTS50105`, "
        "`0x80070005`) in the title, summary or the *Symptoms* / *When to use* / *Question* "
        "section of an article whose `error_codes` does not list them.",
        "Ticket suggestion matches error codes exactly: a code only in the prose is found by "
        "word search at best, and never as the exact match an agent pasted.",
        "`{\"code\":\"API-RATE-429\"}` in the Symptoms of an article with `error_codes: [\"HTTP 429\"]`.",
        "`--fix` adds the code to `error_codes`.",
    ), fixable=True),
    Rule("KB803", "fixed-known-issue-published", WARNING,
         "known issue says it is fixed ({said!r}) but is still published {days} day(s) after its last review", RuleDoc(
        "Reports a published `known-issue` whose `## Status` section says the issue is fixed "
        "or resolved, when its `last_reviewed` is more than 30 days (the grace period) ago.",
        "A fixed known issue keeps telling customers a problem exists and a workaround is "
        "needed; search keeps offering it for tickets it no longer explains.",
        "`## Status` reading *Fixed in 4.2 (released 2026-03-02).* on an article last reviewed "
        "in March.",
        "Retire it with `replaced_by` pointing at the current article, or turn it into a "
        "troubleshooting article for customers still on old versions.",
    )),
]

RULES: dict[str, Rule] = {r.code: r for r in _RULES}
BY_NAME: dict[str, Rule] = {r.name: r for r in _RULES}

assert len(RULES) == len(_RULES) and len(BY_NAME) == len(_RULES), "rule codes and names must be unique"

FIXABLE: frozenset[str] = frozenset(c for c, r in RULES.items() if r.fixable)


def get_rule(code_or_name: str) -> Rule | None:
    key = code_or_name.strip()
    return RULES.get(key.upper()) or BY_NAME.get(key.lower())


def rule_for(code: str) -> Rule:
    """The rule with this exact code; an unknown code is a programming error and raises."""
    rule = RULES.get(code)
    if rule is None:
        raise KeyError(f"unknown lint rule code {code!r} (not in kbtool.lint.rules.RULES)")
    return rule


def matches(code: str, selector: str) -> bool:
    """True if `selector` ("ALL", a full code, a prefix like "KB4", or a rule name) covers `code`."""
    sel = selector.strip()
    if sel.upper() == "ALL":
        return True
    if sel.lower() in BY_NAME:
        return BY_NAME[sel.lower()].code == code
    return code.startswith(sel.upper())


def is_known_selector(selector: str) -> bool:
    return any(matches(code, selector) for code in RULES) if selector.strip() else False


def did_you_mean(selector: str, names: bool = True) -> str:
    """` (did you mean 'KB401'?)` for a near-miss of a code (or, with `names`, a rule name), else ""."""
    close = get_close_matches(selector.upper(), list(RULES), n=1, cutoff=0.6)
    if not close and names:
        close = get_close_matches(selector.lower(), list(BY_NAME), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
