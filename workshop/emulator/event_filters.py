"""Lambda event filtering (FilterCriteria of event-source mappings), as AWS evaluates it.

A pattern mirrors the record's structure; each leaf is a list of alternatives, and a leaf
matches when any alternative matches the field (or, for a list-valued field, any of its
elements). Fields of a pattern are AND-ed, ``$or`` OR-s sub-patterns, and a record passes
a mapping when any of its filters matches. Operators: exact values (strings, numbers,
``null``, ``""``), ``prefix``, ``suffix``, ``equals-ignore-case``, ``anything-but``,
``numeric``, ``exists`` and ``wildcard``.
For SQS, a body that is a JSON object is matched as an object, any other body as a string.
"""

from __future__ import annotations

import json
import operator
import re
from typing import Any

MAX_FILTERS = 5
_MISSING = object()
_COMPARE = {"=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_OPERATORS = {"prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists", "wildcard"}


class InvalidFilterPattern(ValueError):
    """A pattern AWS would refuse (InvalidParameterValueException)."""


def parse_filter_criteria(criteria: dict[str, Any]) -> list[dict[str, Any]]:
    """Validate ``{"Filters": [{"Pattern": "<json>"}]}`` and return the parsed patterns."""
    filters = (criteria or {}).get("Filters") or []
    if len(filters) > MAX_FILTERS:
        raise InvalidFilterPattern(f"Invalid filter criteria: at most {MAX_FILTERS} filters are allowed, "
                                   f"got {len(filters)}.")
    patterns = []
    for number, item in enumerate(filters, 1):
        text = item.get("Pattern") if isinstance(item, dict) else None
        try:
            pattern = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            pattern = None
        if not isinstance(pattern, dict):
            raise InvalidFilterPattern(f"Invalid filter pattern definition (filter {number}): "
                                       "the pattern must be a JSON object.")
        _validate(pattern, number, path="")
        patterns.append(pattern)
    return patterns


def _validate(pattern: dict[str, Any], number: int, path: str) -> None:
    for key, condition in pattern.items():
        where = f"{path}.{key}" if path else key
        if key == "$or":
            if not isinstance(condition, list) or len(condition) < 2 or not all(isinstance(c, dict) for c in condition):
                raise InvalidFilterPattern(f"Invalid filter pattern definition (filter {number}): '$or' needs a "
                                           "list of at least two patterns.")
            for sub in condition:
                _validate(sub, number, path)
        elif isinstance(condition, dict):
            _validate(condition, number, where)
        elif isinstance(condition, list):
            for rule in condition:
                _validate_rule(rule, number, where)
        else:
            raise InvalidFilterPattern(f"Invalid filter pattern definition (filter {number}): the value of "
                                       f"'{where}' must be a list of values or an object, got {condition!r}.")


def _validate_rule(rule: Any, number: int, where: str) -> None:
    if not isinstance(rule, dict):
        return
    problem = None
    if len(rule) != 1:
        problem = "an operator object has exactly one operator"
    else:
        (name, operand), = rule.items()
        if name not in _OPERATORS:
            problem = f"unknown operator '{name}'"
        elif name == "exists" and not isinstance(operand, bool):
            problem = "'exists' takes true or false"
        elif name == "numeric" and not _valid_numeric(operand):
            problem = "'numeric' takes [\"<op>\", number] or a range such as [\">\", 0, \"<=\", 5]"
        elif name in ("prefix", "suffix") and not (isinstance(operand, str) or (
                isinstance(operand, dict) and set(operand) == {"equals-ignore-case"})):
            problem = f"'{name}' takes a string"
        elif name in ("equals-ignore-case", "wildcard") and not isinstance(operand, str):
            problem = f"'{name}' takes a string"
    if problem:
        raise InvalidFilterPattern(f"Invalid filter pattern definition (filter {number}, field '{where}'): {problem}.")


def _valid_numeric(operand: Any) -> bool:
    if not isinstance(operand, list) or not operand or len(operand) % 2:
        return False
    pairs = list(zip(operand[::2], operand[1::2]))
    return all(op in _COMPARE and isinstance(n, (int, float)) and not isinstance(n, bool)
               for op, n in pairs) and len(pairs) <= 2


def matches(pattern: dict[str, Any], event: Any) -> bool:
    """Whether one pattern matches one event (a JSON-like value)."""
    if not isinstance(event, dict):
        return False
    for key, condition in pattern.items():
        if key == "$or":
            if not any(matches(sub, event) for sub in condition):
                return False
            continue
        value = event.get(key, _MISSING)
        if isinstance(condition, dict):
            if not matches(condition, value):
                return False
        elif not _leaf_matches(condition, value):
            return False
    return True


def _leaf_matches(rules: list[Any], value: Any) -> bool:
    candidates = value if isinstance(value, list) else [value]
    for rule in rules:
        if isinstance(rule, dict) and "exists" in rule:
            if rule["exists"] == (value is not _MISSING):
                return True
            continue
        if value is _MISSING:
            continue
        if any(_rule_matches(rule, candidate) for candidate in candidates):
            return True
    return False


def _rule_matches(rule: Any, value: Any) -> bool:
    if not isinstance(rule, dict):
        return _equal(rule, value)
    (name, operand), = rule.items()
    if name == "prefix":
        return isinstance(value, str) and _affix(value, operand, str.startswith)
    if name == "suffix":
        return isinstance(value, str) and _affix(value, operand, str.endswith)
    if name == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == operand.casefold()
    if name == "wildcard":
        regex = "".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", operand))
        return isinstance(value, str) and re.fullmatch(regex, value, re.DOTALL) is not None
    if name == "numeric":
        return _numeric(operand, value)
    if name == "anything-but":
        return not _anything_but_excludes(operand, value)
    return False


def _affix(value: str, operand: Any, test: Any) -> bool:
    if isinstance(operand, dict):
        return test(value.casefold(), operand["equals-ignore-case"].casefold())
    return test(value, operand)


def _anything_but_excludes(operand: Any, value: Any) -> bool:
    if isinstance(operand, dict):  # {"anything-but": {"prefix": "x"}} and friends
        return _rule_matches(operand, value)
    excluded = operand if isinstance(operand, list) else [operand]
    return any(_equal(item, value) for item in excluded)


def _equal(expected: Any, value: Any) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return expected is value
    if isinstance(expected, (int, float)) and isinstance(value, (int, float)):
        return float(expected) == float(value)
    return type(expected) is type(value) and expected == value


def _numeric(operand: list[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False  # DynamoDB's N values are strings: numeric filters do not apply to them
    return all(_COMPARE[op](float(value), float(n)) for op, n in zip(operand[::2], operand[1::2]))


def record_view(source: str, record: dict[str, Any]) -> dict[str, Any]:
    """What the patterns see: for SQS the body parsed when it is a JSON object."""
    if source == "sqs":
        try:
            body = json.loads(record.get("body", ""))
        except ValueError:
            return record
        if isinstance(body, dict):
            return {**record, "body": body}
    return record


def record_passes(patterns: list[dict[str, Any]], source: str, record: dict[str, Any]) -> bool:
    """A record passes when there are no filters or any filter matches it."""
    if not patterns:
        return True
    view = record_view(source, record)
    return any(matches(pattern, view) for pattern in patterns)
