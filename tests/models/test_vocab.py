import pytest

from trialmirror.models import vocab


@pytest.mark.parametrize(("vocabulary", "display", "canonical"), [
    (vocab.OVERALL_STATUS, "Active, not recruiting", "ACTIVE_NOT_RECRUITING"),
    (vocab.OVERALL_STATUS, "Completed", "COMPLETED"),
    (vocab.OVERALL_STATUS, "Unknown status", "UNKNOWN"),
    (vocab.PHASE, "Phase 1", "PHASE1"),
    (vocab.PHASE, "Early Phase 1", "EARLY_PHASE1"),
    (vocab.MASKING, "None (Open label)", "NONE"),
    (vocab.INTERVENTION_MODEL, "Parallel Assignment", "PARALLEL"),
    (vocab.ARM_TYPE, "Experimental group", "EXPERIMENTAL"),
    (vocab.DATE_KIND, "ESTIMATED", "anticipated"),
    (vocab.DATE_KIND, "Anticipated", "anticipated"),
    (vocab.DATE_KIND, "ACTUAL", "actual"),
    (vocab.AGE_UNIT, "Weeks", "WEEKS"),
])
def test_display_strings_map_to_canonical_values(vocabulary, display, canonical):
    assert vocabulary.map(display) == (canonical, True)


def test_unknown_value_is_kept_verbatim_and_flagged():
    mapped = vocab.OVERALL_STATUS.map("  Paused for review ")
    assert mapped == ("Paused for review", False)


def test_synonym_to_a_value_outside_the_vocabulary_fails_at_definition():
    with pytest.raises(ValueError, match="unknown"):
        vocab.Vocabulary("x", ["A"], {"b": "B"})
