"""The search index's MeSH terms and site places: their side tables, the checking of a
place, and the SQL that filters by them (store/search.py asks; store/geo.py measures).

- ``search_mesh``: one row per MeSH term and ancestor of a record's conditions and
  interventions (its id in one form, :func:`mesh_id_key`; its term also case-folded:
  ``term_key``);
  ``search_site``: one row per distinct point its sites are geocoded to. Both are
  rewritten with the record's search row, in the same transaction (:func:`index`),
  and only when the search row is (a backfilled older state leaves them).
- MeSH: a record matches when the term, case-folded, is one of its terms or
  ancestors, or the term upper-cased is one of their ids; whole terms only.
- Place, in two steps: a bounding box (:func:`trialmirror.store.geo.box`) on the
  index of ``search_site`` (both ranges of longitude where the circle crosses the
  antimeridian, every longitude where it reaches a pole), then the exact great-circle
  distance (haversine) of each site in the box, in SQL: PostgreSQL's own functions,
  on SQLite :func:`trialmirror.store.geo.distance_km` as the store registers it on
  each connection. A record is within when its nearest site is; a site without
  coordinates is never within any distance.
"""

from __future__ import annotations

import math
import re
from typing import Any

from trialmirror.errors import InvalidPlaceError
from trialmirror.models.bounds import LATITUDE, LONGITUDE, WITHIN_KM, Span
from trialmirror.store import geo

_MESH_PARTS = (("condition", "conditions"), ("intervention", "interventions"))
_MESH_LEVELS = (("term", "terms"), ("ancestor", "ancestors"))


# The registry writes a descriptor's id two ways: D008107 and, in newer records,
# D000008107 (nine digits). One key for both: the letter and the number, six digits.
_MESH_ID = re.compile(r"([A-Z])0*([0-9]{1,12})")


def mesh_id_key(mesh_id: str) -> str:
    """``"D000008107"`` and ``"d008107"`` -> ``"D008107"``; an id of another shape, upper-cased."""
    upper = mesh_id.strip().upper()
    match = _MESH_ID.fullmatch(upper)
    return f"{match[1]}{int(match[2]):06d}" if match else upper


def mesh_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``search_mesh`` rows of a record: each MeSH term and ancestor of its
    conditions and interventions (the id upper-case, the term also case-folded)."""
    mesh = record.get("mesh") or {}
    rows: list[dict[str, Any]] = []
    for kind, part in _MESH_PARTS:
        indexing = mesh.get(part) or {}
        for level, name in _MESH_LEVELS:
            for item in indexing.get(name) or []:
                term, mesh_id = item.get("term"), item.get("id")
                if term or mesh_id:
                    rows.append({"registry_id": record["registry_id"], "kind": kind, "level": level,
                                 "mesh_id": mesh_id_key(mesh_id) if mesh_id else None, "term": term,
                                 "term_key": term.casefold() if term else None})
    return rows


def _degrees(value: Any, span: Span) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) \
        and value in span


def site_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``search_site`` rows of a record: each distinct point its sites are geocoded
    to (sites of one city share one), skipping a site without both coordinates."""
    points: dict[tuple[float, float], None] = {}
    for site in record.get("sites") or []:
        lat, lon = site.get("latitude"), site.get("longitude")
        if _degrees(lat, LATITUDE) and _degrees(lon, LONGITUDE):
            points[(float(lat), float(lon))] = None
    return [{"registry_id": record["registry_id"], "latitude": lat, "longitude": lon} for lat, lon in points]


_MESH_COLUMNS = ("registry_id", "kind", "level", "mesh_id", "term", "term_key")
_SITE_COLUMNS = ("registry_id", "latitude", "longitude")


def _side_sql(postgres: bool) -> dict[str, str]:
    mark = (lambda c: f"%({c})s") if postgres else (lambda c: f":{c}")  # noqa: E731
    return {
        "forget_mesh": f"DELETE FROM search_mesh WHERE registry_id = {mark('registry_id')}",
        "forget_sites": f"DELETE FROM search_site WHERE registry_id = {mark('registry_id')}",
        "mesh": f"INSERT INTO search_mesh ({', '.join(_MESH_COLUMNS)}) "
                f"VALUES ({', '.join(mark(c) for c in _MESH_COLUMNS)})",
        "sites": f"INSERT INTO search_site ({', '.join(_SITE_COLUMNS)}) "
                 f"VALUES ({', '.join(mark(c) for c in _SITE_COLUMNS)})",
    }


_SIDE_SQL = {True: _side_sql(True), False: _side_sql(False)}


def index(cursor: Any, postgres: bool, record: dict[str, Any], *, first: bool = False) -> None:
    """The record's MeSH and site rows, in place of those of the state indexed before
    (on the DBAPI cursor of the search row's write; ``first``: there was none)."""
    sql, key = _SIDE_SQL[postgres], {"registry_id": record["registry_id"]}
    if not first:
        cursor.execute(sql["forget_mesh"], key)
        cursor.execute(sql["forget_sites"], key)
    if mesh := mesh_rows(record):
        cursor.executemany(sql["mesh"], mesh)
    if sites := site_rows(record):
        cursor.executemany(sql["sites"], sites)


_NUMBER = r"\s*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*"
_POINT = re.compile(_NUMBER + "," + _NUMBER)
_KM = re.compile(_NUMBER)
_NEAR_HELP = (f"give LAT,LON in decimal degrees, latitude first, e.g. 31.23,121.47 (latitude "
              f"{LATITUDE}, longitude {LONGITUDE})")
_WITHIN_HELP = f"give kilometres, a number {WITHIN_KM}, e.g. 50"


def place(near: str | tuple[float, float] | None,
          within: str | float | None) -> tuple[tuple[float, float] | None, float | None]:
    """``near`` (LAT,LON) and ``within`` (KM) as typed -> ((latitude, longitude), km), or
    (None, None) when neither is given; InvalidPlaceError says what is wrong."""
    if isinstance(near, str) and not near.strip():  # given, but nothing in it: not "anywhere"
        raise InvalidPlaceError(f"near is empty: {_NEAR_HELP}")
    if isinstance(within, str) and not within.strip():
        raise InvalidPlaceError(f"within is empty: {_WITHIN_HELP}")
    near = near.strip() if isinstance(near, str) else near
    within = within.strip() if isinstance(within, str) else within
    if not near and (within is None or within == ""):
        return None, None
    if not near:
        raise InvalidPlaceError(f"within {within!r} needs near: give the point to measure from too, "
                                "near LAT,LON (e.g. 31.23,121.47)")
    point = _point(near)
    if within is None or within == "":
        raise InvalidPlaceError(f"near {near!r} needs within: give the distance from it too, "
                                "within KM (kilometres, e.g. 50)")
    return point, _km(within)


def _point(near: str | tuple[float, float]) -> tuple[float, float]:
    if isinstance(near, str):
        found = _POINT.fullmatch(near)
        if found is None:
            raise InvalidPlaceError(f"near {near!r} is not a place: {_NEAR_HELP}")
        lat, lon = float(found[1]), float(found[2])
    else:
        lat, lon = near
    for name, value, span in (("latitude", lat, LATITUDE), ("longitude", lon, LONGITUDE)):
        if not _degrees(value, span):
            raise InvalidPlaceError(f"near {near!r}: the {name} {value:g} is not {span}; {_NEAR_HELP}")
    return float(lat), float(lon)


def _km(within: str | float) -> float:
    if isinstance(within, str):
        found = _KM.fullmatch(within)
        if found is None:
            raise InvalidPlaceError(f"within {within!r} is not a distance: {_WITHIN_HELP}")
        within = float(found[1])
    if not (isinstance(within, int | float) and math.isfinite(within) and within in WITHIN_KM):
        raise InvalidPlaceError(f"within {within!r} is out of range: {_WITHIN_HELP}")
    return float(within)


MESH_FILTER = ("d.registry_id IN (SELECT m.registry_id FROM search_mesh m "
               "WHERE m.term_key = :mesh_key OR m.mesh_id = :mesh_id)")


def mesh_params(term: str) -> dict[str, str]:
    """The parameters of :data:`MESH_FILTER` for a checked term."""
    return {"mesh_key": term.casefold(), "mesh_id": mesh_id_key(term)}


# The great-circle distance of a site from the point (store/geo.py): on SQLite the
# function the store registers on each connection, on PostgreSQL the same haversine.
_SQLITE_KM = f"{geo.SQLITE_FUNCTION}(:lat, :lon, s.latitude, s.longitude)"
_PG_KM = ("2 * :earth_km * asin(least(1.0, sqrt(power(sin(radians(s.latitude - :lat) / 2), 2) "
          "+ cos(radians(:lat)) * cos(radians(s.latitude)) * power(sin(radians(s.longitude - :lon) / 2), 2))))")


def place_join(near: tuple[float, float] | None, within: float | None, params: dict[str, Any],
               postgres: bool) -> str:
    """The join (on ``search_doc d``) that keeps the records with a site within reach,
    ``g.km`` the nearest site's distance; "" without a place. Adds its parameters."""
    if near is None or within is None:
        return ""
    (lat, lon) = near
    bounds = geo.box(lat, lon, within)
    where = ["s.latitude BETWEEN :lat_low AND :lat_high"]
    params.update(lat=lat, lon=lon, within=within, earth_km=geo.EARTH_KM, lat_low=bounds.lat_low,
                  lat_high=bounds.lat_high)
    if bounds.lon_ranges is not None:
        ranges = []
        for n, (west, east) in enumerate(bounds.lon_ranges):
            ranges.append(f"s.longitude BETWEEN :lon_low{n} AND :lon_high{n}")
            params.update({f"lon_low{n}": west, f"lon_high{n}": east})
        where.append("(" + " OR ".join(ranges) + ")")
    km = _PG_KM if postgres else _SQLITE_KM
    return (f" JOIN (SELECT s.registry_id, min({km}) AS km FROM search_site s WHERE {' AND '.join(where)} "
            f"GROUP BY s.registry_id HAVING min({km}) <= :within) g ON g.registry_id = d.registry_id")
