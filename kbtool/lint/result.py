"""What a lint run produces: `Finding`s, the `LintResult`, and `LintError` for bad options."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .rules import ERROR, WARNING


class LintError(Exception):
    """Bad lint options, config codes, baseline file or git ref: the CLI exits with 2."""


@dataclass(frozen=True)
class Finding:
    """One reported problem. `line`/`column` are 1-based (1:1 for whole-file problems)."""

    path: Path
    line: int
    column: int
    code: str
    severity: str
    message: str
    rel_path: str  # posix, relative to the KB root: stable across working dirs (baselines)
    refs: tuple[Path, ...] = ()  # other files the finding is about (link targets, duplicates)
    key: str = ""  # stable identity for baselines; defaults to the message
    fixable: bool = False
    end_line: int = 0  # where the problem ends, when known (0: unknown; SARIF then marks the line)
    end_column: int = 0

    @property
    def identity(self) -> str:
        return self.key or self.message


@dataclass(frozen=True)
class AppliedFix:
    """One change `kbtool lint --fix` made to a file."""

    path: Path
    line: int
    code: str
    description: str


@dataclass
class LintResult:
    findings: list[Finding]
    files: int
    suppressed: int = 0  # by inline comments and per_path_ignores
    baselined: int = 0  # hidden by --baseline
    fixed: list[AppliedFix] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == WARNING)

    @property
    def fixable(self) -> int:
        return sum(1 for f in self.findings if f.fixable)

    @property
    def summary(self) -> dict[str, int]:
        return {"files": self.files, "errors": self.errors, "warnings": self.warnings}

    def to_dict(self, cwd: Path | None = None) -> dict[str, Any]:
        cwd = cwd or Path.cwd()
        return {
            "findings": [
                {"path": display_path(f.path, cwd), "line": f.line, "column": f.column, "code": f.code,
                 "severity": f.severity, "message": f.message}
                for f in self.findings
            ],
            "summary": self.summary,
        }


def display_path(path: Path, cwd: Path | None = None) -> str:
    """`path` relative to the working directory (posix), as every output format shows it."""
    try:
        return Path(os.path.relpath(path, cwd or Path.cwd())).as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()
