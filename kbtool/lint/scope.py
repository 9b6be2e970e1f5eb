"""Which findings a run reports: `paths`, the `--changed` focus, inline suppressions and
`per_path_ignores`. Cross-file rules always see the whole KB; this only filters."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatch
from functools import cached_property
from operator import attrgetter
from pathlib import Path, PurePosixPath

from ..config import Config, LintConfig
from ..content import CONTENT_DIRS
from .result import Finding, LintError
from .rules import matches


def norm(path: Path, dirs: dict[Path, Path] | None = None) -> Path:
    """Absolute path with symlinked folders resolved but the file itself kept as named
    (`dirs` caches folder resolutions across calls)."""
    path = Path(os.path.abspath(path))
    folder = dirs.get(path.parent) if dirs is not None else None
    if folder is None:
        try:
            folder = path.parent.resolve()
        except (OSError, RuntimeError):
            folder = path.parent
        if dirs is not None:
            dirs[path.parent] = folder
    return folder / path.name


def resolved(path: Path) -> Path:
    """The fully resolved path (symlinks followed), or `norm(path)` when that fails."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return norm(path)


def rel_to(path: Path, root: Path) -> str:
    """`path` relative to `root` (posix, symlinked folders resolved); else `path` as given."""
    try:
        return norm(path).relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


@dataclass
class Scope:
    """`paths` (report only files under these) and `changed` (only findings on these files,
    or about them: a link into one, a duplicate of one). None means no limit."""

    roots: list[Path] | None = None
    focus: set[Path] | None = None
    focus_resolved: set[Path] = field(default_factory=set)
    kb_root: Path | None = None
    _dirs: dict[Path, Path] = field(default_factory=dict)

    @classmethod
    def of(cls, paths: Iterable[Path] | None, changed: Iterable[Path] | None, kb_root: Path | None = None) -> Scope:
        roots = [norm(p) for p in paths] if paths is not None else None
        for root in roots or []:
            if not root.exists() and not root.is_symlink():
                raise LintError(f"{root}: no such file or directory")
        focus = {norm(p) for p in changed} if changed is not None else None
        return cls(roots, focus, {resolved(p) for p in focus} if focus is not None else set(), kb_root)

    @cached_property
    def focus_names(self) -> frozenset[str]:
        """The names a changed file can go by in the KB: the changed files' own, and every
        symlink's under `kb_root` (a symlink of another name may point at one). A file of
        any other name is not a changed one, decided without resolving it."""
        own = {p.name for p in (self.focus or set()) | self.focus_resolved}
        return frozenset(own | symlink_names(self.kb_root) if self.kb_root is not None else own)

    @property
    def checker_focus(self) -> set[Path] | None:
        """The changed files, resolved, for pair findings to prefer (None without --changed)."""
        return self.focus_resolved if self.focus is not None else None

    def contains(self, path: Path, refs: tuple[Path, ...] = ()) -> bool:
        if self.roots is None and self.focus is None:
            return True
        if self.roots is None and self.focus is not None and path.name not in self.focus_names:
            # normalising keeps the file's name: a file of another name is not a changed one
            return any(r in self.focus_resolved for r in refs)
        p = norm(path, self._dirs)
        if self.roots is not None and not any(p == r or r in p.parents for r in self.roots):
            return False
        if self.focus is not None:
            return (p in self.focus or p in self.focus_resolved or any(r in self.focus_resolved for r in refs)
                    or (os.path.islink(p) and resolved(p) in self.focus_resolved))
        return True


def symlink_names(kb_root: Path) -> set[str]:
    """The names of the symlinks under the KB's folders (where `load_kb` finds its files),
    from one listing per folder: the directory entries' types, no `lstat` per file."""
    out: set[str] = set()
    stack = [os.path.join(str(kb_root), sub) for sub in CONTENT_DIRS]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for e in entries:
                    if e.is_symlink():
                        out.add(e.name)
                    elif e.is_dir():
                        stack.append(e.path)
        except OSError:
            pass
    return out


def path_ignored(lc: LintConfig, config: Config, f: Finding) -> bool:
    """True if `per_path_ignores` silences this finding (globs match KB- or project-relative paths)."""
    if not lc.per_path_ignores:
        return False
    project_rel = rel_to(f.path, config.root)
    for glob, codes in lc.per_path_ignores.items():
        if any(matches(f.code, c) for c in codes) and any(
            fnmatch(p, glob) or PurePosixPath(p).match(glob) for p in (f.rel_path, project_rel)
        ):
            return True
    return False


def filter_findings(findings: Iterable[Finding], scope: Scope, suppressions: dict[Path, list[str]],
                    config: Config) -> tuple[list[Finding], int]:
    """(the findings in scope and not silenced, sorted for output; how many were silenced)."""
    kept: list[Finding] = []
    suppressed = 0
    for f in findings:
        if not scope.contains(f.path, f.refs):
            continue
        selectors = suppressions.get(f.path, [])
        if any(matches(f.code, s) for s in selectors) or path_ignored(config.lint, config, f):
            suppressed += 1
            continue
        kept.append(f)
    kept.sort(key=attrgetter("rel_path", "line", "column", "code", "message"))
    return kept, suppressed
