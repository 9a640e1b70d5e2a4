"""FilterCriteria of Lambda event-source mappings, evaluated the way AWS Lambda evaluates them.

moto stores a mapping's ``FilterCriteria`` but never applies it, so the emulator's pollers
ask this module which records a mapping lets through. Everything here is a pure function
over JSON-like values: no I/O, no AWS client.

Semantics follow AWS Lambda's "Control which events Lambda sends to your function" (filter
rule syntax), which defers to EventBridge's event-pattern rules:

* A pattern mirrors the record. An object descends into the record; an array is a *leaf*
  listing alternatives, and the leaf matches when any alternative matches the field.
* An event field holding an array matches when any of its elements matches; fields of a
  pattern are AND-ed; ``$or`` OR-s whole sub-patterns.
* Operators act on *leaf* values only (strings, numbers, booleans, ``null``). A field whose
  value is an object is not a leaf: ``{"exists": true}`` does not match it and
  ``{"exists": false}`` does, which is why DynamoDB patterns name the type key (``"S"``).
* ``numeric`` matches JSON numbers only. DynamoDB stream records carry numbers as strings
  in ``"N"``, so a numeric filter never matches them; match the exact string instead.
* A field absent from the record fails every rule except ``{"exists": false}``.
* Every pattern is validated when the mapping is created, as AWS does, and a bad one is
  refused with AWS's ``InvalidParameterValueException`` wording.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any, Final

AWS_INVALID_PATTERN_MESSAGE: Final = "Invalid filter pattern definition."
DEFAULT_MAX_FILTERS: Final = 5  # Lambda's default quota; a quota increase allows up to 10.
MAX_PATTERN_LENGTH: Final = 4096  # Length constraint of Filter.Pattern in the Lambda API.
OR_KEY: Final = "$or"

SUPPORTED_OPERATORS: Final = frozenset(
    {"prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists"}
)
# EventBridge operators that Lambda's filter rule syntax does not list: refusing them keeps
# workshop patterns to what a real event-source mapping is documented to accept.
UNSUPPORTED_OPERATORS: Final = {
    "wildcard": "wildcard matching is an EventBridge operator that Lambda event filtering does not document",
    "cidr": "IP address (cidr) matching is an EventBridge operator that Lambda event filtering does not document",
}
_IGNORE_CASE: Final = "equals-ignore-case"
_ANYTHING_BUT_MODIFIERS: Final = ("prefix", "suffix", _IGNORE_CASE)
_LOWER_BOUNDS: Final = (">", ">=")
_UPPER_BOUNDS: Final = ("<", "<=")
_COMPARE: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
_MISSING: Final = object()  # a field the record does not have (distinct from JSON null)

Pattern = dict[str, Any]


class InvalidFilterPattern(ValueError):
    """A FilterCriteria that CreateEventSourceMapping would refuse.

    ``str()`` starts with AWS's exact message, so the emulator can return it as the
    ``InvalidParameterValueException`` message; ``reason`` says what is wrong, because AWS's
    own message does not and workshop participants need to know.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"{AWS_INVALID_PATTERN_MESSAGE} Reason: {reason}")


# --------------------------------------------------------------------------- validation


def parse_filter_criteria(criteria: Mapping[str, Any] | None, *,
                          max_filters: int = DEFAULT_MAX_FILTERS) -> list[Pattern]:
    """Validate ``{"Filters": [{"Pattern": "<json>"}, ...]}`` and return the parsed patterns.

    Validation happens up front because AWS refuses a bad pattern at creation; a pattern
    accepted here and then never matching would silently discard every record.
    ``None``, ``{}`` or an empty ``Filters`` list mean "no filtering" (what UpdateEventSourceMapping
    with an empty FilterCriteria does) and give ``[]``.
    """
    if criteria is None:
        return []
    if not isinstance(criteria, Mapping):
        raise InvalidFilterPattern("FilterCriteria must be an object with a Filters list")
    filters = criteria.get("Filters")
    if filters is None:
        return []
    if not isinstance(filters, list):
        raise InvalidFilterPattern("FilterCriteria.Filters must be a list of {\"Pattern\": ...} objects")
    if len(filters) > max_filters:
        raise InvalidFilterPattern(
            f"{len(filters)} filters given, but an event source mapping allows at most {max_filters} "
            "(Lambda's default quota is 5, raisable to 10)"
        )
    return [_parse_filter(index, item) for index, item in enumerate(filters)]


def _parse_filter(index: int, item: Any) -> Pattern:
    where = f"Filters[{index}]"
    text = item.get("Pattern") if isinstance(item, Mapping) else None
    if not isinstance(text, str):
        raise InvalidFilterPattern(f"{where} needs a \"Pattern\" string holding a JSON object")
    if len(text) > MAX_PATTERN_LENGTH:
        raise InvalidFilterPattern(f"{where}.Pattern is {len(text)} characters long; "
                                   f"the limit is {MAX_PATTERN_LENGTH}")
    try:
        pattern = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as error:
        raise InvalidFilterPattern(f"{where}.Pattern is not valid JSON: {error}") from None
    if not isinstance(pattern, dict):
        raise InvalidFilterPattern(f"{where}.Pattern: Filter is not an object")
    _check_object(pattern, _Where(where, ""), inside_or=False)
    return pattern


def _refuse_constant(name: str) -> Any:
    """Python's json accepts NaN and Infinity; JSON (and AWS) does not."""
    raise ValueError(f"{name} is not a JSON value")


class _Where:
    """Where in which filter a problem is, for messages a participant can act on."""

    def __init__(self, filter_name: str, field: str) -> None:
        self.filter_name = filter_name
        self.field = field

    def child(self, key: str) -> _Where:
        return _Where(self.filter_name, f"{self.field}.{key}" if self.field else key)

    def fail(self, reason: str) -> InvalidFilterPattern:
        at = f", field \"{self.field}\"" if self.field else ""
        return InvalidFilterPattern(f"{reason} ({self.filter_name}{at})")


def _check_object(pattern: Mapping[str, Any], where: _Where, *, inside_or: bool) -> None:
    if not pattern:
        raise where.fail("Empty objects are not allowed")
    for key, value in pattern.items():
        if key == OR_KEY:
            _check_or(value, where)
            continue
        if inside_or and (key in SUPPORTED_OPERATORS or key in UNSUPPORTED_OPERATORS or key in _COMPARE):
            raise where.fail(f"{key} is a reserved word and cannot be a field name inside {OR_KEY}")
        field = where.child(key)
        if isinstance(value, dict):
            _check_object(value, field, inside_or=inside_or)
        elif isinstance(value, list):
            _check_leaf(value, field)
        else:
            raise field.fail(f"\"{key}\" must be an object or an array (a leaf lists its values, "
                             f"e.g. [{json.dumps(value)}])")


def _check_or(alternatives: Any, where: _Where) -> None:
    if not isinstance(alternatives, list):
        raise where.fail(f"It must be an Array followed with {OR_KEY}.")
    if not all(isinstance(alternative, dict) for alternative in alternatives):
        raise where.fail(f"Only JSON object is allowed in array of {OR_KEY} relationship.")
    if len(alternatives) < 2:
        raise where.fail(f"There must have at least 2 Objects in {OR_KEY} relationship.")
    for alternative in alternatives:
        _check_object(alternative, where, inside_or=True)


def _check_leaf(rules: list[Any], where: _Where) -> None:
    if not rules:
        raise where.fail("Empty arrays are not allowed")
    for rule in rules:
        if isinstance(rule, dict):
            _check_operator(rule, where)
        elif not (rule is None or isinstance(rule, (str, bool)) or _is_number(rule)):
            raise where.fail("Match value must be String, number, true, false, or null")


def _check_operator(rule: Mapping[str, Any], where: _Where) -> None:
    if not rule:
        raise where.fail("Match expression name not found")
    if len(rule) > 1:
        raise where.fail(f"Only one key allowed in match expression, got {sorted(rule)}")
    (name, argument), = rule.items()
    if name in UNSUPPORTED_OPERATORS:
        raise where.fail(f"Unsupported match type {name}: {UNSUPPORTED_OPERATORS[name]}")
    check = _OPERATOR_CHECKS.get(name)
    if check is None:
        raise where.fail(f"Unrecognized match type {name} (operators are case-sensitive; "
                         f"known: {', '.join(sorted(SUPPORTED_OPERATORS))})")
    check(argument, where)


def _check_affix(name: str) -> Callable[[Any, _Where], None]:
    """``prefix``/``suffix`` take a string, or ``{"equals-ignore-case": "<string>"}``."""

    def check(argument: Any, where: _Where) -> None:
        if isinstance(argument, str):
            return
        if (isinstance(argument, dict) and len(argument) == 1
                and isinstance(argument.get(_IGNORE_CASE), str)):
            return
        raise where.fail(f"{name} match pattern must be a string")

    return check


def _check_equals_ignore_case(argument: Any, where: _Where) -> None:
    if not isinstance(argument, str):
        raise where.fail(f"{_IGNORE_CASE} match pattern must be a string")


def _check_exists(argument: Any, where: _Where) -> None:
    if not isinstance(argument, bool):
        raise where.fail("exists match pattern must be either true or false.")


def _check_numeric(argument: Any, where: _Where) -> None:
    if not isinstance(argument, list):
        raise where.fail("Value of numeric must be an array.")
    try:
        numeric_terms(argument)
    except ValueError as error:
        raise where.fail(str(error)) from None


def numeric_terms(spec: list[Any]) -> list[tuple[str, float | int]]:
    """The ``(operator, bound)`` pairs of a ``numeric`` spec, or ValueError saying what is wrong.

    Accepted shapes are EventBridge's: ``["=", n]``, one bound (``[">", n]``, ``["<=", n]``...)
    or a range whose lower bound comes first: ``[">" | ">=", low, "<" | "<=", high]``.
    """
    if not spec or not isinstance(spec[0], str):
        raise ValueError(f"numeric needs an operator then a number, e.g. [\">\", 0]; got {json.dumps(spec)}")
    first = spec[0]
    if first not in _COMPARE:
        raise ValueError(f"Unrecognized numeric range operator: {first}")
    terms = [(first, _bound(spec, 1, first))]
    if len(spec) == 2:
        return terms
    if first not in _LOWER_BOUNDS:
        raise ValueError(f"Too many elements in numeric expression: {first} cannot start a range "
                         f"(a range is [\">\" or \">=\", low, \"<\" or \"<=\", high])")
    second = spec[2]
    if second not in _UPPER_BOUNDS:
        raise ValueError(f"Bad numeric range operator: {second}")
    terms.append((second, _bound(spec, 3, second)))
    if len(spec) > 4:
        raise ValueError("Too many terms in numeric range expression")
    return terms


def _bound(spec: list[Any], index: int, op: str) -> float | int:
    label = "equals" if op == "=" else op
    value = spec[index] if index < len(spec) else None
    if not _is_number(value):
        raise ValueError(f"Value of {label} must be numeric")
    if not math.isfinite(float(value)):
        raise ValueError(f"Cannot compare number : {value}")
    return value


def _check_anything_but(argument: Any, where: _Where) -> None:
    if isinstance(argument, dict):
        _check_anything_but_modifier(argument, where)
    elif isinstance(argument, list):
        if any(value is None or isinstance(value, (bool, dict, list)) for value in argument):
            raise where.fail("Inside anything but list, start|null|boolean is not supported.")
        strings = all(isinstance(value, str) for value in argument)
        numbers = all(_is_number(value) for value in argument)
        if not argument or not (strings or numbers):
            raise where.fail("Inside anything but list, either all values are number or string, "
                             "mixed type is not supported")
    elif not (isinstance(argument, str) or _is_number(argument)):
        raise where.fail("Value of anything-but must be an array or single string/number value.")


def _check_anything_but_modifier(argument: Mapping[str, Any], where: _Where) -> None:
    if len(argument) != 1:
        raise where.fail("Anything-But expression name not found" if not argument
                         else "Only one key allowed in anything-but expression")
    (name, values), = argument.items()
    if name in UNSUPPORTED_OPERATORS:
        raise where.fail(f"Unsupported anything-but pattern: {name}: {UNSUPPORTED_OPERATORS[name]}")
    if name not in _ANYTHING_BUT_MODIFIERS:
        raise where.fail(f"Unsupported anything-but pattern: {name}")
    if isinstance(values, dict) or values is None or isinstance(values, bool):
        raise where.fail("Value of anything-but must be an array or single string/number value.")
    listed = values if isinstance(values, list) else [values]
    if not listed or not all(isinstance(value, str) for value in listed):
        if name == _IGNORE_CASE:
            raise where.fail("Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.")
        raise where.fail("prefix/suffix match pattern must be a string")
    if name != _IGNORE_CASE and "" in listed:
        raise where.fail("Null prefix/suffix not allowed")


_OPERATOR_CHECKS: Final[dict[str, Callable[[Any, _Where], None]]] = {
    "prefix": _check_affix("prefix"),
    "suffix": _check_affix("suffix"),
    _IGNORE_CASE: _check_equals_ignore_case,
    "anything-but": _check_anything_but,
    "numeric": _check_numeric,
    "exists": _check_exists,
}


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
            matched = _match_object(rule, obj.get(key, _MISSING))
        else:
            matched = _match_leaf(rule, obj.get(key, _MISSING))
        if not matched:
            return False
    return True


def _match_leaf(rules: list[Any], value: Any) -> bool:
    leaves = _leaf_values(value)
    if not leaves:  # absent, an object, or an empty array: nothing for a rule to compare
        return any(_is_absence(rule) for rule in rules)
    return any(_match_rule(rule, leaf) for rule in rules for leaf in leaves)


def _leaf_values(value: Any) -> list[Any]:
    if value is _MISSING or isinstance(value, dict):
        return []
    if isinstance(value, list):
        return [leaf for element in value for leaf in _leaf_values(element)]
    return [value]


def _flatten(values: list[Any]) -> list[Any]:
    return [item for value in values
            for item in (_flatten(value) if isinstance(value, list) else [value])]


def _is_absence(rule: Any) -> bool:
    return isinstance(rule, dict) and rule.get("exists") is False


def _match_rule(rule: Any, leaf: Any) -> bool:
    if isinstance(rule, dict):
        (name, argument), = rule.items()
        return _OPERATOR_MATCHERS[name](argument, leaf)
    return _same_value(rule, leaf)


def _same_value(expected: Any, actual: Any) -> bool:
    """Exact match that keeps JSON types apart: ``"10"`` is not ``10`` and ``true`` is not ``1``."""
    if _is_number(expected) and _is_number(actual):
        return expected == actual
    return type(expected) is type(actual) and expected == actual


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fold(text: str) -> str:
    return text.lower()


def _match_prefix(argument: str | Mapping[str, str], leaf: Any) -> bool:
    if not isinstance(leaf, str):
        return False
    if isinstance(argument, str):
        return leaf.startswith(argument)
    return _fold(leaf).startswith(_fold(argument[_IGNORE_CASE]))


def _match_suffix(argument: str | Mapping[str, str], leaf: Any) -> bool:
    if not isinstance(leaf, str):
        return False
    if isinstance(argument, str):
        return leaf.endswith(argument)
    return _fold(leaf).endswith(_fold(argument[_IGNORE_CASE]))


def _match_equals_ignore_case(argument: str, leaf: Any) -> bool:
    return isinstance(leaf, str) and _fold(leaf) == _fold(argument)


def _match_numeric(argument: list[Any], leaf: Any) -> bool:
    if not _is_number(leaf):  # includes DynamoDB's string-encoded "N" values
        return False
    return all(_COMPARE[op](leaf, bound) for op, bound in numeric_terms(argument))


def _match_exists(argument: bool, leaf: Any) -> bool:
    return argument  # reached only for a leaf that is present


def _match_anything_but(argument: Any, leaf: Any) -> bool:
    """Any present leaf, ``null`` and other types included, that is not excluded."""
    if isinstance(argument, dict):
        (name, values), = argument.items()
        listed = values if isinstance(values, list) else [values]
        if not isinstance(leaf, str):
            return True
        excluded = {"prefix": _match_prefix, "suffix": _match_suffix, _IGNORE_CASE: _match_equals_ignore_case}[name]
        return not any(excluded(value, leaf) for value in listed)
    listed = argument if isinstance(argument, list) else [argument]
    return not any(_same_value(value, leaf) for value in listed)


_OPERATOR_MATCHERS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "prefix": _match_prefix,
    "suffix": _match_suffix,
    _IGNORE_CASE: _match_equals_ignore_case,
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
            view["body"] = json.loads(body, parse_constant=_refuse_constant)
        except ValueError:
            pass  # not JSON: filters see the plain string
    return view


def record_passes(patterns: list[Pattern], source: str, record: Mapping[str, Any]) -> bool:
    """Whether Lambda keeps ``record``: filters are OR-ed, and no filters keep everything."""
    if not patterns:
        return True
    view = record_view(source, record)
    return any(matches(pattern, view) for pattern in patterns)
