"""Property: documents drifted from real corpus records never reject a record (except for
identification) and never lose a drifted value without a flag.

Hypothesis picks a real record (../shared/corpus, read in place), a place in its
protocol section and one drift: a value of another type, a null, a null list item, an
unknown enum value, a missing or extra key or module, a free-form date. The oracle
compares the parse with the original record's parse:

- extra keys change nothing;
- an unknown enum value is in the record, flagged ``kept``;
- a null list item is skipped, flagged ``skipped``;
- a free-form date is read at its precision, flagged ``coerced``;
- a value of another type in a place the parser reads is flagged, whatever was done;
- nothing raises but the documented refusal of a document that names no study.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trialmirror.errors import ParseError
from trialmirror.ingest.sources import ctgov
from trialmirror.models.record import check_trusted

pytestmark = pytest.mark.corpus

# Keys whose values are enumerations in API v2 (whoMasked is kept as it comes).
ENUM_KEYS = frozenset({"overallStatus", "lastKnownStatus", "type", "studyType", "phases", "allocation",
                       "interventionModel", "primaryPurpose", "observationalModel", "timePerspective",
                       "masking", "sex", "stdAges", "class", "status", "role", "relevance", "ipdSharing",
                       "infoTypes", "samplingMethod", "retention", "statusForNctId",
                       # results
                       "paramType", "dispersionType", "reportingStatus", "nonInferiorityType",
                       "ciNumSides", "assessmentType", "restrictionType"})
# Lists whose items' "type" is free text, not an enumeration (a milestone's "STARTED" or
# the sponsor's own words), and an analysis's paramType ("Mean Difference (Final Values)").
FREE_TEXT = {("milestones", "type"), ("dropWithdraws", "type"), ("analyses", "paramType")}
DATE_KEYS = frozenset({"date", "statusVerifiedDate"})
IDENTITY = ("protocolSection", "identificationModule", "nctId")
SECTIONS = ("protocolSection", "derivedSection", "documentSection", "annotationSection", "resultsSection")
EXAMPLES = 2_400
Path_ = tuple[Any, ...]


def _corpus_docs() -> list[tuple[str, dict[str, Any]]]:
    from tests.conftest import _shared

    try:
        folder = _shared("corpus", "ctgov_v2") / "ctgov_v2"
    except pytest.skip.Exception:
        return []
    files = [p for p in sorted(folder.glob("NCT*.json")) if p.stat().st_size < 40_000]
    # and the smallest records with results (most are larger): the results section drifts too
    with_results = sorted((p for p in folder.glob("NCT*.json") if b'"resultsSection"' in p.read_bytes()),
                          key=lambda p: p.stat().st_size)[:16]
    # (each three times: one drift in ten lands in a results section)
    return [(p.stem, json.loads(p.read_bytes())) for p in [*files[::4], *with_results * 3]]


DOCS = _corpus_docs()


def _places(node: Any, path: Path_ = ()) -> list[Path_]:
    """Every key and list position under ``node`` (the protocol section)."""
    out: list[Path_] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        out.append((*path, key))
        out.extend(_places(value, (*path, key)))
    return out


def _get(doc: Any, path: Path_) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _content(record: Any) -> dict[str, Any]:
    data = record.model_dump(mode="json")
    data.pop("unmapped")
    return data


def _flags(record: Any) -> Counter[tuple[str, str, str]]:
    return Counter((u["path"], u["value"], u["action"]) for u in record.unmapped or [])


def _parse(doc: dict[str, Any], rid: str) -> Any:
    return ctgov.parse(json.dumps(doc).encode(), rid)


_OTHER_TYPES = st.one_of(st.integers(-5, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                         st.booleans(), st.text(min_size=1, max_size=12).filter(str.strip),
                         st.just(["x", 2]), st.just({"k": "v"}))


class Drift:
    """One drifted document; shown by what was done where (the documents are large)."""

    def __init__(self, rid: str, original: dict[str, Any], doc: dict[str, Any], kind: str,
                 path: Path_, new: Any):
        self.rid, self.original, self.doc, self.kind, self.path, self.new = rid, original, doc, kind, path, new

    def __repr__(self) -> str:
        return f"Drift({self.rid}, {self.kind}, {'.'.join(map(str, self.path))}, {self.new!r})"


@st.composite
def drifts(draw: st.DrawFn) -> Drift:
    rid, original = DOCS[draw(st.integers(0, len(DOCS) - 1))]
    doc = copy.deepcopy(original)
    # Mostly the protocol, where most fields are; every section the record maps drifts too.
    section = draw(st.sampled_from(["protocolSection"] * 3 + [s for s in SECTIONS if s in doc]
                                   + ["resultsSection"] * 3 * ("resultsSection" in doc)))
    proto = doc[section]
    places = _places(proto)
    kind = draw(st.sampled_from(["type", "null", "null_item", "enum", "missing", "extra", "date"]))
    if kind == "enum":
        places = [p for p in places if isinstance(_get(proto, p), str)
                  and (p[-1] in ENUM_KEYS or isinstance(p[-1], int) and p[-2] in ENUM_KEYS)
                  and not (len(p) > 2 and (p[-3], p[-1]) in FREE_TEXT)]
    elif kind == "date":
        places = [p for p in places if p[-1] in DATE_KEYS and isinstance(_get(proto, p), str)
                  and len(_get(proto, p)) >= 7]
    elif kind == "null_item":
        places = [p for p in places if isinstance(p[-1], int)]
    if not places:
        kind, places = "extra", [()]
    place = places[draw(st.integers(0, len(places) - 1))]
    parent = _get(proto, place[:-1]) if place else proto
    old = _get(proto, place) if place else None
    new: Any = None
    if kind == "type":
        new = draw(_OTHER_TYPES)
        if type(new) is type(old) or type(old) is float and type(new) is int:
            # not a drift of type (a whole number where a float was is the same JSON number):
            # the same place, another type
            new = None if isinstance(old, bool) else True
        parent[place[-1]] = new
    elif kind in ("null", "null_item"):
        parent[place[-1]] = None
    elif kind == "enum":
        new = f"ZZ_NEW_{draw(st.integers(0, 99))}"
        parent[place[-1]] = new
    elif kind == "missing":
        if isinstance(parent, dict):
            del parent[place[-1]]
        else:
            parent.pop(place[-1])
    elif kind == "extra":
        target = old if isinstance(old, dict) else parent if isinstance(parent, dict) else proto
        target[draw(st.sampled_from(["zzExtra", "newModule", "locations_nested"]))] = draw(_OTHER_TYPES)
    elif kind == "date":
        year, month = old[:4], old[5:7]
        new = draw(st.sampled_from(["%B %Y", "%b %Y"])).replace("%Y", year).replace(
            "%B", _MONTHS[int(month) - 1]).replace("%b", _MONTHS[int(month) - 1][:3])
        parent[place[-1]] = new
    return Drift(rid, original, doc, kind, (section, *place), new)


_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]
_READS_CACHE: dict[tuple[str, Path_], bool] = {}


def _reads(rid: str, original: dict[str, Any], path: Path_) -> bool:
    """Whether the parser reads the value at ``path``: the record changes without it."""
    key = (rid, path)
    if key not in _READS_CACHE:
        doc = copy.deepcopy(original)
        parent = _get(doc, path[:-1])
        if isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
        try:
            _READS_CACHE[key] = _content(_parse(doc, rid)) != _content(_parse(original, rid))
        except ParseError:
            _READS_CACHE[key] = True
    return _READS_CACHE[key]


@pytest.mark.skipif(not DOCS, reason="needs ../shared/corpus (TRIALMIRROR_CORPUS_DIR)")
@settings(max_examples=EXAMPLES)
@given(drifts())
def test_a_drifted_document_is_read_and_every_drift_is_flagged(case):
    rid, original, doc, kind, path, new = case.rid, case.original, case.doc, case.kind, case.path, case.new
    before = _parse(original, rid)
    try:
        after = _parse(doc, rid)
    except ParseError as exc:
        # Only a document that names no study (or another) is refused.
        assert path[:len(IDENTITY)] == IDENTITY[:len(path)] or path == ("protocolSection",), (kind, path, exc)
        assert "nctId" in str(exc) or "protocolSection" in str(exc)
        return
    check_trusted(after)  # what the model trusts stays what it declares
    added = _flags(after) - _flags(before)
    if kind == "type" and new is None:
        return  # a null, not a type: "not said"
    if kind == "extra":
        assert _content(after) == _content(before) and not added, path
    elif kind == "enum" and _reads(rid, original, path):
        assert any(value == new and action == "kept" for _p, value, action in added), (path, added)
        assert new in json.dumps(_content(after))
    elif kind == "null_item":
        parent_read = _reads(rid, original, path[:-1])
        assert not parent_read or any(action == "skipped" for *_x, action in added), (path, added)
    elif kind == "date" and _reads(rid, original, path):
        assert any(value == new and action == "coerced" for _p, value, action in added), (path, added)
        assert _content(after) == _content(before) or path[-1] == "statusVerifiedDate" \
            or _get(original, path).count("-") == 2, path  # a day-precision date reads as its month
    elif kind == "type" and _reads(rid, original, path):
        assert added, (path, new)
