"""Run prebuilt Core statements on the hot path without SQLAlchemy's per-call machinery.

Measured on the 2-core machine, ``Connection.execute`` spends ~80-100 µs per statement on
execution contexts, events and result objects around a ~15 µs SQLite call; the intake
runs about ten statements per delivery. Here a statement is compiled by SQLAlchemy once
per dialect and parameter set (its SQL, bind types and result types come from Core, so
SQL stays portable and declared in repositories), then run on the DB-API cursor of the
connection's current transaction. Only for module-level statements used on hot paths:
everything else goes through ``Connection.execute``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Connection, Insert, Update
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement, ColumnElement

from leadpipe.kit.serialization import json_text as dumps_text
from leadpipe.storage.dialect import batches_lookups, prepares_statements

Processor = Callable[[Any], Any]

_TYPMOD = re.compile(r"\(.*?\)")


@dataclass(frozen=True, slots=True)
class _Plan:
    sql: str
    positional: tuple[tuple[str, Processor | None], ...] | None  # qmark drivers: in order
    literals: dict[str, Any]  # values bound inside the statement itself
    processors: tuple[tuple[str, Processor], ...]
    defaults: tuple[tuple[str, Callable[[], Any]], ...]  # INSERT columns with Python defaults
    columns: tuple[str, ...]  # result column names, for SELECT / RETURNING


def _result_columns(stmt: ClauseElement) -> Sequence[ColumnElement[Any]]:
    """The columns a statement returns: its SELECT list or its RETURNING clause."""
    if isinstance(stmt, Insert | Update):
        returning: Any = stmt._returning  # no public accessor for a statement's RETURNING
        return list(returning)
    selected = getattr(stmt, "selected_columns", None)
    return list(selected) if selected is not None else []


_plans: dict[tuple[ClauseElement, str, frozenset[str]], _Plan] = {}


def _python_defaults(
    stmt: ClauseElement, given: frozenset[str]
) -> tuple[tuple[str, Callable[[], Any]], ...]:
    if not isinstance(stmt, Insert):
        return ()
    found: list[tuple[str, Callable[[], Any]]] = []
    for column in stmt.table.columns:
        default: Any = column.default
        if column.key in given or default is None:
            continue
        if default.is_scalar:
            found.append((column.key, functools.partial(_constant, default.arg)))
        elif default.is_callable:  # SQLAlchemy wraps zero-argument callables to take a context
            found.append((column.key, functools.partial(default.arg, None)))
    return tuple(found)


def _constant(value: Any) -> Any:
    return value


def _plan(conn: Connection, stmt: ClauseElement, keys: frozenset[str]) -> _Plan:
    cache_key = (stmt, conn.dialect.name, keys)
    plan = _plans.get(cache_key)
    if plan is not None:
        return plan
    dialect = conn.dialect
    compiled = cast(SQLCompiler, stmt.compile(dialect=dialect, column_keys=sorted(keys)))
    processors = []
    literals = {}
    for name, bind in compiled.binds.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors.append((name, processor))
        if not bind.required:
            literals[name] = bind.effective_value
    columns = tuple(str(getattr(c, "key", "")) for c in _result_columns(stmt))
    by_name = dict(processors)
    plan = _Plan(
        sql=compiled.string,
        positional=(
            tuple((name, by_name.get(name)) for name in compiled.positiontup or ())
            if compiled.positional
            else None
        ),
        literals=literals,
        processors=tuple(processors),
        defaults=_python_defaults(stmt, keys),
        columns=columns,
    )
    _plans[cache_key] = plan
    return plan


def _bind(plan: _Plan, params: dict[str, Any]) -> Any:
    values = params
    if plan.literals or plan.defaults:
        values = {**plan.literals, **params}
        for key, make in plan.defaults:
            values[key] = make()
    if plan.positional is not None:  # one pass, in the driver's order
        return tuple([values[n] if p is None else p(values[n]) for n, p in plan.positional])
    values = dict(values)
    for name, process in plan.processors:
        if name in values:
            values[name] = process(values[name])
    return values


def _send(conn: Connection, plan: _Plan, params: Any, many: bool) -> Any:
    """Run the statement; in a pipeline, only send it. Returns the cursor, to read from."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if many:
            cursor.executemany(plan.sql, params)
        elif prepares_statements(conn):
            # Prepared from the first run, so planned generically (force_generic_plan):
            # psycopg would run a statement five times unprepared first, each planned for
            # its values, and with statistics older than a workspace's growth such a plan
            # scans the whole workspace for one phone number (49 ms at 79,000 contacts,
            # for every new connection's first lookups).
            cursor.execute(plan.sql, params, prepare=True)
        else:
            cursor.execute(plan.sql, params)
    except conn.dialect.loaded_dbapi.Error as err:
        cursor.close()
        raise _wrapped(conn, plan.sql, params, err) from err
    except BaseException:
        cursor.close()
        raise
    return cursor


def _receive(
    conn: Connection, plan: _Plan, params: Any, cursor: Any
) -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
    """The rows, and the driver's type code of each column (some result processors, such
    as psycopg's for NUMERIC, depend on it). Closes the cursor."""
    try:
        if not plan.columns:
            return [], ()
        rows = list(cursor.fetchall())
        return rows, tuple(d[1] for d in cursor.description)
    except conn.dialect.loaded_dbapi.Error as err:
        raise _wrapped(conn, plan.sql, params, err) from err
    finally:
        cursor.close()


def _wrapped(conn: Connection, sql: str, params: Any, err: Exception) -> StatementError:
    """The driver's error as SQLAlchemy raises it (IntegrityError and so on)."""
    return DBAPIError.instance(
        sql, params, err, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
    )


class Rows:
    """Result rows as plain tuples, with their column names."""

    __slots__ = ("columns", "rows")

    def __init__(self, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        self.columns = columns
        self.rows = rows

    def first(self) -> dict[str, Any] | None:
        return dict(zip(self.columns, self.rows[0], strict=True)) if self.rows else None

    def mappings(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None


def execute(conn: Connection, stmt: ClauseElement, params: dict[str, Any]) -> Rows:
    return _submit(conn, stmt, params).result()


class Pending:
    """A statement on its way: in a pipeline its answer is read only when asked for, so
    that statements sent before it share one round trip."""

    __slots__ = ("_conn", "_cursor", "_params", "_plan", "_stmt")

    def __init__(
        self, conn: Connection, stmt: ClauseElement, plan: _Plan, params: Any, cursor: Any
    ) -> None:
        self._conn, self._stmt, self._plan, self._params = conn, stmt, plan, params
        self._cursor = cursor

    def result(self) -> Rows:
        raw, type_codes = _receive(self._conn, self._plan, self._params, self._cursor)
        return Rows(self._plan.columns, _process_results(self._conn, self._stmt, raw, type_codes))


def submit(conn: Connection, stmt: ClauseElement, params: dict[str, Any]) -> Pending:
    """Send ``stmt`` now and read its rows later (``Pending.result``). In a pipelined
    transaction, any statement whose rows are read in between waits for this one's too.

    Its cursor is remembered until ``close_unread``: on SQLite a statement whose rows are
    never read (its transaction failed first) stays active, and keeps its connection's
    read snapshot open after the rollback. The next users of that pooled connection
    would see the database as it was then, and fail to write or checkpoint."""
    pending = _submit(conn, stmt, params)
    conn.info.setdefault(_UNREAD, []).append(pending._cursor)
    return pending


def close_unread(conn: Connection) -> None:
    """Close the cursors of statements sent by ``submit`` and never read, if any; for the
    end of every transaction, so that the connection goes back to its pool clean."""
    cursors = conn.info.pop(_UNREAD, None)
    for cursor in cursors or ():
        cursor.close()


_UNREAD = "leadpipe.unread_cursors"


def _submit(conn: Connection, stmt: ClauseElement, params: dict[str, Any]) -> Pending:
    plan = _plan(conn, stmt, frozenset(params))
    bound = _bind(plan, params)
    return Pending(conn, stmt, plan, bound, _send(conn, plan, bound, many=False))


def execute_many(conn: Connection, stmt: ClauseElement, rows: Sequence[dict[str, Any]]) -> None:
    """Run ``stmt`` once per parameter set; every set must have the same keys."""
    if not rows:
        return
    plan = _plan(conn, stmt, frozenset(rows[0]))
    params = [_bind(plan, r) for r in rows]
    _send(conn, plan, params, many=True).close()


_result_processors: dict[tuple[ClauseElement, str], tuple[tuple[int, Processor], ...]] = {}


def _process_results(
    conn: Connection,
    stmt: ClauseElement,
    raw: Iterable[tuple[Any, ...]],
    type_codes: tuple[Any, ...],
) -> list[tuple[Any, ...]]:
    rows = list(raw)
    if not rows:
        return rows
    key = (stmt, conn.dialect.name)
    processors = _result_processors.get(key)
    if processors is None:
        dialect = conn.dialect
        found = (
            c.type.dialect_impl(dialect).result_processor(dialect, code)
            for c, code in zip(_result_columns(stmt), type_codes, strict=True)
        )
        # Only the columns that need it: a page of leads has thousands of plain values.
        processors = tuple((i, p) for i, p in enumerate(found) if p is not None)
        _result_processors[key] = processors
    if not processors:
        return rows
    processed = []
    for row in rows:
        values = list(row)
        for i, process in processors:
            values[i] = process(values[i])
        processed.append(tuple(values))
    return processed


def insert_rows(conn: Connection, stmt: Insert, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows``, which may each leave out different columns (those get their
    defaults): on PostgreSQL in one statement, elsewhere one execution per row.

    On PostgreSQL the rows travel as one JSON parameter that ``json_to_recordset``
    turns back into rows: the statement's text depends only on its columns, so it is
    prepared once, and a batch's thousands of values cost the client one ``orjson.dumps``
    instead of a conversion and a placeholder each (and PostgreSQL no parse and plan of a
    VALUES list per batch). Rows that JSON cannot carry as they are (a server default
    wanted by some rows and not others, a JSON column set to None) go as one multi-row
    VALUES statement instead.
    """
    if not batches_lookups(conn) or len(rows) == 1:
        by_keys: dict[frozenset[str], list[dict[str, Any]]] = {}
        for row in rows:
            by_keys.setdefault(frozenset(row), []).append(row)
        for same_keys in by_keys.values():
            execute_many(conn, stmt, same_keys)
        return
    given: frozenset[str] = frozenset().union(*rows)
    plan = _plan(conn, stmt, given)  # bind processors, Python defaults
    json_plan = _json_plan(conn, stmt, plan, given)
    carried = None if json_plan.has_bytes else _as_json_rows(json_plan, rows)
    if carried is None:
        _insert_values(conn, plan, stmt, given, rows)
    else:
        _send_raw(conn, json_plan.sql, [carried])


@dataclass(frozen=True, slots=True)
class _JsonPlan:
    sql: str
    # Per column: its key in the rows, its name in the JSON, how to convert its value
    # (None: as it is), whether it is a JSON column, and how to make it when left out.
    cells: tuple[tuple[str, str, Processor | None, bool, Callable[[], Any] | None], ...]
    server_defaults: frozenset[str]  # columns that only the server can fill in
    has_bytes: bool  # a binary column, which JSON cannot carry


_json_plans: dict[tuple[Insert, frozenset[str]], _JsonPlan] = {}


def _json_plan(conn: Connection, stmt: Insert, plan: _Plan, given: frozenset[str]) -> _JsonPlan:
    cache_key = (stmt, given)
    found = _json_plans.get(cache_key)
    if found is not None:
        return found
    table = stmt.table
    processors = dict(plan.processors)
    defaults = dict(plan.defaults)
    cells = []
    for key in sorted(given | defaults.keys()):
        column = table.c[key]
        is_json = isinstance(column.type, sqltypes.JSON)
        convert: Processor | None
        if is_json:
            convert = None  # nested as it is: JSON inside the JSON
        elif isinstance(column.type, sqltypes.Numeric):
            convert = _exact_number  # JSON numbers are floats
        else:
            convert = processors.get(key)
        cells.append((key, column.name, convert, is_json, defaults.get(key)))
    quote = conn.dialect.identifier_preparer
    names = ", ".join(quote.quote(name) for _, name, *_ in cells)
    # Only the columns given, with their types: json_populate_recordset would make every
    # column of the table's row type, a third more work for PostgreSQL here. The types go
    # without their lengths and scales, which the INSERT then applies as it does to
    # parameters: a value too long for its column fails, a numeric is rounded.
    typed = ", ".join(
        f"{quote.quote(name)} {_TYPMOD.sub('', table.c[key].type.compile(dialect=conn.dialect))}"
        for key, name, *_ in cells
    )
    found = _JsonPlan(
        sql=f"INSERT INTO {quote.format_table(table)} ({names}) SELECT {names} "
        f"FROM json_to_recordset($1::json) AS r({typed})",
        cells=tuple(cells),
        server_defaults=frozenset(key for key in given if table.c[key].server_default is not None),
        has_bytes=any(isinstance(table.c[key].type, sqltypes.LargeBinary) for key in given),
    )
    _json_plans[cache_key] = found
    return found


def _exact_number(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _as_json_rows(plan: _JsonPlan, rows: Sequence[dict[str, Any]]) -> str | None:
    """The rows as the JSON array the plan's statement reads, or None when JSON cannot
    say what they mean."""
    out = []
    for row in rows:
        if not plan.server_defaults <= row.keys():
            return None  # the server's default for this row, a value for others
        values: dict[str, Any] = {}
        for key, name, convert, is_json, default in plan.cells:
            if key in row:
                value = row[key]
                if value is None and is_json:
                    return None  # JSON null, not SQL NULL, as SQLAlchemy would store it
            elif default is not None:
                value = default()
            else:
                value = None  # a nullable column without a server default
            values[name] = value if convert is None or value is None else convert(value)
        out.append(values)
    return dumps_text(out)


def _insert_values(
    conn: Connection, plan: _Plan, stmt: Insert, given: frozenset[str], rows: Sequence[Any]
) -> None:
    """One multi-row VALUES statement; unprepared, as its text changes with the rows. It
    is written with PostgreSQL's own ``$n`` placeholders for a raw cursor, which psycopg
    does not parse."""
    processors = dict(plan.processors)
    defaults = dict(plan.defaults)
    names = sorted(given | defaults.keys())
    params: list[Any] = []
    tuples = []
    for row in rows:
        cells = []
        for name in names:
            if name in row:
                value = row[name]
            elif name in defaults:
                value = defaults[name]()
            else:  # the column's server default, as when an INSERT leaves it out
                cells.append("DEFAULT")
                continue
            process = processors.get(name)
            params.append(value if process is None else process(value))
            cells.append(f"${len(params)}")
        tuples.append(f"({', '.join(cells)})")
    quote = conn.dialect.identifier_preparer
    table = stmt.table
    sql = (
        f"INSERT INTO {quote.format_table(table)} "
        f"({', '.join(quote.quote(table.c[n].name) for n in names)}) VALUES {', '.join(tuples)}"
    )
    _send_raw(conn, sql, params)


def _send_raw(conn: Connection, sql: str, params: list[Any]) -> None:
    """Run SQL written with ``$n`` placeholders (PostgreSQL only)."""
    import psycopg  # only PostgreSQL gets here

    cursor = psycopg.RawCursor(conn.connection.driver_connection)  # type: ignore[arg-type]
    try:
        cursor.execute(sql, params)
    except conn.dialect.loaded_dbapi.Error as err:
        raise _wrapped(conn, sql, params, err) from err
    finally:
        cursor.close()
