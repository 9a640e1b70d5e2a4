"""Which records a mapping's filters let through, evaluated the way AWS Lambda evaluates them."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from workshop.aws.filter_patterns.syntax import (
    COMPARE,
    IGNORE_CASE,
    MISSING,
    OR_KEY,
    Pattern,
    is_number,
    numeric_terms,
    refuse_constant,
)

# ----------------------------------------------------------------------------- matching


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """Whether one validated pattern matches one event (already in its filterable view)."""
    return _match_object(pattern, event)


def _match_object(pattern: Mapping[str, Any], node: Any) -> bool:
    """Match a pattern object against the record's value at the same place.

    An array of objects matches when one element satisfies the whole sub-pattern, so fields
    matched together come from the same element. A missing or non-object value behaves as an
    empty object: only ``{"exists": false}`` rules can match inside it.
    """
    if isinstance(node, list):
        elements = [element for element in _flatten(node) if isinstance(element, dict)]
        if elements:
            return any(_match_fields(pattern, element) for element in elements)
        return _match_fields(pattern, {})
    return _match_fields(pattern, node if isinstance(node, dict) else {})


def _match_fields(pattern: Mapping[str, Any], obj: Mapping[str, Any]) -> bool:
    for key, rule in pattern.items():
        if key == OR_KEY:
            matched = any(_match_fields(alternative, obj) for alternative in rule)
        elif isinstance(rule, dict):
            matched = _match_object(rule, obj.get(key, MISSING))
        else:
            matched = _match_leaf(rule, obj.get(key, MISSING))
        if not matched:
            return False
    return True


def _match_leaf(rules: list[Any], value: Any) -> bool:
    leaves = _leaf_values(value)
    if not leaves:  # absent, an object, or an empty array: nothing for a rule to compare
        return any(_is_absence(rule) for rule in rules)
    return any(_match_rule(rule, leaf) for rule in rules for leaf in leaves)


def _leaf_values(value: Any) -> list[Any]:
    if value is MISSING or isinstance(value, dict):
        return []
    if isinstance(value, list):
        return [leaf for element in value for leaf in _leaf_values(element)]
    return [value]


def _flatten(values: list[Any]) -> list[Any]:
    return [item for value in values for item in (_flatten(value) if isinstance(value, list) else [value])]


def _is_absence(rule: Any) -> bool:
    return isinstance(rule, dict) and rule.get("exists") is False


def _match_rule(rule: Any, leaf: Any) -> bool:
    if isinstance(rule, dict):
        ((name, argument),) = rule.items()
        return _OPERATOR_MATCHERS[name](argument, leaf)
    return _same_value(rule, leaf)


def _same_value(expected: Any, actual: Any) -> bool:
    """Exact match that keeps JSON types apart: ``"10"`` is not ``10`` and ``true`` is not ``1``."""
    if is_number(expected) and is_number(actual):
        return expected == actual
    return type(expected) is type(actual) and expected == actual


def _fold(text: str) -> str:
    return text.lower()


def _match_prefix(argument: str | Mapping[str, str], leaf: Any) -> bool:
    if not isinstance(leaf, str):
        return False
    if isinstance(argument, str):
        return leaf.startswith(argument)
    return _fold(leaf).startswith(_fold(argument[IGNORE_CASE]))


def _match_suffix(argument: str | Mapping[str, str], leaf: Any) -> bool:
    if not isinstance(leaf, str):
        return False
    if isinstance(argument, str):
        return leaf.endswith(argument)
    return _fold(leaf).endswith(_fold(argument[IGNORE_CASE]))


def _match_equals_ignore_case(argument: str, leaf: Any) -> bool:
    return isinstance(leaf, str) and _fold(leaf) == _fold(argument)


def _match_numeric(argument: list[Any], leaf: Any) -> bool:
    if not is_number(leaf):  # includes DynamoDB's string-encoded "N" values
        return False
    return all(COMPARE[op](leaf, bound) for op, bound in numeric_terms(argument))


def _match_exists(argument: bool, leaf: Any) -> bool:
    return argument  # reached only for a leaf that is present


def _match_anything_but(argument: Any, leaf: Any) -> bool:
    """Any present leaf, ``null`` and other types included, that is not excluded."""
    if isinstance(argument, dict):
        ((name, values),) = argument.items()
        listed = values if isinstance(values, list) else [values]
        if not isinstance(leaf, str):
            return True
        excluded = {"prefix": _match_prefix, "suffix": _match_suffix, IGNORE_CASE: _match_equals_ignore_case}[name]
        return not any(excluded(value, leaf) for value in listed)
    listed = argument if isinstance(argument, list) else [argument]
    return not any(_same_value(value, leaf) for value in listed)


_OPERATOR_MATCHERS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "prefix": _match_prefix,
    "suffix": _match_suffix,
    IGNORE_CASE: _match_equals_ignore_case,
    "anything-but": _match_anything_but,
    "numeric": _match_numeric,
    "exists": _match_exists,
}


# ------------------------------------------------------------------------------ records

_SOURCES: Final = {"sqs": "sqs", "aws:sqs": "sqs", "dynamodb": "dynamodb", "aws:dynamodb": "dynamodb"}


def record_view(source: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """What a filter pattern sees for one record of ``source`` (``"sqs"`` or ``"dynamodb"``).

    SQS: the Lambda SQS record with ``body`` replaced by the parsed JSON when the body is
    valid JSON. A plain-text body stays a string, so a pattern addressing fields inside
    ``body`` cannot match it (AWS drops such a message) while a pattern on ``body`` itself,
    such as ``{"body": [{"prefix": "ERROR"}]}``, can; likewise a JSON body never matches a
    plain-string pattern. DynamoDB: the Lambda stream record unchanged, in DynamoDB's typed
    JSON (``{"N": "10"}``). The record passed in is never modified.
    """
    kind = _SOURCES.get(source)
    if kind is None:
        raise ValueError(f"no filter view for event source {source!r}; expected one of {sorted(_SOURCES)}")
    if kind == "dynamodb":
        return dict(record)
    view = dict(record)
    body = view.get("body")
    if isinstance(body, str):
        try:
            view["body"] = json.loads(body, parse_constant=refuse_constant)
        except ValueError:
            pass  # not JSON: filters see the plain string
    return view


def record_passes(patterns: list[Pattern], source: str, record: Mapping[str, Any]) -> bool:
    """Whether Lambda keeps ``record``: filters are OR-ed, and no filters keep everything."""
    if not patterns:
        return True
    view = record_view(source, record)
    return any(matches(pattern, view) for pattern in patterns)
