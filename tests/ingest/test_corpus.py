"""The real corpus as a regression net: ../shared/corpus (read in place, never copied).

- every API v2 record parses, and simple invariants hold against the source;
- golden normalized JSON for varied records (tests/golden/ctgov/, rewrite with
  ``pytest --update-golden``);
- real version pairs (ctgov_v2_snapshots) diff to exactly the fields that changed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from trialmirror.ingest.sources import ctgov
from trialmirror.store.canonical import content_of
from trialmirror.store.diff import diff

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "ctgov"
GOLDEN_IDS = [  # chosen for variety: every status, both study types, aliases, no headers,
    # nested bullets, escapes, numbered lists, results, many sites, 2023-only keys
    "NCT00000410", "NCT00007696", "NCT00042536", "NCT00084552", "NCT00869739", "NCT02782117",
    "NCT00470873", "NCT00895011", "NCT00090376", "NCT00415220", "NCT00162175", "NCT02513394",
    "NCT03119584", "NCT04040387", "NCT03367039", "NCT00499317", "NCT00569413", "NCT00215631",
    "NCT00173134", "NCT00382161", "NCT00134329", "NCT00080808", "NCT03076658",
]
# An independent, deliberately plain test for "this text has an inclusion header".
_INCLUSION_HEADER = re.compile(r"(?im)^[\W_]*(?:key |main )?inclusion criteria[\s:*_]*$")


def _v2_files(corpus_dir: Path) -> list[Path]:
    return sorted((corpus_dir / "ctgov_v2").glob("NCT*.json"))


def test_every_corpus_record_parses_and_keeps_invariants(corpus_dir):
    files = _v2_files(corpus_dir)
    assert files, f"no records under {corpus_dir / 'ctgov_v2'}"
    problems: list[str] = []
    for path in files:
        raw = path.read_bytes()
        source = json.loads(raw)["protocolSection"]
        try:
            record = ctgov.parse(raw, path.stem)
        except Exception as exc:  # noqa: BLE001 - collect, report all at once
            problems.append(f"{path.stem}: {exc}")
            continue
        problems.extend(f"{path.stem}: {p}" for p in _invariant_problems(record, source))
    assert not problems, f"{len(problems)} of {len(files)} records:\n" + "\n".join(problems[:30])


def _invariant_problems(record: Any, source: dict[str, Any]) -> list[str]:
    problems = []
    arm_groups = source.get("armsInterventionsModule", {}).get("armGroups", [])
    if len(record.arms or []) != len(arm_groups):
        problems.append(f"{len(record.arms or [])} arms, source has {len(arm_groups)}")
    if record.status.overall != source["statusModule"]["overallStatus"]:
        problems.append(f"status {record.status.overall}")
    if (record.phases or None) != (source.get("designModule", {}).get("phases") or None):
        problems.append(f"phases {record.phases}")
    text = source.get("eligibilityModule", {}).get("eligibilityCriteria") or ""
    if _INCLUSION_HEADER.search(text) and not record.eligibility.inclusion:
        problems.append("inclusion header but no inclusion items")
    if record.unmapped:
        problems.append(f"unmapped values {record.unmapped}")
    return problems


@pytest.mark.parametrize("registry_id", GOLDEN_IDS)
def test_golden_normalized_json(corpus_dir, registry_id, request):
    raw = (corpus_dir / "ctgov_v2" / f"{registry_id}.json").read_bytes()
    actual = ctgov.parse(raw, registry_id).model_dump(mode="json")
    golden = GOLDEN / f"{registry_id}.json"
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}; run pytest --update-golden"
    assert actual == json.loads(golden.read_text(encoding="utf-8"))


def test_golden_files_all_have_a_test():
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == sorted(GOLDEN_IDS)


# Source paths (API v2, under protocolSection) -> the record path they feed. A pair
# whose source changes are not listed here fails, so a new kind of change is looked at.
_SOURCE_TO_RECORD = {
    "statusModule.studyFirstPostDateStruct.type": "status.first_posted.kind",
    "statusModule.lastUpdatePostDateStruct.type": None,  # provenance: not part of the content
    "statusModule.lastUpdatePostDateStruct.date": None,
    "statusModule.primaryCompletionDateStruct.type": "status.primary_completion.kind",
    "statusModule.completionDateStruct.type": "status.completion.kind",
    "statusModule.overallStatus": "status.overall",
}


def _leaf_changes(a: Any, b: Any, path: str = "") -> set[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: set[str] = set()
        for key in a.keys() | b.keys():
            out |= _leaf_changes(a.get(key), b.get(key), f"{path}.{key}" if path else key)
        return out
    return set() if a == b else {path}


def test_real_version_pairs_diff_to_exactly_what_changed(corpus_dir):
    pairs = sorted(p for p in (corpus_dir / "ctgov_v2_snapshots").iterdir() if p.is_dir())
    assert pairs
    for folder in pairs:
        older, newer = sorted(folder.glob("*.json"))[:2]
        raw_a, raw_b = older.read_bytes(), newer.read_bytes()
        source_changes = _leaf_changes(json.loads(raw_a)["protocolSection"],
                                       json.loads(raw_b)["protocolSection"])
        unknown = source_changes - _SOURCE_TO_RECORD.keys()
        assert not unknown, f"{folder.name}: map these source paths first: {unknown}"
        expected = {_SOURCE_TO_RECORD[p] for p in source_changes} - {None}
        a, b = (ctgov.parse(raw, folder.name) for raw in (raw_a, raw_b))
        changes = diff(content_of(a), content_of(b))
        assert {c["path"] for c in changes} == expected, folder.name
