"""Content hash and semantic diff: properties over generated records, and examples."""

import copy
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import records
from trialmirror.store.canonical import canonicalize, content_hash, content_of
from trialmirror.store.diff import apply, diff, parse_path


def _shuffled(value: Any, rnd: random.Random) -> Any:
    """The same content with every list reordered and every dict's keys reordered."""
    if isinstance(value, dict):
        keys = list(value)
        rnd.shuffle(keys)
        return {k: _shuffled(value[k], rnd) for k in keys}
    if isinstance(value, list):
        items = [_shuffled(v, rnd) for v in value]
        rnd.shuffle(items)
        return items
    return value


@given(records(), st.randoms(use_true_random=False))
def test_hash_ignores_key_order_and_list_order(record, rnd):
    assert content_hash(_shuffled(record, rnd)) == content_hash(record)


@given(records(), records())
def test_hash_differs_exactly_when_content_differs(a, b):
    same_content = canonicalize(content_of(a)) == canonicalize(content_of(b))
    assert (content_hash(a) == content_hash(b)) == same_content


@given(records())
def test_hash_ignores_provenance(record):
    moved = dict(record, source="ctgov_history", source_url="http://127.0.0.1/other",
                 source_version_date="1999-01-01")
    assert content_hash(moved) == content_hash(record)


@given(records(), st.randoms(use_true_random=False))
def test_diff_of_a_record_with_itself_or_a_reordering_is_empty(record, rnd):
    assert diff(content_of(record), content_of(record)) == []
    assert diff(content_of(record), content_of(_shuffled(record, rnd))) == []


@settings(max_examples=300)
@given(records(), records())
def test_applying_the_diff_to_a_gives_b(a, b):
    changes = diff(content_of(a), content_of(b))
    # content_of again: an added field b leaves null is absent from its content, and set
    # to null by the change that removes it (the same content, and the same hash).
    assert canonicalize(content_of(apply(content_of(a), changes))) == canonicalize(content_of(b))
    for change in changes:  # every path the diff writes, apply can read back
        assert parse_path(change["path"])


def _mutated(value: Any, rnd: random.Random) -> Any:
    """``value`` with a few leaves changed and list items dropped, copied and reordered: a
    second version that shares most items with the first, so that the diff matches them by
    key, meets keys that repeat, and keys that change (the results' nested lists)."""
    if isinstance(value, dict):
        return {k: _mutated(v, rnd) for k, v in value.items()}
    if isinstance(value, list):
        items = [_mutated(v, rnd) for v in value]
        roll = rnd.random()
        if roll < 0.15:
            items.pop(rnd.randrange(len(items)))
        elif roll < 0.3:
            items.append(copy.deepcopy(rnd.choice(value)))  # its keys now repeat
        rnd.shuffle(items)
        return items
    return rnd.choice([None, "changed", 7]) if rnd.random() < 0.1 else value


@settings(max_examples=200)
@given(records(), st.randoms(use_true_random=False))
def test_applying_the_diff_to_a_version_of_a_gives_it(a, rnd):
    old = content_of(a)
    new = _mutated(old, rnd)
    changes = diff(old, new)
    # content_of again, as above: an added field absent from one side is null on the other.
    assert canonicalize(content_of(apply(old, changes))) == canonicalize(content_of(new))
    assert old == content_of(a)  # apply and diff leave their inputs alone


def _arm(label: str, **extra: Any) -> dict[str, Any]:
    return {"label": label, "type": "EXPERIMENTAL", "description": None, "interventions": None, **extra}


def test_lists_with_identity_are_matched_by_key_not_position():
    old = {"arms": [_arm("Low dose"), _arm("High dose", description="200 mg")]}
    new = {"arms": [_arm("High dose", description="250 mg"), _arm("Low dose")]}
    assert diff(old, new) == [{
        "path": 'arms[label="High dose"].description', "op": "replace",
        "old": "200 mg", "new": "250 mg", "kind": "arms"}]


def test_status_and_date_changes_have_their_own_kinds():
    old = {"status": {"overall": "RECRUITING", "completion": {"date": "2011-10", "kind": "anticipated"}}}
    new = {"status": {"overall": "COMPLETED", "completion": {"date": "2011-10", "kind": "actual"}}}
    kinds = {c["path"]: c["kind"] for c in diff(old, new)}
    assert kinds == {"status.overall": "status", "status.completion.kind": "dates"}


def test_criteria_changes_are_set_changes_of_item_text():
    old = {"eligibility": {"exclusion": ["Pregnancy", "Malignancies."]}}
    new = {"eligibility": {"exclusion": ["Malignancies.", "Pregnancy or breastfeeding"]}}
    assert [(c["op"], c["old"], c["new"]) for c in diff(old, new)] == [
        ("remove", "Pregnancy", None), ("add", None, "Pregnancy or breastfeeding")]
