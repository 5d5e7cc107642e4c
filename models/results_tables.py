"""The results section (``models.results``) as flat tables, one row per fact: what
each table is made of, written once for both its makers — the Python rows of the CSV
and Parquet exports (``read/flat.py``) and the SQL views on SQLite and PostgreSQL
(``store/results_views.py``) — so the two cannot drift apart.

The names are AACT's where AACT has the table (``outcomes``, ``outcome_measurements``,
``reported_events`` ...), so its users find them; the columns are the record's keys.
Every row starts with ``registry_id``, ``source`` and ``version``: the version it was
read from. A table's rows come from one or more *branches* (``result_groups``: the
groups of each of the four modules; ``reported_events``: the serious, then the other
events). A branch walks nested lists from the record (its ``steps``) and gives one row
per item of the innermost list; each column reads a key of an item on the way
(:class:`Key`), an item's position in its list, from 1 (:class:`Position`: how rows of
two tables about one outcome meet), a list of an item joined with ``|``
(:class:`Joined`), or a constant (:class:`Const`).
"""

from __future__ import annotations

from dataclasses import dataclass

# Column types, as PostgreSQL names them (the views cast to them; Parquet maps them).
TEXT, INT, FLOAT, BOOL = "text", "bigint", "double precision", "boolean"
VERSION_COLUMNS = ("registry_id", "source", "version")  # on every row


@dataclass(frozen=True)
class Key:
    at: str  # the step whose item it reads
    key: str


@dataclass(frozen=True)
class Position:
    at: str


@dataclass(frozen=True)
class Joined:
    at: str
    key: str


@dataclass(frozen=True)
class Const:
    value: str | None


Source = Key | Position | Joined | Const


@dataclass(frozen=True)
class Step:
    at: str  # its name, for the columns (and the SQL alias)
    path: tuple[str, ...]  # the list, below the record (first step) or the item of the step before


@dataclass(frozen=True)
class Branch:
    steps: tuple[Step, ...]
    columns: tuple[tuple[str, Source], ...]  # in the table's column order


@dataclass(frozen=True)
class Table:
    name: str
    types: tuple[tuple[str, str], ...]  # (column, type) after VERSION_COLUMNS
    branches: tuple[Branch, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return VERSION_COLUMNS + tuple(name for name, _ in self.types)


def _step(at: str, path: str) -> Step:
    return Step(at, tuple(path.split(".")))


def _branch(steps: tuple[Step, ...], columns: dict[str, Source]) -> Branch:
    return Branch(steps, tuple(columns.items()))


def _table(name: str, types: tuple[tuple[str, str], ...], *branches: Branch) -> Table:
    for branch in branches:  # every branch gives every column, in the table's order
        assert [c for c, _ in branch.columns] == [c for c, _ in types], name
    return Table(name, types, branches)


def _keys(at: str, types: tuple[tuple[str, str], ...], **renamed: str) -> dict[str, Source]:
    """Each column read from the key of its name (or ``renamed[column]``) of ``at``'s item."""
    return {column: Key(at, renamed.get(column, column)) for column, _ in types}


# --- the columns ---------------------------------------------------------------------

_GROUP = (("group_id", TEXT), ("title", TEXT), ("description", TEXT), ("arm", TEXT))
_VALUE = (("value", TEXT), ("value_num", FLOAT), ("spread", TEXT), ("spread_num", FLOAT),
          ("lower_limit", TEXT), ("lower_limit_num", FLOAT), ("upper_limit", TEXT),
          ("upper_limit_num", FLOAT), ("comment", TEXT))
_MEASURE = (("param_type", TEXT), ("dispersion_type", TEXT), ("unit", TEXT))
_COUNT = (("units", TEXT), ("group_id", TEXT), ("count", TEXT), ("count_num", INT))
_FLOW = (("group_id", TEXT), ("subjects", TEXT), ("subjects_num", INT), ("units", TEXT),
         ("units_num", INT), ("comment", TEXT))
_OUTCOME = (("type", TEXT), ("title", TEXT), ("description", TEXT), ("time_frame", TEXT),
            ("population_description", TEXT), ("reporting_status", TEXT),
            ("anticipated_posting_date", TEXT), ("param_type", TEXT), ("dispersion_type", TEXT),
            ("unit", TEXT), ("units_analyzed", TEXT), ("calculate_pct", BOOL),
            ("denom_units_selected", TEXT))
_ANALYSIS = (("group_description", TEXT), ("tested_non_inferiority", BOOL), ("non_inferiority_type", TEXT),
             ("non_inferiority_comment", TEXT), ("p_value", TEXT), ("p_value_num", FLOAT),
             ("p_value_modifier", TEXT), ("p_value_comment", TEXT), ("statistical_method", TEXT),
             ("statistical_comment", TEXT), ("param_type", TEXT), ("param_value", TEXT),
             ("param_value_num", FLOAT), ("dispersion_type", TEXT), ("dispersion_value", TEXT),
             ("dispersion_value_num", FLOAT), ("ci_pct", TEXT), ("ci_pct_num", FLOAT), ("ci_sides", TEXT),
             ("ci_lower_limit", TEXT), ("ci_lower_limit_num", FLOAT), ("ci_upper_limit", TEXT),
             ("ci_upper_limit_num", FLOAT), ("ci_lower_limit_comment", TEXT),
             ("ci_upper_limit_comment", TEXT), ("estimate_comment", TEXT), ("other_analysis_description", TEXT))
_EVENT = (("term", TEXT), ("organ_system", TEXT), ("source_vocabulary", TEXT), ("assessment_type", TEXT),
          ("notes", TEXT))
_STAT = (("group_id", TEXT), ("events", INT), ("affected", INT), ("at_risk", INT))
_TOTALS = (("deaths_affected", INT), ("deaths_at_risk", INT), ("serious_affected", INT),
           ("serious_at_risk", INT), ("other_affected", INT), ("other_at_risk", INT))

# --- the lists they walk -------------------------------------------------------------

_OM = _step("o", "results.outcome_measures")
_BM = _step("b", "results.baseline.measures")
_CLASS = _step("c", "classes")
_CELL = (_CLASS, _step("k", "categories"), _step("m", "measurements"))
_DENOM = (_step("d", "denoms"), _step("q", "counts"))
_PERIOD = _step("p", "results.participant_flow.periods")
_STATS = _step("x", "stats")


def _groups(kind: str, *steps: Step) -> Branch:
    outcome: Source = Position("o") if kind == "outcome" else Const(None)
    return _branch(steps, {"kind": Const(kind), "outcome": outcome, **_keys("g", _GROUP, group_id="id")})


def _count_types(owner: str) -> tuple[tuple[str, str], ...]:
    return (("scope", TEXT), (owner, INT), ("class_title", TEXT), *_COUNT)


def _counts(owner: str, scope: str, *steps: Step) -> Branch:
    """Denominators (how many participants, eyes ... per group) of a module, a measure or a class."""
    at = steps[0].at if scope != "overall" else None
    return _branch(steps, {
        "scope": Const(scope), owner: Position(at) if at else Const(None),
        "class_title": Key("c", "title") if scope == "class" else Const(None),
        **_keys("d", _COUNT[:1]), **_keys("q", _COUNT[1:], group_id="group", count="value", count_num="value_num")})


def _cells(owner: str, first: Step) -> Branch:
    """One row per value of a measure: its class, category and group."""
    at = first.at
    return _branch((first, *_CELL), {
        owner: Position(at), f"{owner}_title": Key(at, "title"), "class_title": Key("c", "title"),
        "category_title": Key("k", "title"), **_keys("m", (("group_id", TEXT), *_VALUE), group_id="group"),
        **_keys(at, _MEASURE)})


def _cell_types(owner: str) -> tuple[tuple[str, str], ...]:
    return ((owner, INT), (f"{owner}_title", TEXT), ("class_title", TEXT), ("category_title", TEXT),
            ("group_id", TEXT), *_VALUE, *_MEASURE)


def _flow(name: str, what: str, key: str, counts: str) -> Table:
    """Participant-flow counts per group: milestones reached, or reasons for leaving."""
    types = (("period", TEXT), (what, TEXT), (f"{what}_comment", TEXT), *_FLOW)
    steps = (_PERIOD, _step("s", key), _step("x", counts))
    return _table(name, types, _branch(steps, {
        "period": Key("p", "title"), what: Key("s", "type"), f"{what}_comment": Key("s", "comment"),
        **_keys("x", _FLOW, group_id="group")}))


def _events(kind: str) -> Branch:
    return _branch((_step("e", f"results.adverse_events.{kind}"), _STATS), {
        "event_type": Const(kind), **_keys("e", _EVENT), **_keys("x", _STAT, group_id="group")})


TABLES: tuple[Table, ...] = (
    _table("result_groups", (("kind", TEXT), ("outcome", INT), *_GROUP),
           _groups("participant_flow", _step("g", "results.participant_flow.groups")),
           _groups("baseline", _step("g", "results.baseline.groups")),
           _groups("outcome", _OM, _step("g", "groups")),
           _groups("adverse_events", _step("g", "results.adverse_events.groups"))),
    _table("outcomes", (("outcome", INT), *_OUTCOME),
           _branch((_OM,), {"outcome": Position("o"), **_keys("o", _OUTCOME)})),
    _table("outcome_counts", _count_types("outcome"),
           _counts("outcome", "measure", _OM, *_DENOM), _counts("outcome", "class", _OM, _CLASS, *_DENOM)),
    _table("outcome_measurements", _cell_types("outcome"), _cells("outcome", _OM)),
    _table("outcome_analyses", (("outcome", INT), ("analysis", INT), ("groups", TEXT), *_ANALYSIS),
           _branch((_OM, _step("a", "analyses")), {"outcome": Position("o"), "analysis": Position("a"),
                                                   "groups": Joined("a", "groups"), **_keys("a", _ANALYSIS)})),
    _table("baseline_counts", _count_types("measure"),
           _counts("measure", "overall", _step("d", "results.baseline.denoms"), _DENOM[1]),
           _counts("measure", "measure", _BM, *_DENOM), _counts("measure", "class", _BM, _CLASS, *_DENOM)),
    _table("baseline_measurements", _cell_types("measure"), _cells("measure", _BM)),
    _flow("milestones", "milestone", "milestones", "achievements"),
    _flow("drop_withdrawals", "reason", "drop_withdraws", "reasons"),
    _table("reported_events", (("event_type", TEXT), *_EVENT, *_STAT), _events("serious"), _events("other")),
    _table("reported_event_totals", (("group_id", TEXT), *_TOTALS),
           _branch((_step("g", "results.adverse_events.groups"),), {"group_id": Key("g", "id"), **_keys("g", _TOTALS)})),
)
BY_NAME = {table.name: table for table in TABLES}
