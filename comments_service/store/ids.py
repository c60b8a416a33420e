"""The range of row ids the database can hold, for checking ids that come from outside.

Every table's id is an ``Integer`` column: PostgreSQL's INTEGER holds up to 2**31 - 1 and
refuses a larger parameter with an error (SQLite's rowid holds up to 2**63 - 1, and the
driver raises OverflowError past that). An id outside the range can name no row, so the
verbs answer "not found" (or the field's error) before it reaches a query, on either
backend alike: one range, so the API's documented limit is the same everywhere.
"""

from __future__ import annotations

MIN_ID = 1
MAX_ID = 2**31 - 1


def storable_id(value: object) -> bool:
    """True when value is an int (not a bool) that a row's id could be."""
    return (isinstance(value, int) and not isinstance(value, bool)
            and MIN_ID <= value <= MAX_ID)

