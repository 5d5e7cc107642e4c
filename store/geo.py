"""Distances on the Earth, for the search by place (``near LAT,LON within KM``).

Pure functions; store/search.py turns them into SQL. A search by distance has two steps:

1. :func:`box`: the latitudes and longitudes a point within ``km`` of the centre can
   have, which an index on the site coordinates answers (``search_site``). Near a pole
   (the circle reaches it) every longitude can be; where the circle crosses the
   antimeridian (longitude ±180) the longitudes are two ranges, one on each side.
2. :func:`distance_km`: the exact great-circle distance (haversine, on a sphere of the
   Earth's mean radius) of each site the box kept; a record is within when any of its
   sites is. The sphere is off by at most ~0.5 % from the WGS 84 ellipsoid, less than
   the registry's geocoding error (a site is geocoded to its city, not its building).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_KM = 6371.0088  # the mean radius (IUGG)
SQLITE_FUNCTION = "tm_distance_km"  # distance_km, as the store registers it on SQLite
# The box is widened by this much (about 1 cm): it only narrows the candidates, and a
# site on its very edge must reach the exact test, whatever the rounding.
_MARGIN_DEGREES = 1e-7


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two points in degrees (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class Box:
    """The degrees within reach: ``lat_low`` to ``lat_high``, and the longitude ranges
    (one, or two across the antimeridian; None: every longitude, the circle reaches a pole)."""

    lat_low: float
    lat_high: float
    lon_ranges: tuple[tuple[float, float], ...] | None


def box(lat: float, lon: float, km: float) -> Box:
    """The bounding box of the points within ``km`` of (``lat``, ``lon``)."""
    reach = math.degrees(km / EARTH_KM) + _MARGIN_DEGREES  # the angular radius
    low, high = lat - reach, lat + reach
    if high >= 90.0 or low <= -90.0:  # the circle holds a pole: it spans every longitude
        return Box(max(low, -90.0), min(high, 90.0), None)
    # The widest longitude difference on the circle (where it touches a meridian).
    half = math.degrees(math.asin(min(1.0, math.sin(math.radians(reach)) / math.cos(math.radians(lat)))))
    if half >= 180.0:
        return Box(low, high, None)
    west, east = lon - half, lon + half
    if west < -180.0:
        return Box(low, high, ((west + 360.0, 180.0), (-180.0, east)))
    if east > 180.0:
        return Box(low, high, ((west, 180.0), (-180.0, east - 360.0)))
    return Box(low, high, ((west, east),))
