"""The only place that branches on SQLite vs PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from sqlalchemy import (
    JSON,
    BindParameter,
    Boolean,
    ColumnElement,
    Connection,
    bindparam,
    cast,
    func,
    literal,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

T = TypeVar("T")

# PostgreSQL's codes for a server that is going away, starting up or out of connections:
# the class 08 connection errors, admin/crash shutdown, "cannot connect now", too many
# connections.
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def is_unavailable(exc: BaseException) -> bool:
    """Whether a database error means "not now" rather than "not this": the server cannot
    be reached, dropped the connection or is shutting down (PostgreSQL), or another process
    held the write lock past the busy timeout (SQLite). A request failing so may simply be
    retried; any other database error is a bug or a refusal."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, psycopg.Error):
        if orig.sqlstate is None:  # raised by the client: refused, timed out, closed
            return isinstance(orig, psycopg.OperationalError | psycopg.InterfaceError)
        return orig.sqlstate.startswith("08") or orig.sqlstate in _UNAVAILABLE_SQLSTATES
    return isinstance(orig, sqlite3.OperationalError) and str(orig).startswith("database is locked")


# -- what each backend is good at: every SQLite-versus-PostgreSQL choice outside this
# module asks one of these, so that the reason is written once.


def _name(conn: Connection | str) -> str:
    return conn if isinstance(conn, str) else conn.dialect.name


def batches_lookups(conn: Connection | str) -> bool:
    """Whether many lookups go as one statement (arrays, a lateral join, a JSON recordset):
    on PostgreSQL each statement costs a round trip; SQLite runs in the process, where one
    indexed lookup per key is as fast and needs no arrays."""
    return _name(conn) == "postgresql"


def ors_indexed_lookups(conn: Connection | str) -> bool:
    """Whether ``a = ? OR b = ? OR c = ?`` uses the three indexes: PostgreSQL ORs them
    through a bitmap; SQLite cannot, and scans unless each is a query of its own."""
    return _name(conn) == "postgresql"


def serializes_writers_with_locks(conn: Connection | str) -> bool:
    """Whether writers of the same rows must take turns through advisory locks, to never
    deadlock: PostgreSQL lets transactions write concurrently; SQLite has one writer."""
    return _name(conn) == "postgresql"


def has_one_writer(conn: Connection | str) -> bool:
    """Whether the database takes one write transaction at a time (SQLite): writes then
    run one by one in the process instead of waiting on each other's locks."""
    return _name(conn) == "sqlite"


def runs_in_process(conn: Connection | str) -> bool:
    """Whether the database runs inside this process (SQLite): its work never waits on a
    network, so it is done right on the event loop instead of on a thread."""
    return _name(conn) == "sqlite"


def has_row_level_security(conn: Connection | str) -> bool:
    """Whether each transaction sets its workspace for row-level security (PostgreSQL)."""
    return _name(conn) == "postgresql"


def pipelines_statements(conn: Connection | str) -> bool:
    """Whether statements can be sent without waiting for each answer (psycopg's
    pipeline mode); SQLite answers in the process, with nothing to wait for."""
    return _name(conn) == "postgresql"


def prepares_statements(conn: Connection | str) -> bool:
    """Whether hot statements are prepared on the server from their first run, so that
    one generic plan serves them (PostgreSQL); SQLite caches its own statements."""
    return _name(conn) == "postgresql"


def reports_commit_outcomes(conn: Connection | str) -> bool:
    """Whether a commit whose answer was lost can be looked up by transaction id
    (PostgreSQL); SQLite commits in the process, so it never loses the answer."""
    return _name(conn) == "postgresql"


def keeps_a_log_to_checkpoint(conn: Connection | str) -> bool:
    """Whether leadpipe copies the write-ahead log back into the database itself
    (SQLite in WAL mode); PostgreSQL checkpoints on its own."""
    return _name(conn) == "sqlite"


def stores_datetimes_as_text(conn: Connection | str) -> bool:
    """Whether datetimes are stored as text (SQLite, which compares them as text: naive
    UTC so that they sort); PostgreSQL has a timestamp type with a time zone."""
    return _name(conn) == "sqlite"


def alters_tables_by_copying(conn: Connection | str) -> bool:
    """Whether a migration alters a table by copying it and dropping the original
    (SQLite): foreign keys must be off meanwhile and checked after."""
    return _name(conn) == "sqlite"


def needs_statistics_gathered(conn: Connection | str) -> bool:
    """Whether the planner sees statistics only when leadpipe runs ANALYZE (SQLite);
    PostgreSQL's autovacuum gathers them by itself, unless it is switched off."""
    return _name(conn) == "sqlite"


def puts_nulls_last_in_ascending_indexes(conn: Connection | str) -> bool:
    """Whether an ascending index holds NULLs after every value (PostgreSQL): read
    backwards it gives ``DESC NULLS FIRST``, so a ``DESC NULLS LAST`` sort needs an index
    declared ``NULLS FIRST``. SQLite holds NULLs first, and rejects the words."""
    return _name(conn) == "postgresql"


def carries_notifications(conn: Connection | str) -> bool:
    """PostgreSQL's LISTEN/NOTIFY can carry messages between workers (live events)."""
    return _name(conn) == "postgresql"


def insert(dialect: str, table: Any) -> Any:
    """An INSERT that supports ``on_conflict_do_nothing/do_update`` on both backends."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def per_dialect(build: Callable[[str], T]) -> Callable[[Connection], T]:
    """A statement built once per dialect and reused: building Core statements per call
    costs more than running them."""
    built: dict[str, T] = {}

    def get(conn: Connection) -> T:
        name = conn.dialect.name
        if name not in built:
            built[name] = build(name)
        return built[name]

    return get


def json_array(dialect: str, *values: Any) -> Any:
    """A JSON array built from column values in SQL."""
    if dialect == "postgresql":
        return func.json_build_array(*values)
    return func.json_array(*values)


def json_array_agg(dialect: str, value: Any) -> Any:
    """The values of a group as one JSON array (``[]`` when there are none), typed JSON so
    that it reads back as a Python list on both backends."""
    if dialect == "postgresql":
        agg = func.coalesce(func.json_agg(value), cast("[]", JSON))
    else:
        agg = func.coalesce(func.json_group_array(value), "[]")
    return type_coerce(agg, JSON)


def json_param(dialect: str, name: str) -> BindParameter[Any]:
    return bindparam(name, type_=JSONB if dialect == "postgresql" else JSON)


def json_merge(dialect: str, column: Any, patch_param: str) -> Any:
    """``column`` with the keys of the JSON object bound as ``patch_param`` written over it,
    computed by the database so that concurrent merges into one row keep each other's keys."""
    patch = json_param(dialect, patch_param)
    if dialect == "postgresql":
        return func.coalesce(column, cast({}, JSONB)).op("||")(patch)
    return func.json_patch(func.coalesce(column, "{}"), func.json(patch))


class ContainsIgnoringCase(ColumnElement[bool]):
    """``value`` matches the LIKE ``pattern`` whatever the case.

    - SQLite: plain ``LIKE``. It already ignores ASCII case, and SQLite's ``lower()`` lowers
      only ASCII, so the match is the same as SQLAlchemy's ``lower(v) LIKE lower(p)``; but
      only the plain form lets an index on ``value`` answer it.
    - PostgreSQL: ``ILIKE``, which a trigram index on ``value`` answers; or, when the
      pattern is too short to hold a trigram (``trigram_index=False``), ``lower(v) LIKE
      lower(p)``: the same match, which that index cannot take, since for such a pattern
      it would read itself whole (half a second on 700,000 names).
    """

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a comparison: no "= 1" after it on SQLite
    _traverse_internals = [
        ("value", InternalTraversal.dp_clauseelement),
        ("pattern", InternalTraversal.dp_clauseelement),
        ("trigram_index", InternalTraversal.dp_boolean),
    ]

    def __init__(self, value: Any, pattern: Any, *, trigram_index: bool = True) -> None:
        self.value = value
        self.pattern = pattern if isinstance(pattern, ColumnElement) else literal(pattern)
        self.trigram_index = trigram_index


@compiles(ContainsIgnoringCase)
def _ilike(element: ContainsIgnoringCase, compiler: SQLCompiler, **kw: Any) -> str:
    value, pattern = (compiler.process(e, **kw) for e in (element.value, element.pattern))
    if element.trigram_index:
        return f"{value} ILIKE {pattern}"
    return f"lower({value}) LIKE lower({pattern})"


@compiles(ContainsIgnoringCase, "sqlite")
def _like(element: ContainsIgnoringCase, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(element.value, **kw)} LIKE {compiler.process(element.pattern, **kw)}"


class _AgainstJsonArray(ColumnElement[bool]):
    """A condition on ``column`` against the JSON array of strings bound as ``values``: a
    list of any length as one bind value, so that the statement stays the same (and
    cached) whatever the number (an expanding ``IN`` would be compiled anew for each)."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("values", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, values: Any) -> None:
        self.column = column
        self.values = values


class HasAnyOf(_AgainstJsonArray):
    """The JSON array ``column`` holds any of the strings of ``values`` (a lead's tags,
    filtered by several at once).

    - SQLite: its ``json_each`` over both arrays.
    - PostgreSQL: ``jsonb_exists_any`` on the column's JSONB.
    """

    inherit_cache = True


@compiles(HasAnyOf)
def _jsonb_exists_any(element: HasAnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = (compiler.process(e, **kw) for e in (element.column, element.values))
    return (
        f"jsonb_exists_any({column}, "
        f"ARRAY(SELECT jsonb_array_elements_text(CAST({values} AS jsonb))))"
    )


@compiles(HasAnyOf, "sqlite")
def _json_each_any(element: HasAnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = (compiler.process(e, **kw) for e in (element.column, element.values))
    return (
        f"EXISTS (SELECT 1 FROM json_each({column}) AS held "
        f"WHERE held.value IN (SELECT value FROM json_each({values})))"
    )


class InJsonArray(_AgainstJsonArray):
    """``column`` equals one of the strings of ``values``."""

    inherit_cache = True


@compiles(InJsonArray)
def _any_of_jsonb(element: InJsonArray, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = (compiler.process(e, **kw) for e in (element.column, element.values))
    return f"{column} = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST({values} AS jsonb))))"


@compiles(InJsonArray, "sqlite")
def _in_json_each(element: InJsonArray, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = (compiler.process(e, **kw) for e in (element.column, element.values))
    return f"{column} IN (SELECT value FROM json_each({values}))"


class InFoundFirst(ColumnElement[bool]):
    """``column`` is one of the values ``found`` (a one-column SELECT) gives, looked for
    by finding those first and then each of them by ``column``'s index: a few leads of a
    rare tag among many.

    - SQLite: ``IN (found)``, which SQLite answers so (a list, then lookups).
    - PostgreSQL: ``= ANY(ARRAY(found))``, an array built once before the rest. As an
      ``IN`` it would be a semi-join, planned generically (without the values) as if a
      third of the leads matched: the page scanned the workspace in order for 50 of 240.
    """

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("found", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, found: Any) -> None:
        self.column = column
        self.found = found.scalar_subquery()


@compiles(InFoundFirst)
def _any_of_array(element: InFoundFirst, compiler: SQLCompiler, **kw: Any) -> str:
    column, found = (compiler.process(e, **kw) for e in (element.column, element.found))
    return f"{column} = ANY(ARRAY{found})"


@compiles(InFoundFirst, "sqlite")
def _in_found(element: InFoundFirst, compiler: SQLCompiler, **kw: Any) -> str:
    column, found = (compiler.process(e, **kw) for e in (element.column, element.found))
    return f"{column} IN {found}"
