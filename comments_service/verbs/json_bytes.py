"""The JSON bytes the API answers: compact UTF-8 with ``<``, ``>`` and ``&`` escaped.

Escaped as ``\\u003c``, ``\\u003e`` and ``\\u0026`` (as Go's encoding/json and Rails do), so
the bytes stay inert if a consumer ever pastes them into HTML or a script block; every JSON
decoder reads the same values back. One function for the thread cache, the counts, the
202 answers and every error, on the fast path and the routes alike.
"""

from __future__ import annotations

import json
from typing import Any

_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False,
                            separators=(",", ":"))
# Outside strings JSON never contains these characters, so replacing them in the encoded
# text only ever touches string contents.
_INERT = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def dumps(content: Any) -> bytes:
    """content as the API's JSON bytes."""
    return _ENCODER.encode(content).translate(_INERT).encode("utf-8")
