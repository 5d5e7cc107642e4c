"""The whole record: every API v2 study field is mapped or left out with a reason
(ingest/sources/ctgov/fieldmap.py), and the corpus's values reach the record.

- the spec walk: every leaf of the OpenAPI specs and of the metadata field list in
  ``../shared/corpus/ctgov_v2_spec`` is in the map, mapped or left out;
- the map is honest: each mapped record path exists in the record model;
- value coverage: every leaf value of the protocol, derived, document, annotation and
  results sections of the corpus documents (and ``hasResults``) appears at its record path,
  compared normalized (case, spacing, markup and punctuation aside); the figure is
  printed and must stay at 99% or more.
"""

from __future__ import annotations

import json
import re
import typing
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import typing_extensions
import yaml

from trialmirror.ingest.sources import ctgov
from trialmirror.ingest.sources.ctgov.fieldmap import MAPPED, SPEC_GROUPS, left_out
from trialmirror.models import vocab
from trialmirror.models.record import Record

SECTIONS = ("protocolSection", "derivedSection", "documentSection", "annotationSection", "hasResults",
            "resultsSection")
MIN_COVERAGE = 0.99


def _spec_dir(corpus_dir: Path) -> Path:
    return corpus_dir / "ctgov_v2_spec"


def _openapi_leaves(path: Path) -> set[str]:
    schemas = yaml.safe_load(path.read_text(encoding="utf-8"))["components"]["schemas"]
    out: set[str] = set()

    def walk(schema: dict[str, Any], at: str, seen: frozenset[str]) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:  # a recursive schema ends at its first repeat
                walk(schemas[name], at, seen | {name})
        elif schema.get("type") == "array":
            walk(schema["items"], at, seen)
        elif "properties" in schema:
            for key, sub in schema["properties"].items():
                walk(sub, f"{at}.{key}" if at else key, seen)
        else:
            out.add(at)

    walk(schemas["Study"], "", frozenset())
    return out


def _metadata_leaves(path: Path) -> set[str]:
    out: set[str] = set()

    def walk(node: dict[str, Any], at: str) -> None:
        here = f"{at}.{node['name']}" if at else node["name"]
        for child in node.get("children") or []:
            walk(child, here)
        if not node.get("children"):
            out.add(here)

    for section in json.loads(path.read_text(encoding="utf-8")):
        walk(section, "")
    return out


def _spec_leaves(corpus_dir: Path) -> dict[str, set[str]]:
    spec = _spec_dir(corpus_dir)
    files = sorted(spec.glob("*.yaml")) + sorted(spec.glob("*metadata*.json"))
    assert files, f"no spec under {spec}"
    return {f.name: _openapi_leaves(f) if f.suffix == ".yaml" else _metadata_leaves(f) for f in files}


def test_every_spec_field_is_mapped_or_left_out_with_a_reason(corpus_dir):
    unaccounted: dict[str, list[str]] = {}
    total = set()
    for name, leaves in _spec_leaves(corpus_dir).items():
        total |= leaves
        for path in sorted(leaves):
            grouped = SPEC_GROUPS.get(path, (path,))
            if not all(p in MAPPED or left_out(p) for p in grouped):
                unaccounted.setdefault(path, []).append(name)
    assert len(total) > 340  # the specs were read (v2.0.5 lists 203 fields besides 141 of results)
    assert not unaccounted, "API fields neither mapped nor left out (add them to fieldmap.py):\n" + \
        "\n".join(f"{p}  ({', '.join(files)})" for p, files in sorted(unaccounted.items()))


def _model_paths(model: Any, at: str = "") -> set[str]:
    """Every record path the contract has, through models, TypedDicts and lists."""
    out: set[str] = set()

    def walk(tp: Any, here: str) -> None:
        out.add(here)
        origin = typing.get_origin(tp)
        if origin in (list, typing.Union) or str(origin) == "<class 'types.UnionType'>":
            for arg in typing.get_args(tp):
                walk(arg, here)
            return
        hints = getattr(tp, "model_fields", None)
        if hints is not None:
            for key, field in hints.items():
                walk(field.annotation, f"{here}.{key}" if here else key)
        elif typing_extensions.is_typeddict(tp):
            for key, sub in typing_extensions.get_type_hints(tp).items():
                walk(sub, f"{here}.{key}" if here else key)

    walk(model, at)
    return out


def test_every_mapped_record_path_is_a_field_of_the_record():
    paths = _model_paths(Record)
    wrong = sorted(f"{api} -> {rec}" for api, rec in MAPPED.items() if rec not in paths)
    assert not wrong, "mapped to no record field:\n" + "\n".join(wrong)


# --- value coverage ---------------------------------------------------------------------

_PUNCT = re.compile(r"[\W_]+")
_TYPED = re.compile(r"^[^:]+:\s*(.+)$", re.S)
_SYNONYMS = {"estimated": "anticipated"}  # the contract's word for a registry's (README)
_ONE_UNIT = re.compile(r"^(\d+(?:year|month|week|day|hour|minute))s$")  # "1 Day" is 1 DAYS


def _norm(value: Any) -> str:
    if value.__class__ is bool:
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    if isinstance(value, dict):  # an age or duration: {value, unit, years}
        return _norm(f"{_norm(value.get('value'))} {value.get('unit') or ''}")
    text = _PUNCT.sub("", str(value).lower())
    text = _ONE_UNIT.sub(r"\1", text)
    return _SYNONYMS.get(text, text)


def _leaves(node: Any, at: str) -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [leaf for key, sub in node.items() for leaf in _leaves(sub, f"{at}.{key}" if at else key)]
    if isinstance(node, list):
        return [leaf for sub in node for leaf in _leaves(sub, at)]
    return [] if node is None or node == "" else [(at, node)]


def _record_values(record: dict[str, Any], path: str) -> list[Any]:
    nodes: list[Any] = [record]
    for key in path.split("."):
        nxt: list[Any] = []
        for node in nodes:
            items = node if isinstance(node, list) else [node]
            nxt.extend(item.get(key) for item in items if isinstance(item, dict))
        nodes = [n for n in nxt if n is not None]
    flat: list[Any] = []
    for node in nodes:
        flat.extend(node if isinstance(node, list) else [node])
    return flat


def _covered(api_path: str, value: Any, found: set[str]) -> bool:
    if api_path.startswith("protocolSection.designModule.expandedAccessTypes."):
        name = api_path.rsplit(".", 1)[1].upper()  # a true flag lists its name
        return (name.lower() in found) == bool(value)
    key = _norm(value)
    if key in found:
        return True
    if api_path.endswith(".dispersionType") and isinstance(value, str):
        # an outcome measure's dispersion is display text the vocabulary maps to its enum
        # ("95% Confidence Interval" is CONFIDENCE_95)
        return _norm(vocab.DISPERSION_TYPE.map(value).value) in found
    typed = _TYPED.match(str(value)) if api_path.endswith("interventionNames") else None
    return bool(typed and _norm(typed[1]) in found)  # an arm's "Type: Name" keeps the name


def coverage(files: list[Path]) -> tuple[Counter[str], Counter[str], Counter[str], list[str]]:
    """(values per API path, values covered per path, left-out values per reason, examples
    of values missed)."""
    seen: Counter[str] = Counter()
    hit: Counter[str] = Counter()
    excluded: Counter[str] = Counter()
    missed: list[str] = []
    for path in files:
        doc = json.loads(path.read_bytes())
        record = ctgov.parse(path.read_bytes(), path.stem).model_dump(mode="json")
        found_at: dict[str, set[str]] = {}
        for section in SECTIONS:
            for api_path, value in _leaves(doc.get(section), section):
                reason = left_out(api_path)
                if reason is not None:
                    excluded[api_path.split(".")[0] + ": " + reason[:40]] += 1
                    continue
                seen[api_path] += 1
                target = MAPPED.get(api_path)
                if target is None:
                    if len(missed) < 200:
                        missed.append(f"{path.stem} {api_path} (unmapped key) = {str(value)[:60]!r}")
                    continue
                if target not in found_at:
                    found_at[target] = {_norm(v) for v in _record_values(record, target)}
                if _covered(api_path, value, found_at[target]):
                    hit[api_path] += 1
                elif len(missed) < 200:
                    missed.append(f"{path.stem} {api_path} -> {target} = {str(value)[:60]!r}")
    return seen, hit, excluded, missed


def test_value_coverage_over_the_corpus(corpus_dir, capsys):
    files = sorted((corpus_dir / "ctgov_v2").glob("NCT*.json"))
    assert files
    seen, hit, excluded, missed = coverage(files)
    by_section: dict[str, list[int]] = {}
    for api_path, n in seen.items():
        totals = by_section.setdefault(api_path.split(".")[0], [0, 0])
        totals[0] += n
        totals[1] += hit[api_path]
    all_seen, all_hit = sum(seen.values()), sum(hit.values())
    share = all_hit / all_seen
    lines = [f"value coverage over {len(files)} corpus documents: {all_hit:,} of {all_seen:,} "
             f"leaf values ({share:.2%})"]
    lines += [f"  {section}: {h:,} of {n:,} ({h / n:.2%})" for section, (n, h) in sorted(by_section.items())]
    lines += [f"  left out: {n:,} values, {reason}..." for reason, n in sorted(excluded.items())]
    worst = sorted(((seen[p] - hit[p], p) for p in seen if seen[p] > hit[p]), reverse=True)[:8]
    lines += [f"  missed at {p}: {n}" for n, p in worst]
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert share >= MIN_COVERAGE, "\n".join(lines + missed[:40])
    for section, (n, h) in by_section.items():
        assert h / n >= MIN_COVERAGE, f"{section} below {MIN_COVERAGE:.0%}:\n" + "\n".join(missed[:40])


@pytest.mark.parametrize("path", ["protocolSection.contactsLocationsModule.locations_nested.facility",
                                  "derivedSection.miscInfoModule.modelPredictions.bmiLimits.minBmi",
                                  "derivedSection.miscInfoModule.modelPredictions"])
def test_left_out_parts_say_why(path):
    reason = left_out(path)
    assert reason and len(reason) > 20
