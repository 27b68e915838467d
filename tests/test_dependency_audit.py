"""`make lint`'s dependency audit: fails on a known vulnerability, says plainly when it could check nothing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "audit_dependencies", Path(__file__).resolve().parents[1] / "bin" / "audit_dependencies.py"
)
assert _spec and _spec.loader
audit_dependencies = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = audit_dependencies  # dataclasses look their module up there
_spec.loader.exec_module(audit_dependencies)

CLEAN = {"name": "django", "version": "6.1.3", "vulns": []}
VULNERABLE = {
    "name": "django",
    "version": "6.1.0",
    "vulns": [{"id": "PYSEC-2026-1", "fix_versions": ["6.1.1"], "aliases": [], "description": "…"}],
}
SKIPPED = {"name": "nh3", "skip_reason": "Dependency not found on PyPI and could not be audited: nh3 (0.3.8)"}


def _verdict(*dependencies, required=False):
    audit = audit_dependencies.read_report({"dependencies": list(dependencies), "fixes": []})
    return audit_dependencies.verdict(audit, required=required)


def test_a_known_vulnerability_fails_the_lint_and_names_the_fix():
    status, lines = _verdict(CLEAN, VULNERABLE)
    assert status == 1
    assert "  django 6.1.0: PYSEC-2026-1 (fixed in: 6.1.1)" in lines


def test_a_vulnerability_fails_even_when_other_packages_could_not_be_checked():
    status, _lines = _verdict(VULNERABLE, SKIPPED)
    assert status == 1


def test_clean_requirements_pass():
    status, lines = _verdict(CLEAN)
    assert status == 0
    assert lines == ["pip-audit: no known vulnerabilities in 1 audited packages."]


def test_an_unreachable_service_is_said_plainly_and_does_not_fail():
    status, lines = _verdict(SKIPPED, SKIPPED)
    assert status == 0
    assert lines[0].startswith(
        "pip-audit: NOT AUDITED: the vulnerability service could not be reached for 2 of 2"
    )


@pytest.mark.parametrize("dependencies", [(SKIPPED,), (CLEAN, SKIPPED)])
def test_an_audit_that_is_required_fails_when_anything_went_unchecked(dependencies):
    status, _lines = _verdict(*dependencies, required=True)
    assert status == 1


def test_some_packages_unchecked_are_named():
    status, lines = _verdict(CLEAN, SKIPPED)
    assert status == 0
    assert "  unaudited: nh3" in lines
