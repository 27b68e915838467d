"""`make lint`'s dependency audit: pip-audit over the pinned requirements, honest about what it could check.

pip-audit reads each pinned version's known vulnerabilities from PyPI. Where
that service cannot be reached (a machine behind a registry mirror that
serves packages but not their vulnerability records), pip-audit skips every
package and still exits 0: a pass that checked nothing. This wrapper says so
plainly instead, and fails only on what is real:

- a known vulnerability in a pinned version: exit 1, listing them;
- pip-audit itself broken (not a network failure): exit 1;
- the service unreachable, for some or all packages: a clear notice and exit 0,
  unless AUDIT_REQUIRED=1 (then exit 1: for a CI that must audit).
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404  # runs pip-audit, a fixed command of ours
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ("requirements.txt", "requirements-dev.txt")
# What pip-audit's errors say when it could not reach the vulnerability service.
NETWORK_ERRORS = ("ConnectionError", "NameResolutionError", "Max retries exceeded", "timed out", "HTTPError")


@dataclass
class Audit:
    audited: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)  # could not be looked up
    findings: list[str] = field(default_factory=list)  # "package version: ID (fix: versions)"


def read_report(report: dict) -> Audit:
    """Sort pip-audit's JSON report into audited, unreachable and vulnerable packages."""
    audit = Audit()
    for dependency in report.get("dependencies", []):
        name = f"{dependency['name']} {dependency.get('version', '')}".strip()
        if "skip_reason" in dependency:
            audit.unreachable.append(name)
            continue
        audit.audited.append(name)
        for vuln in dependency.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
            audit.findings.append(f"{name}: {vuln['id']} (fixed in: {fixes})")
    return audit


def verdict(audit: Audit, *, required: bool) -> tuple[int, list[str]]:
    """The exit status and the lines to print."""
    lines: list[str] = []
    if audit.findings:
        lines.append(f"pip-audit: {len(audit.findings)} known vulnerabilities in pinned requirements:")
        lines += [f"  {finding}" for finding in audit.findings]
    if audit.unreachable:
        total = len(audit.audited) + len(audit.unreachable)
        lines.append(
            f"pip-audit: NOT AUDITED: the vulnerability service could not be reached for "
            f"{len(audit.unreachable)} of {total} packages from this machine "
            f"(its package registry serves no vulnerability records)."
        )
        if len(audit.unreachable) < total:
            lines.append("  unaudited: " + ", ".join(audit.unreachable))
        lines.append("  Run `make lint` where pypi.org is reachable, or set AUDIT_REQUIRED=1 to fail here.")
    if not audit.findings and audit.audited:
        lines.append(f"pip-audit: no known vulnerabilities in {len(audit.audited)} audited packages.")
    failed = bool(audit.findings) or (required and bool(audit.unreachable))
    return (1 if failed else 0), lines


def run() -> int:
    required = os.environ.get("AUDIT_REQUIRED", "") not in ("", "0", "false")
    command = [sys.executable, "-m", "pip_audit", "--format", "json", "--progress-spinner", "off"]
    # Every version is pinned: audit those exact versions without resolving (no install, no pip).
    command += ["--disable-pip", "--no-deps"]
    for requirements in REQUIREMENTS:
        command += ["-r", str(ROOT / requirements)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # nosec B603
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        if any(error in result.stderr for error in NETWORK_ERRORS):
            report = {"dependencies": [{"name": "all requirements", "skip_reason": "unreachable"}]}
        else:
            print(result.stderr, file=sys.stderr)
            print("pip-audit failed (not a network error): see above.", file=sys.stderr)
            return 1
    status, lines = verdict(read_report(report), required=required)
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(run())
