"""The kit's errors: the one exception meant for a person, and how to read an AWS error's code."""

from __future__ import annotations

from typing import Any

__all__ = ["WorkshopError", "error_code", "error_message"]


class WorkshopError(Exception):
    """A problem the user can fix; command-line tools print its message as one line."""


def error_code(error: Any) -> str:
    """The AWS error code of a botocore ``ClientError`` (``""`` when the response has none)."""
    return error.response.get("Error", {}).get("Code", "")


def error_message(error: Any) -> str:
    """The AWS error message of a botocore ``ClientError`` (``""`` when the response has none)."""
    return error.response.get("Error", {}).get("Message", "")
