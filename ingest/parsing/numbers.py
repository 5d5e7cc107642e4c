"""Result numbers the registry writes as text, read as numbers only when they are numbers.

"54", "30.", "-0.5", "1.2e-5" and "26,300" (thousands grouped by commas) are numbers; "NA",
"1,5" and "0,023" (a decimal comma, or a typo: two readings), "12 (3)", "<0.001" are not,
and give None: the text stays in the record, the number is never guessed. A p-value alone
may be a bound: "<0.001" reads as (0.001, "<"); one above 1 is no p-value (None).
"""

from __future__ import annotations

import math
import re

# Grouped thousands start with a digit other than 0: "0,023" is a decimal comma.
_NUMBER = re.compile(r"^\s*([-+]?(?:[1-9][0-9]{0,2}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|[-+]?\.[0-9]+)\s*$")
_BOUND = re.compile(r"^\s*(<=|>=|≤|≥|<|>|=)\s*(.+)$")
_MODIFIER = {"≤": "<=", "≥": ">=", "=": None}


def number(text: str | None) -> float | None:
    """``text`` as a float when it is written as one number, else None."""
    if text is None:
        return None
    if text.isascii() and "_" not in text and "," not in text:
        # Nearly every result number: float() reads exactly what the pattern below does
        # when no ASCII-only, underscore or comma rule is needed; ~6 times faster.
        try:
            value = float(text)
        except ValueError:
            return None
        return value if math.isfinite(value) else None
    match = _NUMBER.match(text)
    if match is None:
        return None
    value = float(match[1].replace(",", ""))
    return value if math.isfinite(value) else None


def count(text: str | None) -> int | None:
    """``text`` as a whole number of things ("54", "1,200"), else None ("12.5", "NA")."""
    value = number(text)
    if value is None or not value.is_integer() or "." in (text or "") or abs(value) >= 1e15:
        return None
    return int(value)


def bounded(text: str | None) -> tuple[float | None, str | None]:
    """A p-value's number and inequality: "0.04" -> (0.04, None), "<0.001" -> (0.001, "<"),
    "≤ .05" -> (0.05, "<="), "= 0.3" -> (0.3, None); (None, None) when it is not one."""
    if text is None:
        return None, None
    match = _BOUND.match(text)
    if match is None:
        value = number(text)
        return (value, None) if value is not None and 0 <= value <= 1 else (None, None)
    value = number(match[2])
    if value is None or not 0 <= value <= 1:
        return None, None
    return value, _MODIFIER.get(match[1], match[1])
