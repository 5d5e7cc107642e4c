"""The record without personal contact details (models/personal.py): a pure function."""

import orjson
from hypothesis import given

from tests.fixtures import personal as planted
from tests.strategies import records
from trialmirror.models.personal import LEFT_OUT, PERSONAL_FIELDS, without_personal_contacts
from trialmirror.models.record import ADDED_FIELDS, Record


def _json(record: Record) -> str:
    return record.model_dump_json()


def test_no_personal_detail_is_left_and_roles_and_affiliations_stay():
    record = planted.record()
    cleared = without_personal_contacts(record)
    text = _json(cleared)
    assert [value for value in planted.PLANTED if value in text] == []
    assert all(value in text for value in planted.KEPT)
    assert cleared.contacts.central == [{"name": None, "role": "CONTACT", "phone": None, "phone_ext": None,
                                         "email": None}]  # the contact without a role said nothing else
    assert cleared.contacts.officials == [{"name": None, "affiliation": "Shanghai 85 Hospital",
                                           "role": "STUDY_CHAIR"}]
    assert cleared.sponsors.responsible_party == {
        "type": "PRINCIPAL_INVESTIGATOR", "investigator_name": None, "investigator_title": None,
        "investigator_affiliation": "Beike Biotech", "old_name_title": None,
        "old_organization": "Beike Old Org"}
    assert cleared.annotations.unposted_responsible_party is None
    assert cleared.annotations.unposted_events == record.annotations.unposted_events
    (site,) = cleared.sites
    assert site["facility"] == "Shanghai 85 Hospital" and site["zip"] == "200000"
    assert site["contacts"] == [{"name": None, "role": "PRINCIPAL_INVESTIGATOR", "phone": None,
                                 "phone_ext": None, "email": None}]
    # A flag at a personal path keeps its path and action (drift is still counted), not its value.
    assert cleared.unmapped == [{"path": "contacts.central.email", "value": LEFT_OUT, "action": "kept"},
                                {"path": "status.completion.kind", "value": "PROVISIONAL", "action": "kept"}]
    assert Record.model_validate_json(text) == cleared  # still a valid record
    assert "Quilla Plantedname" in _json(record)  # pure: the record given is untouched


def test_a_holder_flag_loses_its_value_and_emptied_sections_are_null():
    record = planted.record(
        contacts={"central": [{"name": "Solo Name", "role": None, "phone": "555-0100-0000",
                               "phone_ext": None, "email": None}]},
        sponsors={"responsible_party": {**planted.RESPONSIBLE, "type": None,
                                        "investigator_affiliation": None, "old_organization": None}},
        unmapped=[{"path": "sites.contacts", "value": '{"name": "Solo Name"}', "action": "coerced"},
                  {"path": "protocolSection.contactsLocationsModule", "value": "[\"Solo Name\"]",
                   "action": "dropped"}])
    cleared = without_personal_contacts(record)
    assert cleared.contacts is None and cleared.sponsors is None  # nothing but personal details
    assert "Solo Name" not in _json(cleared)
    assert {f["path"]: f["value"] for f in cleared.unmapped} == {
        "sites.contacts": LEFT_OUT, "protocolSection.contactsLocationsModule": LEFT_OUT}


def test_a_record_without_personal_details_is_returned_as_it_is():
    record = planted.record(contacts=None, sponsors=None, sites=None, unmapped=None,
                            annotations={"unposted_events": [{"type": "RESET", "date": None,
                                                              "date_unknown": True}]})
    assert without_personal_contacts(record) is record


def test_every_personal_field_is_a_field_added_with_the_whole_record():
    """Null while left out, so a record stored before (without them) keeps its hash."""
    added = {path for path in ADDED_FIELDS}
    assert all(any(path == a or path.startswith(a + ".") for a in added) for path in PERSONAL_FIELDS)


_CONTACT_DETAILS = ("name", "phone", "phone_ext", "email")


def _without(items, details):
    """A list of contacts (or officials) as the rule says, written out here on its own: each
    loses its ``details``, and one that had some and is left with nothing goes; a list with
    none is untouched."""
    if not items or all(i[k] is None for i in items for k in details):
        return items
    untouched = [all(i[k] is None for k in details) for i in items]
    cleared = [i if same else {**i, **dict.fromkeys(details)} for i, same in zip(items, untouched, strict=True)]
    return [i for i, same in zip(cleared, untouched, strict=True)
            if same or any(v is not None for v in i.values())] or None


def _expected(data):
    expected = dict(data)
    if data["contacts"]:
        contacts = {"central": _without(data["contacts"]["central"], _CONTACT_DETAILS),
                    "officials": _without(data["contacts"]["officials"], ("name",))}
        if contacts != data["contacts"]:  # a section left with nothing is null
            expected["contacts"] = contacts if any(contacts.values()) else None
    sites = []
    for site in data["sites"] or []:
        contacts = _without(site["contacts"], _CONTACT_DETAILS)
        if contacts is not site["contacts"]:
            site = {**site, "contacts": contacts}
            if all(v is None for v in site.values()):
                continue  # a site left with nothing goes
        sites.append(site)
    expected["sites"] = sites or None
    expected["results"] = _results_without(data["results"])
    return expected


def _results_without(results):
    """The results section without its point of contact's personal details: a contact left
    with nothing goes, and so does a section left with nothing."""
    poc = ((results or {}).get("more_info") or {}).get("point_of_contact")
    if poc is None or all(poc[k] is None for k in _POC_DETAILS):
        return results
    poc = {**poc, **dict.fromkeys(_POC_DETAILS)}
    more_info = {**results["more_info"], "point_of_contact": poc if any(poc.values()) else None}
    results = {**results, "more_info": more_info if any(more_info.values()) else None}
    return results if any(results.values()) else None


_POC_DETAILS = ("title", "email", "phone", "phone_ext")


@given(records())
def test_only_personal_details_go_and_clearing_twice_changes_nothing(data):
    record = Record.model_validate(data)
    once = without_personal_contacts(record)
    dump = orjson.loads(_json(once))
    assert dump == _expected(orjson.loads(_json(record)))
    assert without_personal_contacts(once) == once
    if dump == orjson.loads(_json(record)):
        assert once is record  # nothing personal: the very record
