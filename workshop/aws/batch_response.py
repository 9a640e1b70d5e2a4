"""Read a handler's partial batch response (FunctionResponseTypes: ReportBatchItemFailures).

AWS's rules: an empty or null response, or an empty or null ``batchItemFailures``, is a
complete success; a response that is not an object, or an item identifier that is
missing, empty or not in the batch, makes the whole batch a failure.
"""

from __future__ import annotations

import json
from collections.abc import Collection


def failed_items(payload: bytes, identifiers: Collection[str]) -> set[str] | None:
    """The identifiers the handler reported as failed; None when the whole batch failed."""
    try:
        response = json.loads(payload) if payload.strip() else None
    except ValueError:
        return None
    if response is None:
        return set()
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in identifiers:
            return None
        failed.add(identifier)
    return failed
