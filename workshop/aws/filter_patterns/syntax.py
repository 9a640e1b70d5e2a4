"""The filter rule syntax: what a FilterCriteria may say, checked as CreateEventSourceMapping checks it."""

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

SUPPORTED_OPERATORS: Final = frozenset({"prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists"})
# EventBridge operators that Lambda's filter rule syntax does not list: refusing them keeps
# workshop patterns to what a real event-source mapping is documented to accept.
UNSUPPORTED_OPERATORS: Final = {
    "wildcard": "wildcard matching is an EventBridge operator that Lambda event filtering does not document",
    "cidr": "IP address (cidr) matching is an EventBridge operator that Lambda event filtering does not document",
}
IGNORE_CASE: Final = "equals-ignore-case"
_ANYTHING_BUT_MODIFIERS: Final = ("prefix", "suffix", IGNORE_CASE)
_LOWER_BOUNDS: Final = (">", ">=")
_UPPER_BOUNDS: Final = ("<", "<=")
COMPARE: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
MISSING: Final = object()  # a field the record does not have (distinct from JSON null)

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


def parse_filter_criteria(
    criteria: Mapping[str, Any] | None, *, max_filters: int = DEFAULT_MAX_FILTERS
) -> list[Pattern]:
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
        raise InvalidFilterPattern('FilterCriteria.Filters must be a list of {"Pattern": ...} objects')
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
        raise InvalidFilterPattern(f'{where} needs a "Pattern" string holding a JSON object')
    if len(text) > MAX_PATTERN_LENGTH:
        raise InvalidFilterPattern(f"{where}.Pattern is {len(text)} characters long; the limit is {MAX_PATTERN_LENGTH}")
    try:
        pattern = json.loads(text, parse_constant=refuse_constant)
    except ValueError as error:
        raise InvalidFilterPattern(f"{where}.Pattern is not valid JSON: {error}") from None
    if not isinstance(pattern, dict):
        raise InvalidFilterPattern(f"{where}.Pattern: Filter is not an object")
    _check_object(pattern, _Where(where, ""), inside_or=False)
    return pattern


def refuse_constant(name: str) -> Any:
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
        at = f', field "{self.field}"' if self.field else ""
        return InvalidFilterPattern(f"{reason} ({self.filter_name}{at})")


def _check_object(pattern: Mapping[str, Any], where: _Where, *, inside_or: bool) -> None:
    if not pattern:
        raise where.fail("Empty objects are not allowed")
    for key, value in pattern.items():
        if key == OR_KEY:
            _check_or(value, where)
            continue
        if inside_or and (key in SUPPORTED_OPERATORS or key in UNSUPPORTED_OPERATORS or key in COMPARE):
            raise where.fail(f"{key} is a reserved word and cannot be a field name inside {OR_KEY}")
        field = where.child(key)
        if isinstance(value, dict):
            _check_object(value, field, inside_or=inside_or)
        elif isinstance(value, list):
            _check_leaf(value, field)
        else:
            raise field.fail(
                f'"{key}" must be an object or an array (a leaf lists its values, e.g. [{json.dumps(value)}])'
            )


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
        elif not (rule is None or isinstance(rule, (str, bool)) or is_number(rule)):
            raise where.fail("Match value must be String, number, true, false, or null")


def _check_operator(rule: Mapping[str, Any], where: _Where) -> None:
    if not rule:
        raise where.fail("Match expression name not found")
    if len(rule) > 1:
        raise where.fail(f"Only one key allowed in match expression, got {sorted(rule)}")
    ((name, argument),) = rule.items()
    if name in UNSUPPORTED_OPERATORS:
        raise where.fail(f"Unsupported match type {name}: {UNSUPPORTED_OPERATORS[name]}")
    check = _OPERATOR_CHECKS.get(name)
    if check is None:
        raise where.fail(
            f"Unrecognized match type {name} (operators are case-sensitive; "
            f"known: {', '.join(sorted(SUPPORTED_OPERATORS))})"
        )
    check(argument, where)


def _check_affix(name: str) -> Callable[[Any, _Where], None]:
    """``prefix``/``suffix`` take a string, or ``{"equals-ignore-case": "<string>"}``."""

    def check(argument: Any, where: _Where) -> None:
        if isinstance(argument, str):
            return
        if isinstance(argument, dict) and len(argument) == 1 and isinstance(argument.get(IGNORE_CASE), str):
            return
        raise where.fail(f"{name} match pattern must be a string")

    return check


def _check_equals_ignore_case(argument: Any, where: _Where) -> None:
    if not isinstance(argument, str):
        raise where.fail(f"{IGNORE_CASE} match pattern must be a string")


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
        raise ValueError(f'numeric needs an operator then a number, e.g. [">", 0]; got {json.dumps(spec)}')
    first = spec[0]
    if first not in COMPARE:
        raise ValueError(f"Unrecognized numeric range operator: {first}")
    terms = [(first, _bound(spec, 1, first))]
    if len(spec) == 2:
        return terms
    if first not in _LOWER_BOUNDS:
        raise ValueError(
            f"Too many elements in numeric expression: {first} cannot start a range "
            f'(a range is [">" or ">=", low, "<" or "<=", high])'
        )
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
    if not is_number(value):
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
        numbers = all(is_number(value) for value in argument)
        if not argument or not (strings or numbers):
            raise where.fail(
                "Inside anything but list, either all values are number or string, mixed type is not supported"
            )
    elif not (isinstance(argument, str) or is_number(argument)):
        raise where.fail("Value of anything-but must be an array or single string/number value.")


def _check_anything_but_modifier(argument: Mapping[str, Any], where: _Where) -> None:
    if len(argument) != 1:
        raise where.fail(
            "Anything-But expression name not found"
            if not argument
            else "Only one key allowed in anything-but expression"
        )
    ((name, values),) = argument.items()
    if name in UNSUPPORTED_OPERATORS:
        raise where.fail(f"Unsupported anything-but pattern: {name}: {UNSUPPORTED_OPERATORS[name]}")
    if name not in _ANYTHING_BUT_MODIFIERS:
        raise where.fail(f"Unsupported anything-but pattern: {name}")
    if isinstance(values, dict) or values is None or isinstance(values, bool):
        raise where.fail("Value of anything-but must be an array or single string/number value.")
    listed = values if isinstance(values, list) else [values]
    if not listed or not all(isinstance(value, str) for value in listed):
        if name == IGNORE_CASE:
            raise where.fail("Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.")
        raise where.fail("prefix/suffix match pattern must be a string")
    if name != IGNORE_CASE and "" in listed:
        raise where.fail("Null prefix/suffix not allowed")


_OPERATOR_CHECKS: Final[dict[str, Callable[[Any, _Where], None]]] = {
    "prefix": _check_affix("prefix"),
    "suffix": _check_affix("suffix"),
    IGNORE_CASE: _check_equals_ignore_case,
    "anything-but": _check_anything_but,
    "numeric": _check_numeric,
    "exists": _check_exists,
}


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
