"""Search by MeSH term and by place, on SQLite and PostgreSQL alike (records built from
the contract: tests/fixtures/mesh_places.py)."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import text

from tests.fixtures import mesh_places as mp
from trialmirror.errors import InvalidPlaceError, InvalidQueryError
from trialmirror.ingest.sources import REGISTRY
from trialmirror.store import facets, geo
from trialmirror.store.search import query


def _ids(hits):
    return [h.registry_id for h in hits]


@pytest.fixture
def filled(store):
    return mp.fill(store)


# --- MeSH ---------------------------------------------------------------------------------

@pytest.mark.parametrize("asked", ["Liver Diseases", "liver diseases", "LIVER DISEASES", "  Liver Diseases ",
                                   "Liver Cirrhosis", "D008107", "d008103", "Digestive System Diseases",
                                   "Insulin", "Hypoglycemic Agents", "D007004", "D000008107", "d000008103"])
def test_a_mesh_term_finds_records_indexed_with_it_or_below_it(filled, asked):
    """By name or descriptor id, in any case; a term ("Liver Cirrhosis"), its ancestors
    ("Liver Diseases" and up), and the interventions' terms alike."""
    assert _ids(filled.search("", mesh=asked)) == [mp.LIVER]


@pytest.mark.parametrize("asked", ["Liver", "Liver Disease", "Cirrhosis", "D00810", "D0081030", "Liver%",
                                   "Diseases", "_iver Diseases"])
def test_a_mesh_term_matches_whole_terms_only(filled, asked):
    """Not a substring nor a pattern; and the record that only writes "Liver Diseases" in its
    conditions' text, without MeSH terms, is not matched by MeSH."""
    assert filled.search("", mesh=asked) == []


def test_mesh_combines_with_the_other_filters_and_with_words(filled):
    assert _ids(filled.search("", mesh="Diabetes Mellitus")) == [mp.ISLAND]
    assert _ids(filled.search("", mesh="Diabetes Mellitus", status="recruiting")) == [mp.ISLAND]
    assert filled.search("", mesh="Diabetes Mellitus", status="completed") == []
    assert _ids(filled.search("stem cells", mesh="Liver Diseases")) == [mp.LIVER]
    assert filled.search("islands", mesh="Liver Diseases") == []
    assert set(_ids(filled.search("liver"))) == {mp.TEXT_ONLY, mp.LIVER}  # words still find both
    assert _ids(filled.search("", mesh="Liver Diseases", near="31.2,121.5", within=50)) == [mp.LIVER]


def test_a_new_version_replaces_the_mesh_terms_and_an_older_one_does_not(filled):
    mp.put(filled, mp.record(mp.LIVER, "Stem cells for liver failure",
                             condition_mesh=([mp.term("D017093", "Liver Failure")], [])), "2021-01-01")
    assert filled.search("", mesh="Liver Cirrhosis") == []
    assert _ids(filled.search("", mesh="liver failure")) == [mp.LIVER]
    # A state older than the indexed one, stored later (a backfill), leaves the index alone.
    mp.put(filled, mp.record(mp.LIVER, "Stem cells, earlier", condition_mesh=([mp.term("D001", "Old")], [])),
           "2019-01-01")
    assert filled.search("", mesh="Old") == [] and _ids(filled.search("", mesh="Liver Failure")) == [mp.LIVER]


def test_reindex_rebuilds_the_mesh_and_site_rows(filled):
    with filled.transaction() as conn:
        conn.execute(text("DELETE FROM search_mesh"))
        conn.execute(text("DELETE FROM search_site"))
    assert filled.search("", mesh="Liver Diseases") == []
    assert filled.reindex(REGISTRY) == 4
    assert _ids(filled.search("", mesh="Liver Diseases")) == [mp.LIVER]
    assert _ids(filled.search("", near="31.23,121.47", within=1)) == [mp.LIVER]


def test_mesh_values_are_checked():
    with pytest.raises(InvalidQueryError, match="at most 200"):
        query(mesh="x" * 201)
    with pytest.raises(InvalidQueryError, match="control character"):
        query(mesh="Liver\nDiseases")
    for empty in ("", "  "):  # given, but nothing in it: not "every record"
        with pytest.raises(InvalidQueryError, match="MeSH term is empty; give a term or a descriptor id"):
            query(mesh=empty)
    assert query(mesh=None).mesh is None


def test_a_mesh_id_matches_in_either_of_the_registrys_forms(store):
    """Newer records write ids with nine digits (D000008107), older ones with six (D008107):
    either form asked finds either form stored."""
    mp.put(store, mp.record("NCT90000011", "newer", condition_mesh=(
        [mp.term("D000008103", "Liver Cirrhosis")], [mp.term("D000008107", "Liver Diseases")])))
    mp.put(store, mp.record("NCT90000012", "older", condition_mesh=(
        [mp.term("D008103", "Liver Cirrhosis")], [mp.term("D008107", "Liver Diseases")])))
    for asked in ("D008107", "D000008107", "d000008103", "D008103"):
        assert sorted(_ids(store.search("", mesh=asked))) == ["NCT90000011", "NCT90000012"], asked
    assert facets.mesh_id_key("D000086382") == "D086382" and facets.mesh_id_key("C000656484") == "C656484"


# --- places -------------------------------------------------------------------------------

@pytest.mark.parametrize("bearing", [0.0, 90.0, 200.0, 315.0])
def test_a_site_just_inside_the_radius_counts_and_one_just_outside_does_not(store, bearing):
    centre = (48.8566, 2.3522)
    inside, outside = (mp.destination(*centre, bearing, km) for km in (49.99, 50.01))
    mp.put(store, mp.record("NCT90000010", "Inside", sites=[mp.site("In", inside)]))
    mp.put(store, mp.record("NCT90000011", "Outside", sites=[mp.site("Out", outside)]))
    (hit,) = store.search("", near=f"{centre[0]},{centre[1]}", within=50)
    assert hit.registry_id == "NCT90000010" and hit.distance_km == pytest.approx(49.99, abs=1e-6)
    assert _ids(store.search("", near=centre, within=50.02)) == ["NCT90000010", "NCT90000011"]  # nearest first


def test_the_nearest_site_gives_the_distance_and_the_order(store):
    paris = (48.8566, 2.3522)
    mp.put(store, mp.record("NCT90000020", "Far and near", sites=[
        mp.site("Far", mp.destination(*paris, 10.0, 300.0)), mp.site("Near", mp.destination(*paris, 10.0, 120.0))]))
    mp.put(store, mp.record("NCT90000021", "Middle", sites=[mp.site("Mid", mp.destination(*paris, 99.0, 80.0))]))
    hits = store.search("", near=paris, within=1000)
    assert [(h.registry_id, round(h.distance_km or 0, 3)) for h in hits] == [
        ("NCT90000021", 80.0), ("NCT90000020", 120.0)]
    assert store.search("", near=paris, within=79.9) == []
    ranked = store.search("far", near=paris, within=1000)  # with words: by score, the distance beside
    assert [(h.registry_id, round(h.distance_km or 0, 3)) for h in ranked] == [("NCT90000020", 120.0)]
    assert all(h.distance_km is None for h in store.search("far"))  # no place asked: no distance


@pytest.mark.parametrize(("near", "km", "found"), [
    ("-16.85,179.95", 11.0, [mp.ISLAND]),   # west of the antimeridian, the site east of it (10.6 km)
    ("-16.85,-179.99", 5.0, [mp.ISLAND]),   # east of it too: 4.3 km
    ("-16.85,179.95", 10.0, []),
    ("-16.85,-180", 6.0, [mp.ISLAND]),      # -180 is 180
    ("-16.85,180", 6.0, [mp.ISLAND]),
])
def test_a_circle_across_the_antimeridian_finds_sites_on_both_sides(filled, near, km, found):
    assert _ids(filled.search("", near=near, within=km)) == found


@pytest.mark.parametrize(("near", "km", "found"), [
    ("90,0", 5.01, [mp.ARCTIC]),            # the pole itself: every longitude
    ("89.99,-90", 6.2, [mp.ARCTIC]),       # across the pole from the site (at longitude 90): 6.1 km
    ("89.99,-90", 6.0, []),
    ("-90,0", 20000, [mp.ISLAND, mp.LIVER]),  # all but the North Pole's site, 20,010 km away
])
def test_a_circle_reaching_a_pole_spans_every_longitude(filled, near, km, found):
    hits = filled.search("", near=near, within=km)
    assert sorted(_ids(hits)) == sorted(found)


def test_records_without_coordinates_never_match(filled):
    everywhere = {h.registry_id for h in filled.search("", near="0,0", within=20000, limit=100)}
    assert mp.TEXT_ONLY not in everywhere and everywhere == {mp.LIVER, mp.ISLAND, mp.ARCTIC}
    assert mp.TEXT_ONLY in {h.registry_id for h in filled.search("", limit=100)}


def test_site_rows_keep_only_real_coordinates():
    rec = mp.record("NCT90000030", "Odd", sites=[
        mp.site("A", (10.0, 20.0)), mp.site("A again", (10.0, 20.0)), mp.site("No lon", None),
        {**mp.site("Half", None), "latitude": 5.0}, {**mp.site("Off the map", None), "latitude": 95.0,
                                                     "longitude": 0.0}]).model_dump()
    assert facets.site_rows(rec) == [{"registry_id": "NCT90000030", "latitude": 10.0, "longitude": 20.0}]


@pytest.mark.parametrize(("near", "within", "words"), [
    ("abc", 5, "is not a place: give LAT,LON in decimal degrees, latitude first"),
    ("31.2", 5, "is not a place"),
    ("1,2,3", 5, "is not a place"),
    ("nan,0", 5, "is not a place"),
    ("inf,0", 5, "is not a place"),
    ("1_0,2", 5, "is not a place"),
    ("121.47,31.23", 5, "the latitude 121.47 is not -90 to 90"),
    ("31.23,181", 5, "the longitude 181 is not -180 to 180"),
    ("31.23,121.47", "0", "out of range: give kilometres, a number above 0 to 20000"),
    ("31.23,121.47", "-5", "out of range"),
    ("31.23,121.47", "20000.5", "out of range"),
    ("31.23,121.47", "ten", "is not a distance: give kilometres"),
    ("31.23,121.47", math.nan, "out of range"),
    ("31.23,121.47", None, "needs within: give the distance from it too"),
    (None, 5, "needs near: give the point to measure from too"),
    ("", "5", "near is empty: give LAT,LON"),  # given empty: not "anywhere"
    ("  ", None, "near is empty"),
    ("31.23,121.47", " ", "within is empty: give kilometres"),
])
def test_a_place_or_distance_that_is_none_is_refused_saying_what_to_give(near, within, words):
    with pytest.raises(InvalidPlaceError) as refused:
        query(near=near, within=within)
    assert words in str(refused.value) and "\n" not in str(refused.value)


def test_the_bounds_of_a_place_are_accepted():
    for near, within in (("90,180", "20000"), ("-90,-180", "0.001"), (" +31.5 , -0.5 ", " 5 "), (".5,-.5", 1)):
        assert query(near=near, within=within).near is not None


# --- the geometry -------------------------------------------------------------------------

def test_distances_are_great_circle_kilometres():
    paris, london = (48.8566, 2.3522), (51.5074, -0.1278)
    assert geo.distance_km(*paris, *london) == pytest.approx(343.5, abs=0.5)
    assert geo.distance_km(0, 179.9, 0, -179.9) == pytest.approx(22.24, abs=0.01)
    assert geo.distance_km(0, 0, 0, 180) == pytest.approx(math.pi * geo.EARTH_KM)


def test_the_box_splits_across_the_antimeridian_and_opens_at_the_poles():
    east = geo.box(-16.85, 179.95, 50)
    assert east.lon_ranges is not None and len(east.lon_ranges) == 2
    (w1, e1), (w2, e2) = east.lon_ranges
    assert e1 == 180.0 and w2 == -180.0 and -180 < e2 < -179 and 179 < w1 < 179.95
    west = geo.box(-16.85, -179.95, 50)
    assert west.lon_ranges is not None and len(west.lon_ranges) == 2
    assert geo.box(89.99, 0, 5).lon_ranges is None and geo.box(89.99, 0, 5).lat_high == 90.0
    assert geo.box(-89.99, 0, 5).lon_ranges is None and geo.box(-89.99, 0, 5).lat_low == -90.0
    middle = geo.box(48.8566, 2.3522, 50)
    assert middle.lon_ranges is not None and len(middle.lon_ranges) == 1


@pytest.mark.parametrize("centre", [(48.8566, 2.3522), (-16.85, 179.95), (70.0, -179.0), (-60.0, 10.0)])
def test_every_point_within_the_radius_is_inside_the_box(centre):
    km = 300.0
    bounds = geo.box(*centre, km)
    for bearing in range(0, 360, 5):
        lat, lon = mp.destination(*centre, float(bearing), km * 0.999)
        assert bounds.lat_low <= lat <= bounds.lat_high
        assert bounds.lon_ranges is None or any(w <= lon <= e for w, e in bounds.lon_ranges), (bearing, lat, lon)
