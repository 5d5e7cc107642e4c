"""The read-only HTTP API (``trialmirror serve``): FastAPI over the store.

Every answer is JSON (the Atom feed excepted); every error is an RFC 9457
problem document (``application/problem+json``: ``type``, ``title``,
``status``, ``detail``, ``instance``) with a message that says what to do. A
bad id or parameter is a 4xx, never a 500. The OpenAPI document is at
``/openapi.json``, the interactive one at ``/docs`` (and ``/redoc``), their scripts served
from here so that they work offline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import orjson
from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from trialmirror.errors import InvalidPlaceError, InvalidQueryError, StorageError, TrialmirrorError
from trialmirror.ingest.sources import LIVE, MIRRORS, SOURCES, ctgov
from trialmirror.models.bounds import (
    CONDITION_CHARS,
    FEED_LIMIT,
    MESH_CHARS,
    QUERY_CHARS,
    SEARCH_LIMIT,
    SEARCH_OFFSET,
    SEQ,
    VERSION,
    WITHIN_KM,
    Bound,
)
from trialmirror.read.records import (
    NotStored,
    as_of_row,
    changes_between,
    event_items,
    timeline,
    timeline_source,
    version_meta,
    version_row,
)
from trialmirror.read.reporting import reporting_json, today
from trialmirror.settings import Settings
from trialmirror.store import Store, open_for_reading
from trialmirror.store.events import EVENT_KINDS

PROBLEM = "application/problem+json"
_KIND_PATTERN = "^(" + "|".join(EVENT_KINDS) + ")$"
StudyId = Annotated[str, Path(description="A ClinicalTrials.gov id, NCT and 8 digits",
                              examples=["NCT01342250"], max_length=32)]
SourceName = Annotated[str | None, Query(description=f"One of {', '.join(SOURCES)}")]


class OrjsonResponse(JSONResponse):
    """JSON by orjson: records are large, and it is several times faster."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def whole(bound: Bound, **more: Any) -> Any:
    """An integer parameter within ``bound`` (models/bounds.py, the CLI's too): a number
    out of it is a 422 stating the range, before the store sees it."""
    return Query(ge=bound.low, le=bound.high, **more)


def _problem(status: int, title: str, detail: str, instance: str) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail,
                         "instance": instance}, status_code=status, media_type=PROBLEM)


def _id(registry_id: str) -> str:
    try:
        return ctgov.validate_id(registry_id)
    except TrialmirrorError as exc:
        raise HTTPException(400, f"{registry_id!r} is not a ClinicalTrials.gov id: NCT and 8 digits, "
                                 "such as NCT01342250") from exc


def _source(name: str | None, default: str = LIVE) -> str:
    name = name or default
    if name not in SOURCES:
        raise HTTPException(400, f"unknown source {name!r}; valid sources: {', '.join(sorted(SOURCES))}")
    return name


def _day(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise HTTPException(400, f"as_of {value!r} is not a date: use YYYY-MM-DD") from exc


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weakly compared, RFC 9110)."""
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The app over ``store`` (when not given, one is opened read-only from the settings;
    a database that does not exist is refused, never made empty)."""
    own = store is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = store or open_for_reading(settings.database_url, search_dir=settings.search_dir)
        yield
        if own:
            app.state.store.close()

    # /docs and /redoc load Swagger UI and ReDoc from this server (fastapi-offline ships the
    # files), not from a CDN: offline, or behind a firewall, FastAPI's pages stayed blank.
    app = FastAPIOffline(title="trialmirror", version="1", lifespan=lifespan,
                         default_response_class=OrjsonResponse, static_url="/docs-assets",
                         swagger_ui_parameters={"validatorUrl": None},  # no call to swagger.io either
                         description="Clinical-trial registry records: normalized, versioned, diffed. Read-only.")

    @app.exception_handler(StarletteHTTPException)
    async def http_problem(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {400: "Bad request", 404: "Not found", 405: "Method not allowed", 422: "Bad parameter"}
        return _problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail),
                        request.url.path)

    @app.exception_handler(RequestValidationError)
    async def validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "request"
        return _problem(422, "Bad parameter", f"{where}: {first['msg']}", request.url.path)

    @app.exception_handler(NotStored)
    async def not_stored(request: Request, exc: NotStored) -> JSONResponse:
        return _problem(404, "Not found", str(exc), request.url.path)

    @app.exception_handler(StorageError)
    async def storage_problem(request: Request, exc: StorageError) -> JSONResponse:
        # The database, not the request: damaged or unreadable (the message says what to do).
        return _problem(503, "Storage unavailable", str(exc), request.url.path)

    def the_store(request: Request) -> Store:
        return request.app.state.store  # type: ignore[no-any-return]

    @app.get("/healthz", summary="Liveness and database reachability")
    def healthz(request: Request) -> dict[str, Any]:
        counts = the_store(request).counts()
        return {"status": "ok", "versions": counts["version"], "events": counts["event"]}

    @app.get("/studies/{registry_id}", summary="A normalized record (latest, a version, or as of a date)",
             response_model=None, responses={
                 200: {"description": "The version and its record; `ETag` names the version"},
                 304: {"description": "Not modified: `If-None-Match` names the version that answers"}})
    def study(request: Request, registry_id: StudyId, source: SourceName = None,
              version: Annotated[int | None, whole(VERSION, description="A stored version number")] = None,
              as_of: Annotated[str | None, Query(description="YYYY-MM-DD: the version current that day "
                                                 "(both ClinicalTrials.gov sources unless source), and its "
                                                 "results-reporting status that day")] = None,
              ) -> Response:
        registry_id, day = _id(registry_id), _day(as_of)
        store = the_store(request)
        if day is not None:
            row = as_of_row(store, registry_id, day, _source(source) if source else None)
        else:
            row = version_row(store, registry_id, _source(source), version)
        # A version never changes: its source, number and content hash name the answer with the
        # day its reporting status is for, so a poller re-reading a record after each change
        # event gets 304 when nothing moved (and the reporting status once a day).
        on = dt.date.fromisoformat(day) if day is not None else today()
        etag = f'"{row.source}-{row.version}-{row.content_hash[:16]}-{on.isoformat()}"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if _matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        record = orjson.loads(row.record)
        return OrjsonResponse({"version": version_meta(row), "record": record,
                               "reporting": reporting_json(record, row.source, on)}, headers=headers)

    @app.get("/studies/{registry_id}/versions", summary="Every stored version, oldest first")
    def versions(request: Request, registry_id: StudyId, source: SourceName = None) -> dict[str, Any]:
        registry_id, name = _id(registry_id), _source(source)
        rows = the_store(request).versions(registry_id, name)
        if not rows:  # raises NotStored, naming a source that holds versions if one does
            version_row(the_store(request), registry_id, name, command="history")
        return {"registry_id": registry_id, "source": name, "items": [version_meta(r) for r in rows]}

    @app.get("/studies/{registry_id}/diff", summary="Semantic diff between two versions")
    def study_diff(request: Request, registry_id: StudyId, source: SourceName = None,
                   from_: Annotated[int | None, whole(VERSION, alias="from")] = None,
                   to: Annotated[int | None, whole(VERSION)] = None) -> dict[str, Any]:
        registry_id, name = _id(registry_id), _source(source)
        old, new, changes = changes_between(the_store(request), registry_id, name, from_, to)
        return {"registry_id": registry_id, "source": name, "from": old.version, "to": new.version,
                "changes": changes}

    @app.get("/studies/{registry_id}/timeline", summary="Status periods and their milestones")
    def study_timeline(request: Request, registry_id: StudyId, source: SourceName = None) -> dict[str, Any]:
        registry_id = _id(registry_id)
        store = the_store(request)
        name = timeline_source(store, registry_id, _source(source) if source else None)
        periods, _ = timeline(store, registry_id, name)
        return {"registry_id": registry_id, "source": name, "periods": [p.as_json() for p in periods]}

    @app.get("/studies/{registry_id}/reconciliation", summary="Mirrors against the registry")
    def reconciliation(request: Request, registry_id: StudyId) -> dict[str, Any]:
        from trialmirror.read.reconcile import NothingToCompare, reconcile

        try:
            return reconcile(the_store(request), _id(registry_id), list(MIRRORS))
        except NothingToCompare as exc:
            raise NotStored(str(exc)) from exc

    @app.get("/changes", summary="The change feed: every event after a cursor, in order")
    def changes(request: Request,
                after: Annotated[int, whole(SEQ, description="The last seq you processed")] = 0,
                kind: Annotated[str | None, Query(pattern=_KIND_PATTERN)] = None,
                source: SourceName = None,
                limit: Annotated[int, whole(FEED_LIMIT)] = 100) -> Response:
        items = event_items(the_store(request).events(
            after=after, kind=kind, limit=limit, sources=[_source(source)] if source else None))
        # Straight to orjson: FastAPI's encoding of a returned dict walked each of a page's
        # thousand events in Python first (a third of the feed's time).
        return OrjsonResponse({"items": items, "next": items[-1]["seq"] if items else after})

    @app.get("/search", summary="Full-text search over the newest version of every record")
    def search(request: Request,
               q: Annotated[str, Query(max_length=QUERY_CHARS, description="Words and \"phrases\"; "
                                       "every one must match")] = "",
               status: Annotated[str | None, Query(max_length=64, description="COMPLETED, "
                                                   "'Active, not recruiting', ...")] = None,
               phase: Annotated[str | None, Query(max_length=32, description="PHASE2, 2, 'Phase 2', ...")] = None,
               condition: Annotated[str | None, Query(max_length=CONDITION_CHARS)] = None,
               mesh: Annotated[str | None, Query(
                   max_length=MESH_CHARS, description="A MeSH term or descriptor id: records whose conditions "
                   "or interventions are indexed with it or a term below it ('Liver Diseases', D008103)")] = None,
               near: Annotated[str | None, Query(
                   max_length=64, description="LAT,LON in decimal degrees (with within): records with a site "
                   "within that distance", examples=["31.23,121.47"])] = None,
               within: Annotated[float | None, Query(
                   gt=WITHIN_KM.low, le=WITHIN_KM.high, description="Kilometres from near")] = None,
               limit: Annotated[int, whole(SEARCH_LIMIT)] = 20,
               offset: Annotated[int, whole(SEARCH_OFFSET)] = 0) -> dict[str, Any]:
        try:
            hits = the_store(request).search(q, status=status, phase=phase, condition=condition, mesh=mesh,
                                             near=near, within=within, limit=limit, offset=offset)
        except InvalidPlaceError as exc:  # a malformed parameter, as a number out of range is
            raise HTTPException(422, str(exc)) from exc
        except InvalidQueryError as exc:
            raise HTTPException(400, str(exc)) from exc
        by_place = near is not None
        return {"query": q, "items": [
            {"registry_id": h.registry_id, "title": h.title, "status": h.status, "phases": h.phases,
             "score": round(h.score, 4), "source": h.source, "version": h.version,
             **({"distance_km": None if h.distance_km is None else round(h.distance_km, 3)} if by_place else {})}
            for h in hits]}

    @app.get("/feeds/status.atom",
             summary="Atom feed of the notified events (status changes, results posted, annotations)",
             response_class=Response)
    def atom(request: Request) -> Response:
        from trialmirror.read.feeds import atom_feed

        feed = atom_feed(the_store(request), settings.notify_kind_set(), settings.notify_produced_by_set())
        return Response(feed, media_type="application/atom+xml")

    return app
