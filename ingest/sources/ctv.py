"""ClinicalTrials.Veeva (ctv.veeva.com): ``GET {base}/study/<slug-of-brief-title>``.

A mirror of ClinicalTrials.gov records, read from its page's labelled text
blocks by the mirror engine (:mod:`trialmirror.ingest.parsing.mirror`); the layout below is the
page of NCT01342250 (../shared/seeds/ctv_veeva__NCT01342250.txt).

Quirks:
- a study is addressed by a slug of its brief title, not by its id: the title
  comes from the latest ClinicalTrials.gov version in the store, so ``ctgov``
  must have run first, or the page's URL is pinned in ``TRIALMIRROR_PINNED_URLS``.
  How the site slugs punctuation is not documented: apostrophes are dropped
  ("Crohn's" -> "crohns"), every other run of non-letters is one hyphen;
- title and sponsor sit above the first label, without labels of their own
  (and a one-letter avatar of the sponsor between them): the title is the page's
  ``<h1>`` (else its ``<title>`` less " | ClinicalTrials.Veeva"), the preamble's
  line above the sponsor only on a page with neither; the site's menu and footer
  are chrome, skipped by their landmarks (see ``ingest/parsing/mirror/page.py``);
- values are worded for people ("None (Open label)", "18 to 70 years old",
  "Experimental group"); identifiers and funder types come without saying
  which is which, so other ids are secondary ids and the classes are
  ``sponsors.funder_types``;
- the page lists locations with a script ("Loading..."): sites are not read.
"""

from __future__ import annotations

import re

from slugify import slugify

from trialmirror.errors import ConfigError, NotFoundError
from trialmirror.ingest.http import Fetched, Http
from trialmirror.ingest.parsing.mirror import values as v
from trialmirror.ingest.parsing.mirror.engine import Draft, Label, Layout, parse_page
from trialmirror.ingest.parsing.mirror.page import HTML_ACCEPT
from trialmirror.ingest.sources import ctgov
from trialmirror.ingest.sources.base import Known, pinned_page, source_of
from trialmirror.models import vocab
from trialmirror.models.record import Record
from trialmirror.settings import Settings

NAME = "ctv"
LABEL = "ClinicalTrials.Veeva"
ROLE = "mirror"
PARSER_VERSION = 2  # 2: site chrome skipped; the title from <h1>/<title>; drift flags with
# an action; sub-headings and lead-ins inside a criteria list kept (criteria_groups)
validate_id = ctgov.validate_id  # the site republishes ClinicalTrials.gov records
_CHROME = {"clinicaltrials.veeva", "menu", "skip to main content", "back"}


def _title_and_sponsor(d: Draft, lines: list[str]) -> None:
    """Above the first label: [site chrome], title, [avatar letter], lead sponsor. The title
    is the page's <h1> or <title> when it has one (the engine set it); else the line just
    above the sponsor, so that chrome above it which no landmark marks (and no wording list
    foresees: "ClinicalTrials.VeevaMenu") is never the title."""
    rest = [line for line in lines if line.casefold() not in _CHROME]
    if len(rest) >= 2 or (rest and d.get("titles.brief")):
        sponsor = rest.pop()
        if rest and len(rest[-1]) <= 2 and sponsor.upper().startswith(rest[-1].upper()):
            rest.pop()  # the avatar: the sponsor's initial
        d.set("sponsors.lead", {"name": sponsor, "class": None})
    if rest and not d.get("titles.brief"):
        d.set("titles.brief", rest[-1])


LAYOUT = Layout(
    source=NAME,
    site=LABEL,
    labels=(
        Label(("Status and phase", "Status & phase"), v.status_and_phase, required=True),
        Label(("Conditions", "Condition"), v.items("conditions"), required=True),
        # Not "Treatment": the word is a value here ("Primary purpose", a group's "Treatment:").
        Label(("Treatments",), v.interventions),
        Label(("Study type",), v.enum("study_type", vocab.STUDY_TYPE), required=True),
        Label(("Funder types", "Funder type"), v.enums("sponsors.funder_types", vocab.AGENCY_CLASS)),
        Label(("Identifiers", "Identifier"), v.ids, required=True),
        Label(("Details and patient eligibility",)),
        Label(("About",), v.text("summary")),
        Label(("Full description",), v.text("description")),
        Label(("Enrollment",), v.enrollment),
        Label(("Sex",), v.enum("eligibility.sex", vocab.SEX)),
        Label(("Ages", "Age"), v.age_range),
        Label(("Volunteers",), v.volunteers),
        Label(("Inclusion criteria",), v.criteria("inclusion")),
        Label(("Exclusion criteria",), v.criteria("exclusion")),
        Label(("Trial design",)),
        Label(("Primary purpose",), v.enum("design.primary_purpose", vocab.PRIMARY_PURPOSE)),
        Label(("Allocation",), v.enum("design.allocation", vocab.ALLOCATION)),
        Label(("Interventional model", "Intervention model"),
              v.enum("design.intervention_model", vocab.INTERVENTION_MODEL)),
        Label(("Masking",), v.masking_line),
        Label(("Observational model",), v.enum("design.observational_model", vocab.OBSERVATIONAL_MODEL)),
        Label(("Time perspective",), v.enum("design.time_perspective", vocab.TIME_PERSPECTIVE)),
        Label(pattern=re.compile(r"[\d,]+ participants? in \d+ (?:patient )?groups?", re.I),
              parse=v.groups),
        Label(("Trial contacts and locations",)),
        Label(("Data sourced from clinicaltrials.gov",)),
    ),
    not_found=(re.compile(r"page not found|(?:study|trial) not found|could not be found|"
                          r"does ?n[o']t exist", re.I),),
    title_path="titles.brief",
    preamble=_title_and_sponsor,
    finish=v.link_arms,
)


def slug(title: str) -> str:
    return slugify(title.replace("'", "").replace("\u2019", ""))


def url(settings: Settings, registry_id: str, known: Known | None = None) -> str:
    if known is not None and known.pinned_url:
        return pinned_page(settings.ctv_base_url, NAME, known)
    title = known.brief_title if known is not None else None
    if not title:
        raise ConfigError(
            f"no brief title known to find its {LABEL} page: run `trialmirror sync {registry_id}` "
            f"(ClinicalTrials.gov) first, or pin the page's URL in TRIALMIRROR_PINNED_URLS",
            source=NAME, registry_id=registry_id)
    return f"{settings.ctv_base_url}/study/{slug(title)}"


def fetch(http: Http, settings: Settings, registry_id: str, *, target: str | None = None,
          etag: str | None = None, last_modified: str | None = None) -> Fetched:
    target = target or url(settings, registry_id)
    try:
        return http.get(target, source=NAME, registry_id=registry_id, label=LABEL, accept=HTML_ACCEPT,
                        etag=etag, last_modified=last_modified)
    except NotFoundError as exc:
        raise NotFoundError(f"{exc.reason}; its address is a slug of the brief title: if the "
                            "site uses another, pin it in TRIALMIRROR_PINNED_URLS",
                            source=NAME, registry_id=registry_id, url=target,
                            http_status=exc.http_status, attempts=exc.attempts) from exc


def parse(raw: bytes, registry_id: str, *, url: str | None = None) -> Record:
    return parse_page(LAYOUT, raw, registry_id, url)


SOURCE = source_of(globals())
