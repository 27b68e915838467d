"""Prints a workspace's reliability figures as JSON: ``python -m tests.ops.figures WORKSPACE_ID NOW``.

Run against a restored database (DATABASE_URL), its output must equal the original's."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import datetime


def figures(workspace_id: int, now: datetime) -> str:
    from engagements.reliability.metrics import Period, Scope, compute

    computed = compute(Scope(workspace_id), Period.standard("all", now=now), now=now)
    return json.dumps(
        {str(key): dataclasses.asdict(value) for key, value in computed.items()}, default=str, sort_keys=True
    )


if __name__ == "__main__":
    import django

    django.setup()
    sys.stdout.write(figures(int(sys.argv[1]), datetime.fromisoformat(sys.argv[2])) + "\n")
