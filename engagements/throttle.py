"""Background work that leaves the CPU to the pages: it pauses after each database query.

A reliability refresh at a million messages is seconds of Python and PostgreSQL at full speed.
On a host it shares with the web workers (or a database it shares with them), those seconds
were the pages' slowest: ``make load`` saw every page wait 300–500 ms for as long as a
refresh ran, and nothing in between. Run ``throttled``, the same work takes ``1 + factor``
times as long and at most ``1 / (1 + factor)`` of a core, so the pages keep theirs.

After each query, it sleeps ``factor`` times what it did since its last pause (the query and
the Python before it). Never inside a transaction: a pause there would hold the transaction's
locks (a refresh's last step replaces the snapshot rows and empties the backlog, which every
logged message writes to).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

# A pause never longer than this, whatever one query took: the work goes on, only gentler.
MAX_PAUSE_SECONDS = 2.0


@contextmanager
def throttled(factor: float, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run the block's database work at ``1 / (1 + factor)`` of its speed (0: at full speed)."""
    if factor <= 0:
        yield
        return
    connection = connections[using]
    mark = time.monotonic()

    def pause_after(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal mark
        try:
            return execute(sql, params, many, context)
        finally:
            # Not inside a transaction, nor after the BEGIN that opens one (SQLite sends it
            # before Django marks the block atomic).
            if not connection.in_atomic_block and sql.lstrip()[:5].upper() != "BEGIN":
                time.sleep(min((time.monotonic() - mark) * factor, MAX_PAUSE_SECONDS))
                mark = time.monotonic()

    with connection.execute_wrapper(pause_after):
        yield
