"""The real corpus as a regression net: ../shared/corpus (read in place, never copied).

- every API v2 record parses, and simple invariants hold against the source;
- the criteria contract: no word of the criteria text is lost, no item changes list;
- golden normalized JSON for varied records (tests/golden/ctgov/, rewrite with
  ``pytest --update-golden``);
- real version pairs (ctgov_v2_snapshots) diff to exactly the fields that changed.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from trialmirror.ingest.parsing.criteria import split_criteria
from trialmirror.ingest.sources import ctgov
from trialmirror.ingest.sources.ctgov.fieldmap import MAPPED
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


# The criteria contract, with its own deliberately plain reading of the text: the main
# headers (a line of their own, or starting a line before its colon, or glued after an item
# with capitals and a colon) and list markers carry no words of their own.
_MAIN_HEADER_START = re.compile(
    r"(?i)^(?:key |main )?(?:non-?)?(?:inclusion|exclusion) (?:criteria|citeria)(?: include)?\s*(?::|$)")
_MAIN_HEADER_INSIDE = re.compile(r"\b(?:Inclusion|Exclusion|INCLUSION|EXCLUSION) (?:Criteria|CRITERIA)\s*:")
_MARKER = re.compile(r"^\s*(?:[*\-•·▪●○◦+‣⁃]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)]|\(?[ivxIVX]{1,4}[.)])\s+")
_WORD = re.compile(r"\w+")
# A header at the start of a line, with whatever follows it on the line.
_KIND_HEADING = re.compile(r"(?im)(?:inclusion|exclusion)\s+criteria\s*:?\s*$")
_CLEAR_HEADER = re.compile(r"(?im)^(?:[*\-•][ \t]+)?(?:key |main )?(non-?)?(inclusion|exclusion) criteria\b")


def _words(text: str) -> Counter[str]:
    return Counter(w.lower() for w in _WORD.findall(text))


def _source_words(criteria_text: str) -> Counter[str]:
    words: Counter[str] = Counter()
    for line in criteria_text.split("\n"):
        line = _MARKER.sub("", _MARKER.sub("", line))  # "• 1. The patient ..." (NCT01640457)
        line = _MAIN_HEADER_INSIDE.sub(" ", _MAIN_HEADER_START.sub(" ", line.strip(" *_")))
        words += _words(line)
    return words


def _record_words(eligibility: Any) -> Counter[str]:
    if eligibility.criteria_groups is None:
        texts = [*(eligibility.inclusion or []), *(eligibility.exclusion or []), *(eligibility.unclassified or [])]
    else:
        texts = [t for g in eligibility.criteria_groups for t in (g["heading"], g["lead_in"], *g["items"]) if t]
    return sum((_words(t) for t in texts), Counter())


def _parsed(corpus_dir: Path) -> list[tuple[str, Any]]:
    return [(path.stem, ctgov.parse(path.read_bytes(), path.stem)) for path in _v2_files(corpus_dir)]


def test_no_word_of_the_criteria_is_lost(corpus_dir):
    """Every word of every corpus record's criteria is in its items, group headings or
    lead-ins, as often as the text has it (before ctgov parser 4, 42 of the 971 lost some)."""
    records = [(rid, r.eligibility) for rid, r in _parsed(corpus_dir) if r.eligibility and r.eligibility.criteria_text]
    assert len(records) > 900
    losses = {rid: dict(_source_words(e.criteria_text) - _record_words(e)) for rid, e in records}
    losses = {rid: lost for rid, lost in losses.items() if lost}
    assert not losses, f"{len(losses)} records lose words: {list(losses.items())[:10]}"


def _clearly_headed(criteria_text: str) -> tuple[str, str] | None:
    """The text before and after the exclusion header, when the text has one inclusion
    header and then one exclusion header, each starting a line, and no sub-heading that
    names a kind ("Random Inclusion Criteria:" after the exclusion list, NCT04594850)."""
    found = [(m.start(), "exclusion" if m[1] or m[2].lower() == "exclusion" else "inclusion")
             for m in _CLEAR_HEADER.finditer(criteria_text)]
    if [kind for _, kind in found] != ["inclusion", "exclusion"] or len(_KIND_HEADING.findall(criteria_text)) > 2:
        return None
    return criteria_text[:found[1][0]], criteria_text[found[1][0]:]


def test_no_item_changes_list_where_the_headers_are_clear(corpus_dir):
    """Under clear headers every inclusion item comes from the text before the exclusion
    header and every exclusion item from the text after it."""
    problems, checked = [], 0
    for rid, record in _parsed(corpus_dir):
        e = record.eligibility
        parts = _clearly_headed(e.criteria_text or "") if e else None
        if parts is None:
            continue
        checked += 1
        for kind, items, part in (("inclusion", e.inclusion, parts[0]), ("exclusion", e.exclusion, parts[1])):
            part = " ".join(part.split())  # an item joins the lines it continues on
            problems += [f"{rid}: {kind} {item[:60]!r}" for item in items or [] if item.split("\n")[0][:20] not in part]
    assert checked > 800
    assert not problems, f"{len(problems)} items in the wrong list:\n" + "\n".join(problems[:20])


@pytest.mark.parametrize("registry_id", ["NCT03840161", "NCT01866995", "NCT01150903"])
def test_a_bullet_naming_the_inclusion_criteria_stays_an_exclusion_item(corpus_dir, registry_id):
    record = ctgov.parse((corpus_dir / "ctgov_v2" / f"{registry_id}.json").read_bytes(), registry_id)
    before, after = record.eligibility.criteria_text.split("Exclusion Criteria:")
    assert record.eligibility.inclusion == [line[2:] for line in before.split("\n") if line.startswith("* ")]
    assert record.eligibility.exclusion == [line[2:] for line in after.split("\n") if line.startswith("* ")]


@pytest.mark.parametrize("inserted", ["* Does not meet inclusion criteria;",
                                      "Subjects who do not meet the inclusion criteria"])
def test_an_item_naming_the_inclusion_criteria_flips_nothing(corpus_dir, inserted):
    """Inserted as the first exclusion item of every clearly headed corpus record, such an
    item joins the exclusion list and moves no other item (before ctgov parser 4, the bullet
    flipped every exclusion item after it into the inclusion list)."""
    problems, checked = [], 0
    for _, record in _parsed(corpus_dir):
        text = record.eligibility.criteria_text if record.eligibility else None
        parts = _clearly_headed(text or "")
        if parts is None or "\n" not in parts[1] or not _MAIN_HEADER_START.fullmatch(parts[1].split("\n")[0]):
            continue  # no header alone on its line: the text after it is the first item
        checked += 1
        header, rest = parts[1].split("\n", 1)
        old, new = split_criteria(text or ""), split_criteria(f"{parts[0]}{header}\n{inserted}\n{rest}")
        exclusion_words = _words(" ".join(t for g in old.groups if g.kind == "exclusion"
                                          for t in (g.heading, g.lead_in, *g.items) if t))
        new_words = _words(" ".join(new.exclusion[1:] + [t for g in new.groups if g.kind == "exclusion"
                                                          for t in (g.heading, g.lead_in) if t]))
        if (new.inclusion, new.unclassified) != (old.inclusion, old.unclassified) or \
                new.exclusion[:1] != [inserted.removeprefix("* ")] or new_words != exclusion_words:
            problems.append(record.registry_id)
    assert checked > 800
    assert not problems, f"{len(problems)} of {checked} records change: {problems[:20]}"


@pytest.mark.parametrize(("registry_id", "kind", "heading", "first_item"), [
    ("NCT05921903", "inclusion", "Specific inclusion criteria for renal transplant (RTx) patients:",
     "Participant with stable renal function"),
    ("NCT05921903", "exclusion", "Prior/Concomitant therapy:", "Use of any other investigational"),
    ("NCT01130532", "inclusion", "Partner Inclusion Criteria:", "Are female and at least 18 years of age"),
    ("NCT05868668", "exclusion", "CP/CPPS cohort exclusion criteria:", "History of spinal cord injury"),
    ("NCT03433391", "exclusion", "Intra-operative Exclusion Criteria:", "Severe facet disease"),
    ("NCT04642755", "inclusion", "Study Phase:", None),
])
def test_records_with_sub_headings_keep_them(corpus_dir, registry_id, kind, heading, first_item):
    record = ctgov.parse((corpus_dir / "ctgov_v2" / f"{registry_id}.json").read_bytes(), registry_id)
    group = next(g for g in record.eligibility.criteria_groups or [] if g["heading"] == heading)
    assert group["kind"] == kind
    assert first_item is None or group["items"][0].startswith(first_item)
    assert set(group["items"]) <= set(getattr(record.eligibility, kind))


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


# Source paths whose change is no change of content (provenance).
_PROVENANCE = {"protocolSection.statusModule.lastUpdatePostDateStruct.date",
               "protocolSection.statusModule.lastUpdatePostDateStruct.type",
               "derivedSection.miscInfoModule.versionHolder"}
_SELECTOR = re.compile(r"\[[^\]]*\]")


def _record_path(api_path: str) -> str:
    """The record path a source path feeds (fieldmap.MAPPED); for a list or object that
    changed as a whole, the record path all its fields share."""
    if api_path in MAPPED:
        return MAPPED[api_path]
    below = [rec for api, rec in MAPPED.items() if api.startswith(api_path + ".")]
    assert below, f"map this source path first: {api_path}"
    common = below[0].split(".")
    for rec in below[1:]:
        parts = rec.split(".")
        while common and parts[:len(common)] != common:
            common.pop()
    return ".".join(common)


def _leaf_changes(a: Any, b: Any, path: str = "") -> set[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: set[str] = set()
        for key in a.keys() | b.keys():
            out |= _leaf_changes(a.get(key), b.get(key), f"{path}.{key}" if path else key)
        return out
    if isinstance(a, list) and isinstance(b, list):  # a reorder is no change (the contract)
        a, b = sorted(json.dumps(x, sort_keys=True) for x in a), sorted(json.dumps(x, sort_keys=True) for x in b)
    return set() if a == b else {path}


def test_real_version_pairs_diff_to_exactly_what_changed(corpus_dir):
    """Each change of the record's diff is explained by a change of the source, and each
    change of the source (but provenance) shows in the diff, through fieldmap.MAPPED."""
    pairs = sorted(p for p in (corpus_dir / "ctgov_v2_snapshots").iterdir() if p.is_dir())
    assert pairs
    for folder in pairs:
        older, newer = sorted(folder.glob("*.json"))[:2]
        raw_a, raw_b = older.read_bytes(), newer.read_bytes()
        doc_a, doc_b = json.loads(raw_a), json.loads(raw_b)
        doc_a.pop("resultsSection", None), doc_b.pop("resultsSection", None)  # issue 16
        expected = {_record_path(p) for p in _leaf_changes(doc_a, doc_b) - _PROVENANCE}
        a, b = (ctgov.parse(raw, folder.name) for raw in (raw_a, raw_b))
        changed = {_SELECTOR.sub("", c["path"]) for c in diff(content_of(a), content_of(b))}
        unexplained = {c for c in changed if not any(c.startswith(e) or e.startswith(c) for e in expected)}
        unseen = {e for e in expected if not any(c.startswith(e) or e.startswith(c) for c in changed)}
        assert not unexplained and not unseen, (folder.name, unexplained, unseen)
