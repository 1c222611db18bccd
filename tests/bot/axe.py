"""Accessibility checks in the browser tests: axe-core (from the npm registry, installed by
`make test` with the widget's packages) run inside the page Playwright has open."""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def violations(page, *, include: str | None = None) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now (or inside the
    element `include` selects), each as {id, impact, help, targets}."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the page's Content-Security-Policy (no
        # inline scripts) stays as it is in production.
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    context = {"include": [include]} if include else None
    result = page.evaluate(
        "async (context) => await axe.run(context || document, {resultTypes: ['violations']})",
        context)
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "targets": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in BLOCKING]


def describe(found: list[dict]) -> str:
    """One line per violation, for an assertion message."""
    return "\n".join(f"{v['impact']}: {v['id']} ({v['help']}) at {v['targets']}" for v in found)
