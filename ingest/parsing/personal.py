"""Raw payloads without personal contact details, for the archive (``TRIALMIRROR_PERSONAL_CONTACTS=false``).

The archive keeps a payload's bytes before they are parsed. When personal contact details
must not be held, they come out of those bytes first, and what is archived (and parsed,
and addressed by its sha256) is the payload without them:

- **JSON** (ClinicalTrials.gov API v2 and its record history, whatever wraps the study):
  the keys of the API v2 fields the record's personal fields map from are removed,
  wherever they sit: ``name``, ``phone``, ``phoneExt`` and ``email`` of every
  ``centralContacts`` and ``locations[].contacts`` item, the ``name`` of every
  ``overallOfficials`` item, and ``investigatorFullName``, ``investigatorTitle`` and
  ``oldNameTitle`` of ``responsibleParty``, ``unpostedResponsibleParty`` of the unposted
  annotation, and ``title``, ``email``, ``phone`` and ``phoneExt`` of the results'
  ``pointOfContact``. Roles, affiliations and organizations stay. A holder of
  another shape (text where the list goes) is removed whole. A payload that holds none
  of them keeps its bytes as they came; one that does is written again as compact JSON
  (same keys in the same order, same values).
- **Anything else** (a mirror's HTML page, JSON that cannot be read): a page has no
  structure to find a person's name by, so only what has a recognisable shape is masked:
  e-mail addresses (``mailto:`` links included), ``tel:`` links, numbers written after
  a phone label (Telephone, Phone, Tel, Fax, Mobile), and international (``+44 20 ...``)
  and North American (``(404) 555-0100``) phone numbers. Names stay on a mirror page,
  and so does free text that mentions a person.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

CONTACT_KEYS = ("name", "phone", "phoneExt", "email")
# API v2 key of a holder -> the keys each of its items (or the object itself) loses.
_HOLDERS: dict[str, tuple[str, ...]] = {
    "centralContacts": CONTACT_KEYS,
    "contacts": CONTACT_KEYS,  # locations[].contacts
    "overallOfficials": ("name",),
    "responsibleParty": ("investigatorFullName", "investigatorTitle", "oldNameTitle"),
    "unpostedAnnotation": ("unpostedResponsibleParty",),
    # The results section's point of contact (resultsSection.moreInfoModule; the record's
    # results.more_info.point_of_contact): its title is most often a person's name.
    "pointOfContact": ("title", "email", "phone", "phoneExt"),
}
# Any of these in the bytes, or the JSON holds nothing to remove (and is not decoded).
_MARKERS = tuple(f'"{key}"'.encode() for key in _HOLDERS)

EMAIL_LEFT_OUT = b"[e-mail left out]"
PHONE_LEFT_OUT = b"[phone left out]"
_EMAIL = re.compile(rb"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_TEL_LINK = re.compile(rb"(?i)(tel:)[^\"'<>\s]+")
# A label, then whatever markup and punctuation sits between it and the number.
_LABELLED = re.compile(
    rb"(?i)(\b(?:tele?phone|phone|tel|fax|mobile)\b(?:\s*(?:no\.?|number|#))?"
    rb"(?:\s|:|\.|&nbsp;|&#160;|<[^>]{0,200}>){0,12})(\+?\(?\d[\d \t().\-/]{5,}\d)")
_INTERNATIONAL = re.compile(rb"(?<![\w+])\+\d{1,3}(?:[ \t.\-]?\(?\d{1,5}\)?){2,6}(?!\d)")
_NORTH_AMERICAN = re.compile(rb"(?<![\w\-])\(?\d{3}\)?[ \t.\-]\d{3}[ \t.\-]\d{4}(?![\w\-])")


def without_personal_details(raw: bytes) -> bytes:
    """The payload as the archive keeps it when personal contact details must not be held."""
    if raw.lstrip()[:1] in (b"{", b"["):
        if not any(marker in raw for marker in _MARKERS):
            return raw
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _strict_json(raw)
        return orjson.dumps(doc) if _strip(doc) else raw
    return masked(raw)


def _strict_json(raw: bytes) -> bytes:
    """JSON orjson refuses but Python reads (NaN, Infinity): its keys go all the same;
    anything else is masked as a page is."""
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return masked(raw)
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode() if _strip(doc) else raw


def _strip(node: Any) -> bool:
    """Remove the personal keys under ``node``, in place; whether anything was removed."""
    removed = False
    if isinstance(node, dict):
        for key in list(node):
            value = node[key]
            if key in _HOLDERS and value is not None:
                drop = _HOLDERS[key]
                items = value if isinstance(value, list) else [value]
                if not all(isinstance(i, dict) or i is None for i in items):
                    del node[key]  # a holder of another shape: nothing in it can be told apart
                    removed = True
                    continue
                for item in items:
                    for name in drop:
                        if item is not None and name in item:
                            del item[name]
                            removed = True
            if isinstance(value, (dict, list)):
                removed = _strip(value) or removed
    elif isinstance(node, list):
        for value in node:
            if isinstance(value, (dict, list)):
                removed = _strip(value) or removed
    return removed


def masked(raw: bytes) -> bytes:
    """Page bytes with e-mail addresses and phone numbers masked (names cannot be told apart)."""
    raw = _EMAIL.sub(EMAIL_LEFT_OUT, raw)
    raw = _TEL_LINK.sub(rb"\1" + PHONE_LEFT_OUT, raw)
    raw = _LABELLED.sub(lambda m: m[1] + PHONE_LEFT_OUT, raw)
    raw = _INTERNATIONAL.sub(lambda m: PHONE_LEFT_OUT if _digits(m[0]) >= 8 else m[0], raw)
    return _NORTH_AMERICAN.sub(PHONE_LEFT_OUT, raw)


def _digits(text: bytes) -> int:
    return sum(c in b"0123456789" for c in text)
