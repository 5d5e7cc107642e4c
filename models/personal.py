"""Personal contact details: which fields of the record they are, and the record without them.

Contacts are public registry data, kept as published by default. A deployment that must not
hold them sets ``TRIALMIRROR_PERSONAL_CONTACTS=false``; every record is then stored as
:func:`without_personal_contacts` gives it (the ingest runs apply it at one place, for
every source and every run). What a person is *for* stays: roles, affiliations, the
responsible party's type and organization.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from trialmirror.models.record import Record, path_tree

# Dotted record paths, as ADDED_FIELDS writes them: a list on the way applies the rest
# of the path to each of its items.
PERSONAL_FIELDS = (
    "contacts.central.name", "contacts.central.phone", "contacts.central.phone_ext",
    "contacts.central.email",
    "sites.contacts.name", "sites.contacts.phone", "sites.contacts.phone_ext", "sites.contacts.email",
    "contacts.officials.name",
    "sponsors.responsible_party.investigator_name", "sponsors.responsible_party.investigator_title",
    "sponsors.responsible_party.old_name_title",
    # The registry's note on unposted results names the responsible party as free text,
    # a person's "name, title, organization" whatever the party's type (9 corpus records:
    # "Jaimee Heffner, Associate Professor, ..." on a SPONSOR-type record).
    "annotations.unposted_responsible_party",
    # Who answers for the posted results (issue 16): its "title" names a person in more than
    # half of the 78 corpus records with results ("Dr. ..., MD"), a position or a team in
    # the others ("Chief Medical Officer"); the organization stays.
    "results.more_info.point_of_contact.title", "results.more_info.point_of_contact.email",
    "results.more_info.point_of_contact.phone", "results.more_info.point_of_contact.phone_ext",
)
# Drift flags at these paths hold a whole item, list or module that may carry the fields
# above (a contact object where a list goes is "coerced" with the object as its value; a
# module of another shape is "dropped" under the source's own path).
_HOLDERS = frozenset({
    "contacts", "contacts.central", "contacts.officials", "sites", "sites.contacts",
    "sponsors.responsible_party",
    "protocolSection.contactsLocationsModule", "protocolSection.sponsorCollaboratorsModule",
    # The results parser flags a section, module or object of another shape at its record path.
    "results", "results.more_info", "results.more_info.point_of_contact",
})
_FLAGGED = frozenset(PERSONAL_FIELDS) | _HOLDERS
# What a flag at one of those paths holds instead of the raw value (its path and action stay,
# so the drift is still counted).
LEFT_OUT = "(personal contact details left out)"


_PERSONAL = path_tree(PERSONAL_FIELDS)  # {"contacts": {"central": {"name": {}, ...}, ...}, ...}


def without_personal_contacts(record: Record) -> Record:
    """``record`` without the values of :data:`PERSONAL_FIELDS` (null), and without the raw
    value of a drift flag that may hold them. An item or section that loses its last value
    (a contact that had no role) is left out or null, as the parsers leave what says
    nothing; what holds no personal detail is not touched. Pure: the record given is not
    changed (it is frozen anyway)."""
    updates: dict[str, Any] = {}
    for key, below in _PERSONAL.items():
        value = getattr(record, key)
        cleared = _cleared(value, below)
        if cleared is not value:
            updates[key] = cleared
    if record.unmapped and any(flag["path"] in _FLAGGED for flag in record.unmapped):
        updates["unmapped"] = [
            {**flag, "value": LEFT_OUT} if flag["path"] in _FLAGGED else flag for flag in record.unmapped]
    return record.model_copy(update=updates) if updates else record


def _cleared(value: Any, tree: dict[str, Any]) -> Any:
    """``value`` with the leaves of ``tree`` null: ``value`` itself when it held none of
    them, None when nothing is left in it."""
    if value is None:
        return None
    if isinstance(value, list):
        items = [_cleared(v, tree) for v in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return [item for item in items if item is not None] or None
    if isinstance(value, BaseModel):  # a section (Contacts, Sponsors): copied, not validated again
        fields = {k: getattr(value, k) for k in type(value).model_fields}
        changed = {}
        for k, below in tree.items():
            new = None if not below else _cleared(fields[k], below)
            if new is not fields[k]:
                changed[k] = new
        if not changed:
            return value
        fields.update(changed)
        return value.model_copy(update=changed) if any(v is not None for v in fields.values()) else None
    if isinstance(value, dict):  # an item (a Contact, a Site, the ResponsibleParty)
        item = dict(value)
        for k, below in tree.items():
            if item.get(k) is not None:
                item[k] = None if not below else _cleared(item[k], below)
        if all(item[k] is value[k] for k in tree if k in value):
            return value
        return item if any(v is not None for v in item.values()) else None
    return value
