"""axe-core in the page under test: node_modules' own copy (pinned in package.json), never a CDN.

``page.add_script_tag`` would put it in an inline ``<script>``, which the strict CSP refuses (and
reports as a console error). ``install`` has the browser run the file in every page of a context
before the page's own scripts, through the DevTools protocol, so the policy stays as strict as it
is for everyone else (and the file is not sent over again for each check); ``violations`` falls
back to evaluating it in a page that does not have it yet.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SEVERE = ("serious", "critical")

RUN = """async (severe) => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter((v) => severe.includes(v.impact))
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 6).map((n) => n.target.join(" ") + " :: " + (n.failureSummary || "").split("\\n").slice(1, 2).join("")),
    }));
}"""


@cache
def _source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def install(context: object) -> None:
    """Give every page the context opens from now on axe-core."""
    context.add_init_script(path=str(AXE_JS))  # type: ignore[attr-defined]


def violations(page: object) -> list[dict[str, object]]:
    """The serious and critical axe-core violations of the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):  # type: ignore[attr-defined]
        page.evaluate(_source())  # type: ignore[attr-defined]
    return page.evaluate(RUN, list(SEVERE))  # type: ignore[attr-defined,no-any-return]


def report(found: dict[str, list[dict[str, object]]]) -> str:
    """Violations by page, one line each: what a failing test prints."""
    lines = []
    for where, items in found.items():
        for v in items:
            lines.append(f"{where}: {v['id']} ({v['impact']}) {v['help']}")
            lines += [f"    {t}" for t in v["targets"]]  # type: ignore[attr-defined]
    return "\n".join(lines)
