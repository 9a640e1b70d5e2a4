"""Bucket policies evaluated with the request's condition keys, as S3 does for the workshop's cases.

moto evaluates a bucket policy without any request context, so a statement with a Condition
denies compliant and non-compliant requests alike. This evaluator sees the condition keys
the request carries — ``s3:x-amz-server-side-encryption``,
``s3:x-amz-server-side-encryption-aws-kms-key-id``, ``aws:SecureTransport`` — and supports
the operators the workshop teaches (String(Not)Equals, String(Not)Like, Null, Bool, and
their IfExists forms). An explicit Deny wins over any Allow.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

DENIED, PERMITTED, NEUTRAL = "DENIED", "PERMITTED", "NEUTRAL"


def request_context(headers: dict[str, str], secure: bool) -> dict[str, str]:
    """Condition keys of one S3 request (header names lower-case)."""
    context = {"aws:SecureTransport": "true" if secure else "false"}
    for header, key in (
        ("x-amz-server-side-encryption", "s3:x-amz-server-side-encryption"),
        ("x-amz-server-side-encryption-aws-kms-key-id", "s3:x-amz-server-side-encryption-aws-kms-key-id"),
    ):
        if headers.get(header):
            context[key] = headers[header]
    return context


def evaluate(policy: str | bytes, action: str, resource: str, context: dict[str, str]) -> str:
    document = json.loads(policy)
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    result = NEUTRAL
    for statement in statements:
        if not (
            _matches(statement.get("Action"), action, ignore_case=True)
            and _matches(statement.get("Resource"), resource)
            and _conditions_hold(statement.get("Condition") or {}, context)
        ):
            continue
        if statement.get("Effect") == "Deny":
            return DENIED
        result = PERMITTED
    return result


def _matches(patterns: Any, value: str, ignore_case: bool = False) -> bool:
    patterns = patterns if isinstance(patterns, list) else [patterns]
    for pattern in patterns:
        if not isinstance(pattern, str):
            continue
        if ignore_case:
            pattern, candidate = pattern.lower(), value.lower()
        else:
            candidate = value
        if fnmatch.fnmatchcase(candidate, pattern.replace("[", "[[]")):
            return True
    return False


def _conditions_hold(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    return all(_condition_holds(operator, tests, context) for operator, tests in conditions.items())


def _condition_holds(operator: str, tests: dict[str, Any], context: dict[str, str]) -> bool:
    if_exists = operator.endswith("IfExists")
    name = operator.removesuffix("IfExists")
    for key, expected in tests.items():
        expected = [
            str(e).lower() if isinstance(e, bool) else str(e)
            for e in (expected if isinstance(expected, list) else [expected])
        ]
        present = key in context
        actual = context.get(key)
        if name == "Null":
            if (not present) != (expected[0].lower() == "true"):
                return False
            continue
        if not present:
            if if_exists:
                continue
            if name.startswith(("StringNot", "ArnNot")):
                continue  # a negated operator holds when the key is missing
            return False
        if not _compare(name, actual, expected):
            return False
    return True


def _compare(name: str, actual: str, expected: list[str]) -> bool:
    if name == "StringEquals":
        return actual in expected
    if name == "StringNotEquals":
        return actual not in expected
    if name == "StringEqualsIgnoreCase":
        return actual.lower() in [e.lower() for e in expected]
    if name == "StringLike":
        return any(fnmatch.fnmatchcase(actual, e) for e in expected)
    if name == "StringNotLike":
        return not any(fnmatch.fnmatchcase(actual, e) for e in expected)
    if name == "Bool":
        return actual.lower() in [e.lower() for e in expected]
    return False  # an operator the emulator does not know never grants or denies by accident
