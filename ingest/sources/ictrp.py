"""WHO ICTRP trial search: ``GET {base}/Trial2.aspx?TrialID={id}``.

The ICTRP republishes registries' records as a table of "Label: value" rows,
read by the mirror engine with inline labels. The labels down to "Key inclusion
& exclusion criteria" are those of the one real sample at hand
(../shared/seeds/who_ictrp__NCT01659762.txt, whose end is cut off); the labels
after it (ages, gender, conditions, interventions, secondary ids and sponsors)
follow the WHO Trial Registration Data Set the page says it shows, not a page
seen here: they are optional, and a page without them still parses.

Quirks (see REGISTRY-NOTES.md):
- an unknown id is HTTP 200 with a page that says so (a soft 404); its exact
  wording is not at hand, so the phrases below are the usual ones;
- "Public title" may carry the acronym after the title ("... Disease. EPIC/MSC/IBD");
- the criteria are one text with its own headers and "- " items, long lines
  wrapped: a wrapped line continues the item before it;
- countries of recruitment, not sites: one site per country, only its country set;
- "Last refreshed on" is when the ICTRP last copied the record: the capture's
  ``source_version_date``, which tells how far behind the mirror may be.
"""

from __future__ import annotations

import re

from trialmirror.ingest.http import Fetched, Http
from trialmirror.ingest.parsing.mirror import values as v
from trialmirror.ingest.parsing.mirror.engine import Label, Layout, parse_page
from trialmirror.ingest.parsing.mirror.page import HTML_ACCEPT
from trialmirror.ingest.sources import ctgov
from trialmirror.ingest.sources.base import Known, pinned_page, source_of
from trialmirror.models import vocab
from trialmirror.models.record import Record
from trialmirror.settings import Settings

NAME = "ictrp"
LABEL = "WHO ICTRP"
ROLE = "mirror"
PARSER_VERSION = 3  # 2: site chrome skipped; design pairs end with , . or ;
# 3: criteria headers by their shape, criteria_groups (as ctgov parser 4); drift flags with an action
validate_id = ctgov.validate_id  # records here are keyed by ClinicalTrials.gov ids

LAYOUT = Layout(
    source=NAME,
    site=LABEL,
    inline_labels=True,
    labels=(
        Label(("Register",)),
        Label(("Last refreshed on",), v.date("source_version_date")),
        Label(("Main ID",), v.ids, required=True),
        Label(("Date of registration",)),
        Label(("Prospective Registration",)),
        Label(("Primary sponsor",), v.lead_sponsor),
        Label(("Public title",), v.text("titles.brief"), required=True),
        Label(("Scientific title",), v.text("titles.official")),
        Label(("Date of first enrolment", "Date of first enrollment"), v.dated("status.start")),
        Label(("Target sample size",), v.enrollment),
        Label(("Recruitment status",), v.enum("status.overall", vocab.OVERALL_STATUS), required=True),
        Label(("URL",)),
        Label(("Study type",), v.enum("study_type", vocab.STUDY_TYPE)),
        Label(("Study design",), v.design_pairs),
        Label(("Phase",), v.enums("phases", vocab.PHASE)),
        Label(("Countries of recruitment",), v.countries),
        Label(("Contacts",)),
        Label(("Key inclusion & exclusion criteria", "Inclusion & exclusion criteria",
               "Key inclusion and exclusion criteria"), v.criteria_text),
        # From here on: the data set's fields, not seen in the sample (see above).
        Label(("Age minimum", "Inclusion agemin"), v.age("eligibility.min_age")),
        Label(("Age maximum", "Inclusion agemax"), v.age("eligibility.max_age")),
        Label(("Gender", "Inclusion sex"), v.enum("eligibility.sex", vocab.SEX)),
        Label(("Health Condition(s) or Problem(s) studied",), v.items("conditions")),
        Label(("Intervention(s)",), v.interventions),
        Label(("Primary Outcome(s)",)),
        Label(("Secondary Outcome(s)",)),
        Label(("Secondary ID(s)",), v.ids),
        Label(("Source(s) of Monetary Support",)),
        Label(("Secondary Sponsor(s)",), v.collaborators),
        Label(("Ethics review",)),
        Label(("Results",)),
    ),
    not_found=(re.compile(r"no (?:trials?|records?|results?)(?: (?:were|was))? found|not found|"
                          r"does ?n[o']t exist|invalid trial ?id", re.I),),
)


def url(settings: Settings, registry_id: str, known: Known | None = None) -> str:
    if known is not None and known.pinned_url:
        return pinned_page(settings.ictrp_base_url, NAME, known)
    return f"{settings.ictrp_base_url}/Trial2.aspx?TrialID={registry_id}"


def fetch(http: Http, settings: Settings, registry_id: str, *, target: str | None = None,
          etag: str | None = None, last_modified: str | None = None) -> Fetched:
    return http.get(target or url(settings, registry_id), source=NAME, registry_id=registry_id,
                    label=LABEL, accept=HTML_ACCEPT, etag=etag, last_modified=last_modified)


def parse(raw: bytes, registry_id: str, *, url: str | None = None) -> Record:
    return parse_page(LAYOUT, raw, registry_id, url)


SOURCE = source_of(globals())
