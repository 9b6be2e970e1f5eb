"""The body of the GitHub Action (`action.yml`): lint the KB for a pull request.

Runs `kbtool lint --format github` (findings become annotations on the PR's diff), then, if
asked, `kbtool lint --format sarif -o FILE` for GitHub code scanning, and writes the step's
outputs to `$GITHUB_OUTPUT`. The action's inputs arrive as environment variables, so this runs
the same on a laptop as in a workflow:

    KBTOOL_KB=kb KBTOOL_CHANGED_SINCE=origin/main KBTOOL_SARIF=true python -m kbtool.ci

Exit code: the `kbtool lint` one (0 clean, 1 errors found, 2 usage or configuration error).
It lives in the package (not in action.yml's shell) so it is tested and versioned with kbtool.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ActionInputs:
    """The action's inputs: `kb` ("" = from config), `changed_since` ("" = the whole KB),
    `sarif` (also write a SARIF file) and where to write it."""

    kb: str = ""
    changed_since: str = ""
    sarif: bool = True
    sarif_file: str = "kbtool.sarif"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ActionInputs:
        return cls(kb=env.get("KBTOOL_KB", "").strip(), changed_since=env.get("KBTOOL_CHANGED_SINCE", "").strip(),
                   sarif=env.get("KBTOOL_SARIF", "true").strip().lower() in ("true", "1", "yes"),
                   sarif_file=env.get("KBTOOL_SARIF_FILE", "").strip() or "kbtool.sarif")

    def lint_args(self) -> list[str]:
        return [*(["--kb", self.kb] if self.kb else []), *(["--changed", self.changed_since] if self.changed_since else [])]


def run_action(inputs: ActionInputs, env: Mapping[str, str]) -> int:
    """Lint for annotations, then for SARIF; returns the first run's exit code."""
    lint = [sys.executable, "-m", "kbtool", "lint", *inputs.lint_args()]
    code = subprocess.run([*lint, "--format", "github"], check=False).returncode
    outputs = {"exit-code": str(code)}
    if inputs.sarif and code != 2:  # a usage error would only repeat itself
        subprocess.run([*lint, "--format", "sarif", "-o", inputs.sarif_file], check=False)
        if Path(inputs.sarif_file).is_file():
            outputs["sarif-file"] = inputs.sarif_file
    if env.get("GITHUB_OUTPUT"):
        with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
            out.writelines(f"{k}={v}\n" for k, v in outputs.items())
    return code


def main() -> None:
    sys.exit(run_action(ActionInputs.from_env(os.environ), os.environ))


if __name__ == "__main__":
    main()
