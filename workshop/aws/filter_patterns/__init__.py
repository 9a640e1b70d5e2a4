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

from workshop.aws.filter_patterns.matching import matches, record_passes, record_view
from workshop.aws.filter_patterns.syntax import (
    AWS_INVALID_PATTERN_MESSAGE,
    DEFAULT_MAX_FILTERS,
    MAX_PATTERN_LENGTH,
    InvalidFilterPattern,
    Pattern,
    numeric_terms,
    parse_filter_criteria,
)

__all__ = [
    "AWS_INVALID_PATTERN_MESSAGE",
    "DEFAULT_MAX_FILTERS",
    "MAX_PATTERN_LENGTH",
    "InvalidFilterPattern",
    "Pattern",
    "matches",
    "numeric_terms",
    "parse_filter_criteria",
    "record_passes",
    "record_view",
]
