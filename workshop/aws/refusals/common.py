"""What every refusal shares: the :class:`Refusal` itself and readers of a request's loose values."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["Refusal", "as_list", "integer", "json_object", "strings", "validation_error"]


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    status: int = 400


def json_object(text: str | bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def strings(value: Any) -> list[str]:
    return [v for v in as_list(value) if isinstance(v, str) and v]


def validation_error(value: Any, field: str, constraint: str) -> Refusal:
    return Refusal(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}",
    )


def integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
