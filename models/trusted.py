"""What the record's models share: frozen sections, and the items they trust.

``Trusted[T]`` marks a field whose value the sources build only with typed accessors
(every value a str, int, float, bool or null by construction, every key a literal): it is
not validated again when a record is made (``check_trusted`` in models/record.py
validates it strictly; the test suite does so for every record a parser makes), and it is
written to JSON as the plain dicts and lists it is, with no Python call per field.
Pydantic's ``SkipValidation`` skips the check too but serializes through a Python
callback per field, which cost a tenth of storing a record with results
(benchmarks/README.md). Its JSON schema is the declared type's; ``model_dump``'s
``exclude_none`` leaves an item's own null keys in (they are the contract's keys).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler
from pydantic_core import core_schema

T = TypeVar("T")


class Unchecked:
    """The marker behind ``Trusted``: validation and serialization of any value as it is."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        declared = handler(source)  # for the JSON schema (API docs) alone
        return core_schema.any_schema(metadata={"pydantic_js_annotation_functions": [lambda _c, h: h(declared)]})


Trusted = Annotated[T, Unchecked]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
