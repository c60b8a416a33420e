"""The OpenAPI document as the service really answers, for schema-driven clients.

FastAPI documents every validation error as its own ``HTTPValidationError`` (a list under
``detail``), but this service answers every error in one shape (``ErrorOut``: a sentence
and a field -> message map, see api.validation_error_response and errors.py). Here the
generated document is corrected once, when first asked for: every ``HTTPValidationError``
reference becomes ``ErrorOut``, and the unused schemas go. Integer limits are written as
integers (pydantic writes ``le=2147483647`` as ``2147483647.0``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

_FASTAPI_ERROR = "#/components/schemas/HTTPValidationError"
_OUR_ERROR = "#/components/schemas/ErrorOut"


def _corrected(node: Any) -> Any:
    if isinstance(node, dict):
        fixed = {key: _corrected(value) for key, value in node.items()}
        if fixed.get("$ref") == _FASTAPI_ERROR:
            fixed["$ref"] = _OUR_ERROR
        for bound in ("minimum", "maximum"):
            value = fixed.get(bound)
            if isinstance(value, float) and value.is_integer() and fixed.get("type") == "integer":
                fixed[bound] = int(value)
        return fixed
    if isinstance(node, list):
        return [_corrected(item) for item in node]
    return node


def service_openapi(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with our error shape and exact integer limits."""
    document = get_openapi(title=app.title, version=app.version, description=app.description,
                           routes=app.routes)
    document = _corrected(document)
    schemas = document.get("components", {}).get("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    return document


def install(app: FastAPI) -> None:
    """Serve service_openapi(app) at /openapi.json, built once on first request."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = service_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
