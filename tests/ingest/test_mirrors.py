"""Mirror sites: the page engine, ClinicalTrials.Veeva and WHO ICTRP, fetched and stored.

The real page texts are the seeds (read in place by ``seeds_dir``), put into markups
of our own; the cassettes hold SYNTHETIC pages (see cassettes/ctv/README.md).
"""

import json

import pytest

from tests.fixtures import mirror_pages as mp
from tests.fixtures import nct01342250 as fx
from trialmirror.errors import LayoutChangedError, NotFoundError, ParseError
from trialmirror.ingest.parsing.mirror.page import page_lines, read_page
from trialmirror.ingest.runs.pipeline import Ingestor
from trialmirror.ingest.sources import ctgov, ctv, get_source, ictrp
from trialmirror.store.engine import utcnow
from trialmirror.store.rows import FetchInfo

NCT = "NCT01342250"


@pytest.fixture(scope="module")
def ctv_seed(seeds_dir):
    return mp.seed_lines(seeds_dir / "ctv_veeva__NCT01342250.txt")


@pytest.fixture(scope="module")
def ictrp_seed(seeds_dir):
    return mp.seed_lines(seeds_dir / "who_ictrp__NCT01659762.txt")


def _without_block(lines, label, values):
    at = lines.index(label)
    assert lines[at + 1: at + 1 + len(values)] == values
    return lines[:at] + lines[at + 1 + len(values):]


# --- the page as lines ---------------------------------------------------------------------

def test_page_lines_follow_what_a_browser_shows():
    raw = (b"<html><head><title>t</title><script>x='Menu'</script></head><body>"
           b"<h1>Tit&nbsp;le</h1><p>Beike <b>Bio</b>tech</p><ul><li> one\n two</li></ul>"
           b"<table><tr><td>Main ID:</td><td>NCT1</td></tr></table>Completed<br>Phase 2"
           b"<div style='display: none'>hidden</div><div hidden>hidden</div><pre>a\n  b</pre></body></html>")
    assert page_lines(raw) == ["Tit le", "Beike Biotech", "• one two", "Main ID: NCT1", "Completed",
                               "Phase 2", "a", "b"]


def test_chrome_is_not_content():
    raw = (b"<title>T | Site</title><header><a>Site</a><button>Menu</button></header>"
           b"<nav><a>Trials</a></nav><main><article><header><h1>Title</h1><p>By</p></header>"
           b"<aside><p>Share</p></aside><p>Body</p><footer><p>Article foot</p></footer></article></main>"
           b"<div role='search'>Find</div><div role='contentinfo'>(c) Site</div>"
           b"<section role='navigation'>Links</section><dialog><p>Menu item</p></dialog>"
           b"<dialog open><p>Shown</p></dialog><div role='banner'>Logo</div><footer>Page foot</footer>")
    page = read_page(raw)
    # A header or footer inside an article is the article's (content), as in ARIA.
    assert page.lines == ["Title", "By", "Body", "Article foot", "Shown"]
    assert (page.heading, page.heading_at, page.title) == ("Title", (0, 1), "T | Site")


def test_the_first_heading_outside_the_chrome_is_the_page_heading():
    page = read_page(b"<header><h1>Logo</h1></header><h1></h1><p>x</p><h1>Two<br>lines</h1><h1>Third</h1>")
    assert page.lines == ["x", "Two", "lines", "Third"]
    assert (page.heading, page.heading_at, page.title) == ("Two lines", (1, 3), None)


def test_page_encoding_declared_or_guessed():
    assert page_lines("<p>café ≦</p>".encode()) == ["café ≦"]
    assert page_lines("<p>café</p>".encode("latin-1")) == ["café"]
    assert page_lines('<meta charset="iso-8859-7"><p>\xc9</p>'.encode("latin-1")) == ["Ι"]


# --- ClinicalTrials.Veeva: the seed page ---------------------------------------------------------

def test_ctv_seed_page_parses_to_its_facts(ctv_seed):
    r = ctv.parse(mp.semantic(ctv_seed), NCT, url="https://ctv.example.invalid/study/x")
    assert r.source == "ctv" and r.registry_id == NCT
    assert r.titles.brief == ("Human Umbilical Cord Mesenchymal Stem Cells Transplantation for Patients "
                              "With Decompensated Liver Cirrhosis")
    assert r.status.overall == "COMPLETED" and sorted(r.phases) == ["PHASE1", "PHASE2"]
    assert r.conditions == ["Liver Cirrhosis"] and r.study_type == "INTERVENTIONAL"
    assert sorted((i["type"], i["name"]) for i in r.interventions) == [
        ("BIOLOGICAL", f"conventional therapy plus {dose} dose hUC-MSCs treatment")
        for dose in ("high", "low", "medium")]
    assert [(a["label"], a["type"], a["interventions"]) for a in r.arms] == [
        (label, "EXPERIMENTAL", [f"conventional therapy plus {dose} dose hUC-MSCs treatment"])
        for label, dose in fx.ARMS]
    by_name = {i["name"]: i["arm_labels"] for i in r.interventions}  # the groups' own link
    assert by_name["conventional therapy plus low dose hUC-MSCs treatment"] == [fx.ARMS[0][0]]
    assert r.enrollment == {"count": 20, "kind": None}
    e = r.eligibility
    assert e.sex == "ALL" and e.healthy_volunteers is False
    assert (e.min_age["years"], e.max_age["years"]) == (18, 70)
    assert e.inclusion == fx.INCLUSION and e.exclusion == fx.EXCLUSION  # exact text, in order
    assert e.criteria_layout == "headed" and e.criteria_text is None  # the page shows lists only
    d = r.design
    assert (d.allocation, d.intervention_model, d.masking, d.primary_purpose) == (
        "RANDOMIZED", "PARALLEL", "NONE", "TREATMENT")
    assert [s["id"] for s in r.identifiers.secondary] == ["BKCR-LD-1.0(2010)"]
    assert r.sponsors.lead == {"name": "Beike Biotech", "class": None}
    assert sorted(r.sponsors.funder_types) == ["INDUSTRY", "OTHER"]
    assert r.summary.startswith("Although liver transplantation") and r.description.startswith("To investigate")
    assert r.sites is None and r.outcomes is None and r.unmapped is None  # not shown: null


def test_second_markup_of_the_same_text_gives_the_identical_record(ctv_seed):
    assert ctv.parse(mp.soup(ctv_seed), NCT) == ctv.parse(mp.semantic(ctv_seed), NCT)


@pytest.mark.parametrize("markup", sorted(mp.CTV_MARKUPS))
def test_every_markup_of_the_seed_page_gives_its_title_and_the_same_record(ctv_seed, markup):
    """The site's chrome in landmarks (a menu link and its button on one line, which reads
    "ClinicalTrials.VeevaMenu"; a share box and a sidebar) is no part of the record."""
    r = ctv.parse(mp.CTV_MARKUPS[markup](ctv_seed), NCT)
    assert r.titles.brief == ("Human Umbilical Cord Mesenchymal Stem Cells Transplantation for Patients "
                              "With Decompensated Liver Cirrhosis")
    assert r.sponsors.lead == {"name": "Beike Biotech", "class": None}
    assert r == ctv.parse(mp.semantic(ctv_seed), NCT)


def test_the_menu_bar_renders_as_one_line_that_only_its_landmark_marks(ctv_seed):
    assert "ClinicalTrials.VeevaMenu" in page_lines(mp.nav_on_one_line(ctv_seed).replace(b"nav", b"div"))
    assert "ClinicalTrials.VeevaMenu" not in page_lines(mp.nav_on_one_line(ctv_seed))


def test_the_title_comes_from_the_heading_then_the_page_title_then_the_line_above_the_sponsor(ctv_seed):
    title, blocks = ctv_seed[2], ctv_seed[ctv_seed.index("Status and phase"):]

    def page(head="", top=f"<p>{title}</p>", labels=None):
        # The menu bar as chrome that no landmark marks, then the title, the sponsor, the blocks.
        return (f"<html><head>{head}</head><body><div>ClinicalTrials.VeevaMenu</div>{top}"
                f"<p>Beike Biotech</p>{labels or mp.paragraphs(blocks)}</body></html>").encode()

    def read(raw):
        r = ctv.parse(raw, NCT)
        assert r.sponsors.lead["name"] == "Beike Biotech"
        return r.titles.brief

    assert read(page()) == title  # no heading, no <title>: the line above the sponsor
    assert read(page(top="<h1>Another Title</h1>")) == "Another Title"
    for head in (f"<title>Another Title | {ctv.LABEL}</title>", f"<title>Another Title - {ctv.LABEL}</title>",
                 f"<title>{ctv.LABEL} | Another Title</title>"):
        assert read(page(head)) == read(page(head, top="")) == "Another Title"
        assert read(page(head, top="<h1>Heading</h1>")) == "Heading"  # the heading first
    # No title: the site's name alone, a <title> without the site's name, a heading that is a label.
    assert read(page(f"<title>{ctv.LABEL}</title>", f"<h1>{ctv.LABEL}</h1><p>{title}</p>")) == title
    assert read(page("<title>Study</title>")) == title
    assert read(page(labels=mp.paragraphs(blocks).replace("<p>Status and phase</p>",
                                                        "<h1>Status and phase</h1>"))) == title


def test_the_title_is_read_once_not_again_as_a_preamble_line(ctv_seed):
    """A page showing no sponsor: the title's line is not taken for one."""
    lines = [x for x in ctv_seed if x not in ("B", "Beike Biotech")]
    for markup in (mp.landmarks, mp.roles):  # an <h1>; a <title> whose text is also a line
        r = ctv.parse(markup(lines), NCT)
        assert (r.titles.brief, r.sponsors.lead) == (ctv_seed[2], None)


def test_page_without_status_and_phase_is_a_layout_change_naming_it(ctv_seed):
    page = mp.semantic(_without_block(ctv_seed, "Status and phase", ["Completed", "Phase 2", "Phase 1"]))
    with pytest.raises(LayoutChangedError) as exc:
        ctv.parse(page, NCT, url="https://ctv.example.invalid/study/x")
    message = str(exc.value)
    assert "'Status and phase'" in message and "[ctv] NCT01342250" in message
    assert "'Conditions'" not in message  # only what is missing
    assert exc.value.family == "layout_changed"


def test_a_soft_404_in_the_heading_is_not_found_not_a_title():
    page = (b"<html><head><title>Page not found | ClinicalTrials.Veeva</title></head><body><header><nav>"
            b"<a>ClinicalTrials.Veeva</a><button>Menu</button></nav></header><main><h1>Page not found</h1>"
            b"<p>Try a search.</p></main></body></html>")
    with pytest.raises(NotFoundError, match="ClinicalTrials.Veeva says it has no such trial"):
        ctv.parse(page, NCT)


# SYNTHETIC not-found pages in the site's frame: the real site's wording is not at hand, so
# these are the shapes such pages take on the web (a typographic apostrophe, a bare "404").
def _ctv_frame(title: str, main: str) -> bytes:
    return (f"<html><head><title>{title}</title></head><body><header><nav><a>ClinicalTrials.Veeva</a>"
            f"<button>Menu</button></nav></header><main>{main}</main></body></html>").encode()


@pytest.mark.parametrize("page", [
    _ctv_frame("404 | ClinicalTrials.Veeva", "<h1>404</h1><p>Sorry, this study doesn\u2019t exist.</p>"),
    _ctv_frame("ClinicalTrials.Veeva", "<h1>We can\u2019t find that study</h1><p>Try a search.</p>"),
    _ctv_frame("Error 404 - ClinicalTrials.Veeva", "<p>Back to the home page</p>"),
    _ctv_frame("ClinicalTrials.Veeva", "<h2>Oops!</h2><p>The page you requested is no longer available.</p>"),
])
def test_a_ctv_soft_404_is_not_found_not_a_layout_change(page):
    with pytest.raises(NotFoundError) as info:
        ctv.parse(page, NCT)
    assert info.value.family == "not_found"


def test_a_404_inside_a_title_is_no_soft_404(ctv_seed):
    """A trial called "ABC-404" whose page lost a label is a layout change, not a missing page."""
    lines = _without_block(ctv_seed, "Status and phase", ["Completed", "Phase 2", "Phase 1"])
    page = mp.semantic(lines).replace(b"<title>", b"<title>Study of ABC-404 in adults | ", 1)
    with pytest.raises(LayoutChangedError):
        ctv.parse(page, NCT)


def test_a_soft_404_fetched_is_logged_as_not_found(store, settings):
    page = _ctv_frame("404 | ClinicalTrials.Veeva", "<h1>404</h1><p>This study doesn\u2019t exist.</p>")
    result = Ingestor(settings, store).ingest_payload(get_source("ctv"), NCT, page,
                                                      FetchInfo("ctv", NCT, "u", utcnow(), 0.0))
    assert result.error.family == "not_found" and store.version(NCT, "ctv") is None
    assert store.fetches(NCT, "ctv")[0].error_family == "not_found"


def test_a_page_of_another_trial_is_refused(ctv_seed):
    with pytest.raises(ParseError, match="the page is for NCT01342250.*not NCT00000102"):
        ctv.parse(mp.semantic(ctv_seed), "NCT00000102")


def test_groups_that_do_not_add_up_leave_the_arms_null_flagged_and_the_record_stands(ctv_seed):
    lines = [("20 participants in 4 patient groups" if line.startswith("20 participants") else line)
             for line in ctv_seed]
    r = ctv.parse(mp.semantic(lines), NCT)
    assert r.arms is None and r.status.overall == "COMPLETED"
    (flag,) = [u for u in r.unmapped if u["path"].startswith("section:")]
    assert flag["action"] == "dropped" and flag["value"].startswith("20 participants in 4 patient groups")


def test_unknown_wording_is_kept_and_listed_not_lost(ctv_seed):
    lines = [{"Completed": "Paused for review", "18 to 70 years old": "Adults only"}.get(x, x)
             for x in ctv_seed]
    r = ctv.parse(mp.semantic(lines), NCT)
    assert r.status.overall == "Paused for review" and r.eligibility.min_age is None
    assert sorted(r.phases) == ["PHASE1", "PHASE2"]
    assert {"path": "status.overall", "value": "Paused for review", "action": "kept"} in r.unmapped
    assert {"path": "section:Ages", "value": "Adults only", "action": "dropped"} in r.unmapped


@pytest.mark.parametrize(("text", "low", "high"), [
    ("18 to 70 years old", 18, 70), ("18+ years old", 18, None), ("Up to 17 years old", None, 17),
    ("6 months to 5 years old", 0.5, 5), ("65 years and older", 65, None)])
def test_age_wordings(ctv_seed, text, low, high):
    lines = [text if x == "18 to 70 years old" else x for x in ctv_seed]
    e = ctv.parse(mp.semantic(lines), NCT).eligibility
    assert (e.min_age and e.min_age["years"], e.max_age and e.max_age["years"]) == (low, high)


def test_ctv_url_is_a_slug_of_the_title_or_the_pinned_url(settings):
    from trialmirror.ingest.sources.base import Known

    known = Known(NCT, title_lookup=lambda: "Crohn's Disease: Stem Cells (hUC-MSCs) Phase Ι/Π")
    base = settings.ctv_base_url  # url() only computes an address on it; nothing is requested
    assert ctv.url(settings, NCT, known) == f"{base}/study/crohns-disease-stem-cells-huc-mscs-phase-i-p"
    assert ctv.url(settings, NCT, Known(NCT, "/study/pinned")) == f"{base}/study/pinned"
    with pytest.raises(Exception, match="run `trialmirror sync NCT01342250`"):
        ctv.url(settings, NCT, Known(NCT))


@pytest.mark.parametrize("markup", ["semantic", "landmarks"])
def test_synthetic_ctv_page_shows_what_the_seed_shows(ctv_seed, markup):
    """The cassettes' page (rendered from the reconstructed record) reads as the real page."""
    from trialmirror.store.canonical import content_hash

    render = mp.CTV_MARKUPS[markup]
    assert content_hash(ctv.parse(render(mp.ctv_lines(fx.current())), NCT)) == \
        content_hash(ctv.parse(mp.semantic(ctv_seed), NCT))


# --- WHO ICTRP ---------------------------------------------------------------------------

def test_ictrp_sample_parses_into_what_it_shows(ictrp_seed):
    r = ictrp.parse(mp.table(ictrp_seed), "NCT01659762")
    assert r.source_version_date == "2016-10-24"  # "Last refreshed on"
    assert r.titles.brief.startswith("A Phase I Study Evaluating Autologous") and r.titles.official
    assert r.sponsors.lead == {"name": "Emory University", "class": None}
    assert r.status.overall == "COMPLETED" and r.status.start == {"date": "2012-07", "kind": None}
    assert r.enrollment == {"count": 16, "kind": None} and r.phases == ["PHASE1"]
    assert r.study_type == "INTERVENTIONAL"
    assert (r.design.intervention_model, r.design.masking, r.design.primary_purpose) == (
        "SINGLE_GROUP", "NONE", "TREATMENT")
    assert [{k: v for k, v in site.items() if v is not None} for site in r.sites] == [
        {"country": "United States"}]  # all the page says of its sites
    inclusion = r.eligibility.inclusion
    assert len(inclusion) == 5 and inclusion[0] == "Men and women 18-65 years of age."
    assert inclusion[1] == ("Patient must have had CD for at least 3 months from the time of initial "
                            "diagnosis. The diagnosis of CD must have been confirmed by endoscopic and "
                            "histological evidence.")  # a wrapped line joins its item
    assert r.eligibility.exclusion is None  # the sample is cut off before it
    assert "Kugathasan" not in r.model_dump_json()  # contacts are not part of the record


def test_ictrp_chrome_is_not_read(ictrp_seed):
    lines = page_lines(mp.table(ictrp_seed))
    assert lines[0] == "Main" and "World Health Organization site" not in lines


_ISSUE_DESIGN = ("Allocation: Randomized. Intervention model: Parallel Assignment. Primary purpose: "
                 "Treatment. Masking: None (Open Label).")


@pytest.mark.parametrize(("design", "expected"), [
    (_ISSUE_DESIGN, ("RANDOMIZED", "PARALLEL", "NONE", "TREATMENT")),
    (_ISSUE_DESIGN.replace(". ", "; "), ("RANDOMIZED", "PARALLEL", "NONE", "TREATMENT")),
    (_ISSUE_DESIGN.replace(". ", ", ").rstrip("."), ("RANDOMIZED", "PARALLEL", "NONE", "TREATMENT")),
    ("Allocation: N.A.. Intervention model: Single Group Assignment.Masking: Double (Participant, "
     "Investigator). Primary purpose: Other (e.g. screening; pilot).",
     ("NA", "SINGLE_GROUP", "DOUBLE", "Other (e.g. screening; pilot)"))])
def test_ictrp_design_parts_end_with_commas_full_stops_or_semicolons(ictrp_seed, design, expected):
    lines = [f"Study design:  {design}" if x.startswith("Study design:") else x for x in ictrp_seed]
    d = ictrp.parse(mp.table(lines), "NCT01659762").design
    assert (d.allocation, d.intervention_model, d.masking, d.primary_purpose) == expected


def test_ictrp_seed_with_full_stops_reads_as_with_commas(ictrp_seed):
    stopped = mp.full_stops(ictrp_seed)
    assert stopped != ictrp_seed
    assert ictrp.parse(mp.table(stopped), "NCT01659762") == ictrp.parse(mp.table(ictrp_seed), "NCT01659762")


def test_ictrp_criteria_keep_their_sub_headings(ictrp_seed):
    # SYNTHETIC: the sample with a partner list and an exclusion list after its last item
    at = ictrp_seed.index("- Subjects must be refractory (defined as lack of response for at least 3 months)") + 1
    lines = ictrp_seed[:at] + ["Partner Inclusion Criteria", "- Female partner aged 18 or over",
                               "Exclusion Criteria", "- Does not meet inclusion criteria;",
                               "- Pregnancy"] + ictrp_seed[at:]
    e = ictrp.parse(mp.table(lines), "NCT01659762").eligibility
    assert e.inclusion[-1] == "Female partner aged 18 or over"
    assert e.exclusion == ["Does not meet inclusion criteria;", "Pregnancy"]
    assert [(g["kind"], g["heading"], len(g["items"])) for g in e.criteria_groups] == [
        ("inclusion", None, 5), ("inclusion", "Partner Inclusion Criteria", 1), ("exclusion", None, 2)]


def test_ictrp_synthetic_page_reads_every_label(ictrp_seed):
    r = ictrp.parse(mp.table(mp.ictrp_lines(fx.current())), NCT)
    assert sorted(r.phases) == ["PHASE1", "PHASE2"]  # "Phase 1/Phase 2"
    assert r.eligibility.exclusion == fx.EXCLUSION  # unwrapped
    assert r.conditions == ["Liver Cirrhosis"] and len(r.interventions) == 3
    assert (r.eligibility.min_age["years"], r.eligibility.sex) == (18, "ALL")


def test_ictrp_soft_404_is_not_found():
    with pytest.raises(NotFoundError, match=r"\[ictrp\] NCT09999999: WHO ICTRP says it has no such trial"):
        ictrp.parse(mp.table(mp.ictrp_not_found("NCT09999999")), "NCT09999999")


# --- fetched and stored (cassettes), on SQLite and PostgreSQL --------------------------------

def _ingest_ctgov(store, settings):
    Ingestor(settings, store).ingest_payload(
        get_source("ctgov"), NCT, json.dumps(fx.current()).encode(),
        FetchInfo("ctgov", NCT, None, utcnow(), 0.0))


def test_ctv_found_by_the_stored_title_and_stored(store, settings, cassette):
    ingestor = Ingestor(settings, store)
    (missing,) = ingestor.sync_record(get_source("ctv"), NCT)  # no ctgov version yet: no title
    assert missing.outcome == "error" and missing.error.family == "config"
    assert "run `trialmirror sync NCT01342250`" in str(missing.error)
    _ingest_ctgov(store, settings)
    with cassette.use_cassette("ctv/NCT01342250_page.yaml") as replay:  # record_mode="none"
        (result,) = ingestor.sync_record(get_source("ctv"), NCT)
    assert result.outcome == "new_version", result.error
    assert replay.play_count == 1  # the page came from the cassette, not the network
    row = store.version(NCT, "ctv")
    assert row.overall_status == "COMPLETED" and row.raw_sha256
    stored = json.loads(row.record)  # the page's chrome (menu bar, share box, sidebar) is not in it
    assert stored["titles"]["brief"] == fx.current()["protocolSection"]["identificationModule"]["briefTitle"]
    assert stored["sponsors"]["lead"]["name"] == "Beike Biotech" and stored["conditions"] == ["Liver Cirrhosis"]
    fetches = store.fetches(NCT, "ctv")
    assert [f.outcome for f in fetches] == ["error", "new_version"]
    assert fetches[1].url.startswith(f"{settings.ctv_base_url}/study/human-umbilical-cord-")  # as replayed


def test_mirror_failures_store_no_version_but_keep_the_payload(store, settings, cassette):
    ingestor = Ingestor(settings, store)
    with cassette.use_cassette("ictrp/NCT01342250_soft_404.yaml"):
        (result,) = ingestor.sync_record(get_source("ictrp"), "NCT09999999")
    assert result.outcome == "error" and result.error.family == "not_found"
    assert store.version("NCT09999999", "ictrp") is None
    fetch = store.fetches("NCT09999999", "ictrp")[0]
    assert fetch.error_family == "not_found" and store.raw(fetch.raw_sha256)  # archived first
    _ingest_ctgov(store, settings)
    with cassette.use_cassette("ctv/NCT01342250_gone.yaml"):
        (gone,) = ingestor.sync_record(get_source("ctv"), NCT)
    assert gone.error.family == "not_found" and "TRIALMIRROR_PINNED_URLS" in str(gone.error)


def test_layout_change_is_logged_and_writes_nothing(store, settings, ctv_seed):
    page = mp.semantic(_without_block(ctv_seed, "Status and phase", ["Completed", "Phase 2", "Phase 1"]))
    result = Ingestor(settings, store).ingest_payload(get_source("ctv"), NCT, page,
                                                      FetchInfo("ctv", NCT, "u", utcnow(), 0.0))
    assert result.error.family == "layout_changed" and store.version(NCT, "ctv") is None
    assert store.fetches(NCT, "ctv")[0].error_family == "layout_changed"


def test_ictrp_page_from_cassette_is_stored_with_its_refresh_date(store, settings, cassette):
    with cassette.use_cassette("ictrp/NCT01342250_page.yaml"):
        (result,) = Ingestor(settings, store).sync_record(get_source("ictrp"), NCT)
    assert result.outcome == "new_version", result.error
    assert store.version(NCT, "ictrp").valid_from == "2026-11-19"


def test_registry_records_keep_their_hash_with_the_new_sponsor_field():
    """``sponsors.funder_types`` joined the contract later: null, it leaves hashes alone."""
    from trialmirror.store.canonical import content_hash

    record = ctgov.parse(json.dumps(fx.current()).encode(), NCT)
    data = record.model_dump(mode="json")
    assert data["sponsors"]["funder_types"] is None
    del data["sponsors"]["funder_types"]  # as versions stored before it existed
    assert content_hash(record) == content_hash(data)


def test_a_pinned_url_needs_no_title(store, settings, cassette, monkeypatch):
    from trialmirror.ingest.sources.ctv import slug
    from trialmirror.settings import Settings

    path = "/study/" + slug(fx.current()["protocolSection"]["identificationModule"]["briefTitle"])
    monkeypatch.setenv("TRIALMIRROR_PINNED_URLS", json.dumps({"ctv": {NCT: path}}))
    pinned = Settings(**settings.model_dump(exclude={"pinned_urls"}))  # the JSON comes from the env
    assert pinned.pinned_url("ctv", NCT) == path
    with cassette.use_cassette("ctv/NCT01342250_page.yaml"):
        (result,) = Ingestor(pinned, store).sync_record(get_source("ctv"), NCT)  # no ctgov version stored
    assert result.outcome == "new_version", result.error
    assert store.fetches(NCT, "ctv")[0].url == settings.ctv_base_url + path


def test_an_unknown_heading_after_a_list_is_no_criterion(ctv_seed):
    at = ctv_seed.index("Trial design")
    lines = ctv_seed[:at] + ["Trial documents", "Protocol (PDF)"] + ctv_seed[at:]
    r = ctv.parse(mp.semantic(lines), NCT)
    assert r.eligibility.exclusion == fx.EXCLUSION
    assert [(u["value"], u["action"]) for u in r.unmapped] == [("Trial documents", "skipped"), ("Protocol (PDF)", "skipped")]
    assert ctv.parse(mp.soup(lines), NCT) == r  # literal bullets read the same as <li>


def test_a_sub_heading_inside_a_ctv_list_keeps_its_items(ctv_seed):
    """A cohort's heading among the bullets (SYNTHETIC: inserted into the seed page) is kept
    with the items under it; the list itself is unchanged and nothing is flagged."""
    at = ctv_seed.index(next(line for line in ctv_seed if "Decompensated liver cirrhosis, Child-Pugh" in line))
    lines = ctv_seed[:at] + ["Patients of the second cohort:"] + ctv_seed[at:]
    for markup in (mp.semantic, mp.soup):
        r = ctv.parse(markup(lines), NCT)
        assert r.eligibility.inclusion == fx.INCLUSION and r.eligibility.exclusion == fx.EXCLUSION
        groups = [(g["kind"], g["heading"], len(g["items"])) for g in r.eligibility.criteria_groups]
        assert groups == [("inclusion", None, 2), ("inclusion", "Patients of the second cohort:", 3)]
        assert r.unmapped is None

