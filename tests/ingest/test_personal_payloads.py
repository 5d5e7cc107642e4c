"""Raw payloads without personal contact details (ingest/parsing/personal.py), as the archive
keeps them when TRIALMIRROR_PERSONAL_CONTACTS is false."""

import json

import orjson
import pytest

from tests.fixtures import mirror_pages as mp
from tests.fixtures import nct01342250 as fx
from tests.fixtures import personal as planted
from trialmirror.ingest.parsing.personal import (
    EMAIL_LEFT_OUT,
    PHONE_LEFT_OUT,
    masked,
    without_personal_details,
)
from trialmirror.ingest.sources import ctgov, ictrp


def _left(raw: bytes) -> list[str]:
    return [value for value in planted.PLANTED if value.encode() in raw]


def test_an_api_document_loses_the_personal_keys_and_keeps_roles_and_affiliations():
    raw = json.dumps(planted.document(), indent=2).encode()
    assert len(_left(raw)) == len(planted.PLANTED) - 1  # every planted detail but the flag's
    kept = without_personal_details(raw)
    assert _left(kept) == []
    module = orjson.loads(kept)["protocolSection"]["contactsLocationsModule"]
    assert module["centralContacts"] == [{"role": "CONTACT"}]
    assert module["overallOfficials"] == [{"affiliation": "Shanghai 85 Hospital", "role": "STUDY_CHAIR"}]
    assert module["locations"][0]["contacts"] == [{"role": "PRINCIPAL_INVESTIGATOR"}]
    assert module["locations"][0]["city"] == "Shanghai"
    party = orjson.loads(kept)["protocolSection"]["sponsorCollaboratorsModule"]["responsibleParty"]
    assert party == {"type": "PRINCIPAL_INVESTIGATOR", "investigatorAffiliation": "Beike Biotech",
                     "oldOrganization": "Beike Old Org"}
    unposted = orjson.loads(kept)["annotationSection"]["annotationModule"]["unpostedAnnotation"]
    assert unposted == {"unpostedEvents": [{"type": "RELEASE", "date": "2020-01-02"}]}
    # The rest of the document is the same, value for value.
    doc = planted.document()
    for c in doc["protocolSection"]["contactsLocationsModule"]["centralContacts"]:
        del c["name"], c["phone"], c["phoneExt"], c["email"]
    assert orjson.loads(kept)["protocolSection"]["identificationModule"] == doc["protocolSection"][
        "identificationModule"]
    assert without_personal_details(kept) == kept  # nothing left to remove: the same bytes


def test_a_history_version_loses_them_wherever_the_study_sits():
    wrapped = {"studyVersion": 3, "study": planted.document()}
    assert _left(without_personal_details(orjson.dumps(wrapped))) == []


def test_a_payload_without_personal_details_keeps_its_bytes():
    raw = json.dumps(fx.current(), indent=1).encode()  # whitespace orjson would not write
    assert without_personal_details(raw) is raw
    listing = json.dumps(fx.history_list()).encode()
    assert without_personal_details(listing) is listing


def test_a_holder_of_another_shape_is_removed_whole():
    doc = planted.document()
    doc["protocolSection"]["contactsLocationsModule"]["centralContacts"] = "Quilla Plantedname, 555-0142-7788"
    kept = orjson.loads(without_personal_details(orjson.dumps(doc)))
    assert "centralContacts" not in kept["protocolSection"]["contactsLocationsModule"]


def test_the_parser_reads_the_kept_document_without_any_detail():
    record = ctgov.parse(without_personal_details(orjson.dumps(planted.document())), planted.NCT)
    assert [v for v in planted.PLANTED if v in record.model_dump_json()] == []
    assert record.sites[0]["city"] == "Shanghai"


@pytest.mark.parametrize(("text", "expected"), [
    (b"Email: jane.roe@example.org", b"Email: " + EMAIL_LEFT_OUT),
    (b"<a href='mailto:jane@example.org'>x</a>", b"<a href='mailto:" + EMAIL_LEFT_OUT + b"'>x</a>"),
    (b"<a href=\"tel:+15550100\">call</a>", b"<a href=\"tel:" + PHONE_LEFT_OUT + b"\">call</a>"),
    (b"Telephone:</td><td>0086-21-5555 0199</td>", b"Telephone:</td><td>" + PHONE_LEFT_OUT + b"</td>"),
    (b"Phone: (404) 555-0100", b"Phone: " + PHONE_LEFT_OUT),
    (b"call +44 20 7946 0958 today", b"call " + PHONE_LEFT_OUT + b" today"),
    (b"or 404.555.0100.", PHONE_LEFT_OUT.join([b"or ", b"."])),
])
def test_a_page_has_its_emails_and_phone_numbers_masked(text, expected):
    assert masked(text) == expected


@pytest.mark.parametrize("text", [
    b"Date of first enrolment: October 2010", b"Main ID:  NCT01342250", b"2010-10-05",
    b"Target sample size: 20", b"Tel Aviv Sourasky Medical Center", b"EudraCT 2011-001234-12",
    b"1.5 x 10^6 cells/kg", b"HbA1c +0.5 %", b"BKCR-LD-1.0(2010)", b"ISRCTN12345678",
])
def test_what_is_no_phone_number_stays(text):
    assert masked(text) == text


def test_a_mirror_page_with_contacts_parses_the_same_once_masked():
    lines = mp.ictrp_lines(fx.current())
    at = lines.index("Contacts") + 1
    lines[at:at] = ["Name: Quilla Plantedname", "Address: ", "Telephone: +1 555-0142-7788",
                    "Email: quilla.plantedname@example.org", "Affiliation: Beike Biotech"]
    page = mp.table(lines)
    kept = without_personal_details(page)
    assert b"555-0142-7788" not in kept and b"plantedname@example.org" not in kept
    assert b"Quilla Plantedname" in kept  # a name on a page cannot be told apart (README says so)
    assert ictrp.parse(kept, planted.NCT) == ictrp.parse(page, planted.NCT)


def test_json_orjson_refuses_loses_the_keys_all_the_same():
    raw = orjson.dumps(planted.document())[:-1] + b', "odd": NaN}'  # not JSON, but Python reads it
    kept = without_personal_details(raw)
    assert _left(kept) == [] and b'"odd":NaN' in kept
    broken = orjson.dumps(planted.document())[:-20]  # cut short: no JSON at all
    assert b"quilla.plantedname@example.org" not in without_personal_details(broken)
