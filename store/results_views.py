"""The SQL views of the results tables (``models.results_tables``), over the newest
registry version of every record (``latest_version``), on SQLite and PostgreSQL.

Each branch of a table is one SELECT that walks its nested lists with ``json_each``
(SQLite) or ``jsonb_array_elements ... WITH ORDINALITY`` (PostgreSQL); a table of
several branches is their UNION ALL. A list that is null or absent gives no rows, as in
the Python rows (``read/results_flat.py``); PostgreSQL casts each column to its type.
"""

from __future__ import annotations

from trialmirror.models.results_tables import TABLES, Branch, Const, Joined, Key, Position, Source, Table

_HEAD = "v.registry_id, v.source, v.version"


def _sq_list(parent: str, path: tuple[str, ...]) -> str:
    return f"json_each({parent}, '$.{'.'.join(path)}')"


def _sq_value(source: Source) -> str:
    if isinstance(source, Const):
        return "NULL" if source.value is None else f"'{source.value}'"
    if isinstance(source, Position):
        return f"{source.at}.key + 1"
    if isinstance(source, Key):
        return f"json_extract({source.at}.value, '$.{source.key}')"
    assert isinstance(source, Joined)
    return f"(SELECT group_concat(j.value, '|') FROM json_each({source.at}.value, '$.{source.key}') j)"


def _sq_select(branch: Branch) -> str:
    lists, parent = [], "v.record"
    for step in branch.steps:
        lists.append(f"{_sq_list(parent, step.path)} {step.at}")
        parent = f"{step.at}.value"
    # json_each of a JSON null is one row whose key is NULL: "key IS NOT NULL" keeps list items.
    where = " AND ".join(f"{step.at}.key IS NOT NULL" for step in branch.steps)
    columns = ", ".join(f"{_sq_value(source)} AS {name}" for name, source in branch.columns)
    return f"SELECT {_HEAD}, {columns} FROM latest_version v, {', '.join(lists)} WHERE {where}"


def _pg_array(expr: str) -> str:
    return f"(CASE jsonb_typeof({expr}) WHEN 'array' THEN {expr} ELSE '[]'::jsonb END)"


def _pg_list(parent: str, path: tuple[str, ...]) -> str:
    expr = f"{parent} -> '{path[0]}'" if len(path) == 1 else f"{parent} #> '{{{','.join(path)}}}'"
    return f"jsonb_array_elements({_pg_array(expr)})"


def _pg_value(source: Source, sql_type: str) -> str:
    if isinstance(source, Const):
        return f"NULL::{sql_type}" if source.value is None else f"'{source.value}'::{sql_type}"
    if isinstance(source, Position):
        return f"{source.at}.n"
    if isinstance(source, Key):
        text = f"{source.at}.value ->> '{source.key}'"
        return text if sql_type == "text" else f"({text})::{sql_type}"
    assert isinstance(source, Joined)
    items = _pg_array(f"{source.at}.value -> '{source.key}'")
    return f"(SELECT string_agg(j.item, '|' ORDER BY j.n) FROM jsonb_array_elements_text({items}) WITH ORDINALITY AS j(item, n))"


def _pg_select(branch: Branch, types: dict[str, str]) -> str:
    lists, parent = [], "v.doc"
    for step in branch.steps:
        lists.append(f"{_pg_list(parent, step.path)} WITH ORDINALITY AS {step.at}(value, n)")
        parent = f"{step.at}.value"
    columns = ", ".join(f"{_pg_value(source, types[name])} AS {name}" for name, source in branch.columns)
    return f"SELECT {_HEAD}, {columns} FROM latest_version v, {', '.join(lists)}"


def _sqlite_view(table: Table) -> str:
    selects = " UNION ALL ".join(_sq_select(branch) for branch in table.branches)
    return f"CREATE VIEW IF NOT EXISTS {table.name} AS {selects}"


def _postgres_view(table: Table) -> str:
    types = dict(table.types)
    selects = " UNION ALL ".join(_pg_select(branch, types) for branch in table.branches)
    return f"CREATE OR REPLACE VIEW {table.name} AS {selects}"


def sqlite_ddl() -> list[str]:
    return [_sqlite_view(table) for table in TABLES]


def postgres_ddl() -> list[str]:
    return [_postgres_view(table) for table in TABLES]


NAMES = tuple(table.name for table in TABLES)  # for a migration's downgrade: drop these
