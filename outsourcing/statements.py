"""Queries of a fixed shape whose SQL each process compiles once: a run only binds its values.

Django compiles a queryset's SQL on every run. For the busiest pages' queries (a join or two
and ``select_related``) that compiling cost more than PostgreSQL took to answer: about a fifth
of Needs attention's CPU at a million messages. A ``Statement`` builds its queryset from
stand-in values (sentinels), compiles it, and keeps the SQL with the positions the stand-ins
took among the parameters; a run puts the real values in their places and lets Django's own
iterable turn the rows into instances, ``select_related`` included.

What keeps it right:

- The queryset is built and compiled twice, from two sets of stand-ins: the SQL and every
  parameter that is not a stand-in must come out the same. A value computed from an argument
  (``now + a day``) or a shape that depends on one would differ, and is refused at once; pass
  such a value as an argument of its own.
- An argument that is None builds its own shape (kept apart by which arguments are None), and
  so does each database, each active time zone (SQL that reads one writes it in) and each
  process (nothing is shared between processes).
- A run returns a list, never a queryset: a queryset chained further (sliced, filtered) would
  need SQL of its own.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

# The widest id a query may be asked for (a signed 64-bit integer): the ORM turns a wider one
# into "no rows" before it reaches the database, but a statement binds its values as given.
MAX_ID = 2**63 - 1


class StatementError(Exception):
    """The queryset does not keep its shape when only its values change."""


def _sentinels(kinds: Mapping[str, type], round_: int) -> dict[str, Any]:
    """Stand-in values no page would ask for, different in each round."""
    values: dict[str, Any] = {}
    for i, (name, kind) in enumerate(sorted(kinds.items())):
        n = 1000 * round_ + i + 1
        if kind is int:
            values[name] = 2_000_000_000 - n
        elif kind is datetime:
            values[name] = datetime(2999, 1, 1, 0, 0, 0, n, tzinfo=UTC)
        elif kind is date:
            values[name] = date(2999, 1, 1 + n % 28) if round_ == 0 else date(2998, 2, 1 + n % 28)
        elif kind is str:
            values[name] = f"\x1fstatement-sentinel-{n}\x1f"
        else:
            raise StatementError(f"no stand-in for {name}: {kind.__name__}")
    return values


@dataclass(frozen=True)
class _Compiled:
    queryset: QuerySet[Any]  # built from the stand-ins: what a run clones
    compiler: SQLCompiler  # after compiling: what it selected, and how rows map to instances
    sql: str
    params: tuple[Any, ...]  # the constants, with the first stand-ins where the values go
    slots: tuple[tuple[int, str, Callable[[Any], Any]], ...]  # (position, argument, how it is adapted)


class Statement[T]:
    """``build(**values)`` as a list, compiled once per process, database, time zone and None-ness.

    ``model`` is the one the queryset reads (its database is the router's choice for it);
    ``kinds`` names each argument's type (int, str, date or datetime); an argument may also be
    None, which builds a shape of its own.
    """

    def __init__(self, model: type[Model], build: Callable[..., QuerySet[Any]], **kinds: type) -> None:
        self.model = model  # whose database the query reads (the router's choice)
        self.build = build
        self.kinds = kinds
        self._compiled: dict[tuple[Any, ...], _Compiled] = {}
        self._lock = threading.Lock()

    def __call__(self, **values: Any) -> list[T]:
        if set(values) != set(self.kinds):
            raise TypeError(f"expected {sorted(self.kinds)}, got {sorted(values)}")
        for name, value in values.items():
            if self.kinds[name] is int and value is not None and not -MAX_ID - 1 <= value <= MAX_ID:
                raise ValueError(f"{name}={value} is wider than 64 bits: check it before asking")
        absent = tuple(sorted(name for name, value in values.items() if value is None))
        alias = router.db_for_read(self.model)
        key = (alias, timezone.get_current_timezone_name(), absent)
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(key) or self._compile(alias, absent)
                self._compiled[key] = compiled
        params = list(compiled.params)
        for position, name, adapt in compiled.slots:
            params[position] = adapt(values[name])
        return self._run(compiled, alias, tuple(params))

    def _compile(self, alias: str, absent: tuple[str, ...]) -> _Compiled:
        kinds = {name: kind for name, kind in self.kinds.items() if name not in absent}
        connection = connections[alias]
        rounds = []
        for round_ in (0, 1):
            stand_ins = _sentinels(kinds, round_)
            queryset = self.build(**stand_ins, **dict.fromkeys(absent))
            if queryset.model is not self.model or queryset.db != alias:
                raise StatementError(
                    f"{self.build.__qualname__} reads {queryset.model.__name__} on {queryset.db}"
                )
            compiler = queryset.query.get_compiler(using=alias)
            sql, params = compiler.as_sql()
            rounds.append((stand_ins, queryset, compiler, sql, tuple(params)))
        (first, queryset, compiler, sql, params), (second, _qs, _c, sql_2, params_2) = rounds
        if sql != sql_2 or len(params) != len(params_2):
            raise StatementError(f"the SQL of {self.build.__qualname__} depends on its values")
        adapters = self._adapters(connection)
        slots = []
        for position, (one, two) in enumerate(zip(params, params_2, strict=True)):
            found = [
                (name, adapt)
                for name in kinds
                for adapt in adapters.get(kinds[name], (_same,))
                if one == adapt(first[name]) and two == adapt(second[name])
            ]
            if found:
                slots.append((position, *found[0]))
            elif one != two:
                raise StatementError(
                    f"parameter {position} of {self.build.__qualname__} is computed from its values: "
                    "pass it as an argument of its own"
                )
        return _Compiled(queryset=queryset, compiler=compiler, sql=sql, params=params, slots=tuple(slots))

    @staticmethod
    def _adapters(connection: Any) -> dict[type, tuple[Callable[[Any], Any], ...]]:
        ops = connection.ops
        return {
            datetime: (_same, ops.adapt_datetimefield_value),
            date: (_same, ops.adapt_datefield_value),
        }

    @staticmethod
    def _run(compiled: _Compiled, alias: str, params: tuple[Any, ...]) -> list[T]:
        compiler = copy.copy(compiled.compiler)
        compiler.connection = connections[alias]  # this thread's
        sql = compiled.sql
        compiler.as_sql = lambda *args, **kwargs: (sql, params)  # type: ignore[method-assign]
        queryset = compiled.queryset._chain()  # type: ignore[attr-defined]
        # Only this clone, and only for this run: the list below is all that leaves.
        queryset.query.get_compiler = lambda using=None, connection=None, elide_empty=True: compiler
        return list(queryset)


def _same(value: Any) -> Any:
    return value
