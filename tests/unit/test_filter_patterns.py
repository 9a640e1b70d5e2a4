"""FilterCriteria evaluation, checked against the examples of AWS's own documentation.

Examples come from AWS Lambda's "Control which events Lambda sends to your function"
(comparison-operator table, SQS and DynamoDB sections) and from EventBridge's "Content
filtering in event patterns", whose rules Lambda shares. Every case asserts the exact
boolean, so a wrong operator fails loudly.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from workshop.aws.filter_patterns import (
    AWS_INVALID_PATTERN_MESSAGE,
    InvalidFilterPattern,
    matches,
    parse_filter_criteria,
    record_passes,
    record_view,
)


def accepted(pattern: dict[str, Any]) -> dict[str, Any]:
    """The pattern as CreateEventSourceMapping would store it (validated on the way)."""
    return parse_filter_criteria({"Filters": [{"Pattern": json.dumps(pattern)}]})[0]


def check(pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    assert matches(accepted(pattern), event) is expected


# ----------------------------------------------------------- Lambda's comparison operators


@pytest.mark.parametrize(
    "event, expected",
    [
        ({"UserID": None}, True),
        ({"UserID": "u-1"}, False),
        ({"UserID": "null"}, False),  # the string "null" is not JSON null
        ({}, False),  # null matches an explicit null, not a missing field
    ],
)
def test_null(event, expected):
    check({"UserID": [None]}, event, expected)


@pytest.mark.parametrize(
    "event, expected",
    [
        ({"LastName": ""}, True),
        ({"LastName": "Doe"}, False),
        ({"LastName": None}, False),
        ({}, False),
    ],
)
def test_empty(event, expected):
    check({"LastName": [""]}, event, expected)


@pytest.mark.parametrize(
    "event, expected",
    [
        ({"Name": "Alice"}, True),
        ({"Name": "alice"}, False),  # exact, character by character
        ({"Name": "Alice "}, False),
        ({"Name": "Bob"}, False),
        ({"name": "Alice"}, False),  # field names are case-sensitive too
    ],
)
def test_equals(event, expected):
    check({"Name": ["Alice"]}, event, expected)


@pytest.mark.parametrize(
    "event, expected",
    [
        ({"Name": "Alice"}, True),
        ({"Name": "ALICE"}, True),
        ({"Name": "Alicia"}, False),
        ({"Name": 7}, False),  # string fields only
    ],
)
def test_equals_ignore_case(event, expected):
    check({"Name": [{"equals-ignore-case": "alice"}]}, event, expected)


@pytest.mark.parametrize(
    "event, expected",
    [
        ({"Location": "New York", "Day": "Monday"}, True),
        ({"Location": "New York", "Day": "Tuesday"}, False),
        ({"Location": "Boston", "Day": "Monday"}, False),
        ({"Location": "New York"}, False),
    ],
)
def test_and_across_fields(event, expected):
    check({"Location": ["New York"], "Day": ["Monday"]}, event, expected)


@pytest.mark.parametrize(
    "event, expected",
    [
        ({"PaymentType": "Credit"}, True),
        ({"PaymentType": "Debit"}, True),
        ({"PaymentType": "Cash"}, False),
    ],
)
def test_or_within_a_field(event, expected):
    check({"PaymentType": ["Credit", "Debit"]}, event, expected)


@pytest.mark.parametrize(
    "event, expected",
    [
        ({"Location": "New York", "Day": "Friday"}, True),
        ({"Location": "Boston", "Day": "Monday"}, True),
        ({"Location": "Boston", "Day": "Friday"}, False),
        ({}, False),
    ],
)
def test_or_across_fields(event, expected):
    check({"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}, event, expected)


@pytest.mark.parametrize(
    "detail, expected",
    [
        ({"c-count": 0, "d-count": 0, "x-limit": 9.018e2}, True),  # d-count < 10
        ({"c-count": 3, "d-count": 10, "x-limit": 0}, True),  # 0 < c-count <= 5
        ({"c-count": 0, "d-count": 10, "x-limit": 301.8}, True),  # x-limit = 3.018e2
        ({"c-count": 0, "d-count": 10, "x-limit": 9.018e2}, False),
    ],
)
def test_or_nested_with_numeric_rules(detail, expected):
    """EventBridge's ``$or`` example, nested under ``detail``."""
    pattern = {
        "detail": {
            "$or": [
                {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                {"d-count": [{"numeric": ["<", 10]}]},
                {"x-limit": [{"numeric": ["=", 3.018e2]}]},
            ]
        }
    }
    check(pattern, {"detail": detail}, expected)


@pytest.mark.parametrize(
    "event, expected",
    [
        ({"Weather": "Sunny"}, True),
        ({"Weather": "Raining"}, False),
        ({"Weather": None}, True),  # anything-but accepts any present value, null included
        ({"Weather": 3}, True),
        ({}, False),  # but not a missing field
    ],
)
def test_not_anything_but_list(event, expected):
    check({"Weather": [{"anything-but": ["Raining"]}]}, event, expected)


@pytest.mark.parametrize(
    "rule, value, expected",
    [
        ({"anything-but": "initializing"}, "pending", True),
        ({"anything-but": "initializing"}, "initializing", False),
        ({"anything-but": 123}, 789, True),
        ({"anything-but": 123}, 123, False),
        ({"anything-but": [100, 200, 300]}, 999, True),
        ({"anything-but": [100, 200, 300]}, 100, False),
        ({"anything-but": ["stopped", "overloaded"]}, "stopped", False),
        ({"anything-but": "101"}, 101, True),  # a string never excludes a number
    ],
)
def test_anything_but_single_values_and_lists(rule, value, expected):
    check({"detail": {"state": [rule]}}, {"detail": {"state": value}}, expected)


@pytest.mark.parametrize(
    "rule, value, expected",
    [
        ({"anything-but": {"prefix": "init"}}, "post-init", True),
        ({"anything-but": {"prefix": "init"}}, "init-prefix", False),
        ({"anything-but": {"prefix": "init"}}, 12, True),  # not a string, so not excluded
        ({"anything-but": {"prefix": "init"}}, None, True),
        ({"anything-but": {"prefix": ["init", "post"]}}, "post-init", False),
        ({"anything-but": {"suffix": ".txt"}}, "file.txt.bak", True),
        ({"anything-but": {"suffix": ".txt"}}, "file.txt", False),
        ({"anything-but": {"suffix": [".txt", ".jpg"]}}, "file.jpg", False),
        ({"anything-but": {"equals-ignore-case": "initializing"}}, "pending", True),
        ({"anything-but": {"equals-ignore-case": "initializing"}}, "INITIALIZING", False),
        ({"anything-but": {"equals-ignore-case": ["initializing", "stopped"]}}, "Stopped", False),
    ],
)
def test_anything_but_prefix_suffix_and_ignore_case(rule, value, expected):
    check({"detail": {"state": [rule]}}, {"detail": {"state": value}}, expected)


def test_anything_but_prefix_does_not_match_a_missing_field():
    check({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, {"detail": {}}, False)


@pytest.mark.parametrize(
    "price, expected",
    [
        (100, True),
        (100.0, True),
        (101, False),
        ("100", False),  # numeric matching needs a JSON number
        (None, False),
    ],
)
def test_numeric_equals(price, expected):
    check({"Price": [{"numeric": ["=", 100]}]}, {"Price": price}, expected)


@pytest.mark.parametrize(
    "price, expected",
    [
        (10, False),
        (10.5, True),
        (20, True),
        (20.01, False),
        (True, False),  # a JSON boolean is not a number
    ],
)
def test_numeric_range(price, expected):
    check({"Price": [{"numeric": [">", 10, "<=", 20]}]}, {"Price": price}, expected)


@pytest.mark.parametrize(
    "rule, value, expected",
    [
        (["<", 100], 99, True),
        (["<", 100], 100, False),
        (["<=", 100], 100, True),
        ([">", 100], 100, False),
        ([">", 100], 101, True),
        ([">=", 100], 100, True),
        ([">=", 100, "<", 200], 200, False),
        ([">", 0, "<=", 5], 3, True),
        ([">", 0, "<=", 5], 42, False),
        ([">", 100], 101.0, True),
    ],
)
def test_numeric_operators(rule, value, expected):
    check({"n": [{"numeric": rule}]}, {"n": value}, expected)


@pytest.mark.parametrize(
    "event, expected",
    [
        ({"ProductName": "Widget"}, True),
        ({"ProductName": None}, True),
        ({"ProductName": ""}, True),
        ({"Other": "x"}, False),
        ({"ProductName": []}, False),  # an empty array holds no value
        ({"ProductName": {"S": "Widget"}}, False),  # exists looks at leaves, not objects
    ],
)
def test_exists(event, expected):
    check({"ProductName": [{"exists": True}]}, event, expected)


@pytest.mark.parametrize(
    "event, expected",
    [
        ({"Other": "x"}, True),
        ({"ProductName": "Widget"}, False),
        ({"ProductName": None}, False),
        ({"ProductName": {"S": "Widget"}}, True),
    ],
)
def test_does_not_exist(event, expected):
    check({"ProductName": [{"exists": False}]}, event, expected)


def test_does_not_exist_below_a_missing_parent():
    """EventBridge's example: the path stops existing early, so the leaf does not exist."""
    pattern = {"detail": {"level1": {"level2:": {"level3": {"level4": [{"exists": False}]}}}}}
    check(pattern, {"detail": {"level1": {"level2": "l2 value"}}}, True)
    present = {"detail": {"level1": {"level2:": {"level3": {"level4": "l4 value"}}}}}
    check(pattern, present, False)


@pytest.mark.parametrize(
    "event, expected",
    [
        ({"Region": "us-east-1"}, True),
        ({"Region": "eu-west-1"}, False),
        ({"Region": "US-east-1"}, False),
        ({"Region": 1}, False),
    ],
)
def test_begins_with(event, expected):
    check({"Region": [{"prefix": "us-"}]}, event, expected)


@pytest.mark.parametrize(
    "event, expected",
    [
        ({"FileName": "image.png"}, True),
        ({"FileName": "image.PNG"}, False),
        ({"FileName": "image.jpg"}, False),
    ],
)
def test_ends_with(event, expected):
    check({"FileName": [{"suffix": ".png"}]}, event, expected)


@pytest.mark.parametrize(
    "pattern, value, expected",
    [
        ({"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}, "EvEnTb", True),
        ({"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}, "Lambda", False),
        ({"service": [{"suffix": {"equals-ignore-case": ".png"}}]}, "image.PNG", True),
        ({"service": [{"suffix": {"equals-ignore-case": ".png"}}]}, "image.jpg", False),
        ({"service": [{"prefix": ""}]}, "anything", True),
    ],
)
def test_prefix_and_suffix_ignoring_case(pattern, value, expected):
    check(pattern, {"service": value}, expected)


def test_booleans_match_exactly():
    check({"flag": [False]}, {"flag": False}, True)
    check({"flag": [False]}, {"flag": True}, False)
    check({"flag": [True]}, {"flag": 1}, False)


def test_equal_numbers_match_whatever_their_spelling():
    check({"number": [300]}, {"number": 300.0}, True)
    check({"number": [300]}, {"number": "300"}, False)


def test_several_operators_in_one_leaf_are_alternatives():
    check({"my_key": [{"exists": True}, {"prefix": "IGNORED"}]}, {"my_key": "my-value"}, True)
    check({"my_key": [{"prefix": "x"}, {"suffix": "value"}]}, {"my_key": "my-value"}, True)
    check({"my_key": [{"prefix": "x"}, {"suffix": "y"}]}, {"my_key": "my-value"}, False)


# --------------------------------------------------------------------- structure and arrays

RESOURCES_EVENT = {
    "resources": [
        "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b:autoScalingGroupName/ASGTerminate",
        "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
    ]
}
RESOURCES_PATTERN = {
    "resources": [
        "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
    ]
}


def test_an_array_field_matches_when_any_element_matches():
    check(RESOURCES_PATTERN, RESOURCES_EVENT, True)
    check(RESOURCES_PATTERN, {"resources": RESOURCES_EVENT["resources"][:1]}, False)
    check({"resources": [None]}, {"resources": []}, False)


def test_an_array_of_objects_matches_when_one_element_matches():
    event = {"detail": {"automations": [{"key1": "value1"}, {"id": "match-does-exist"}]}}
    check({"detail": {"automations": {"id": [{"exists": True}]}}}, event, True)
    check({"detail": {"automations": {"id": ["other"]}}}, event, False)


def test_fields_matched_inside_an_array_come_from_the_same_element():
    event = {"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]}
    check({"items": {"sku": ["a"], "qty": [1]}}, event, True)
    check({"items": {"sku": ["a"], "qty": [2]}}, event, False)


def test_nested_objects_recurse_and_missing_parents_do_not_match():
    event = {"dynamodb": {"Keys": {"Id": {"N": "101"}}}}
    check({"dynamodb": {"Keys": {"Id": {"N": ["101"]}}}}, event, True)
    check({"dynamodb": {"Keys": {"Id": {"N": ["102"]}}}}, event, False)
    check({"dynamodb": {"NewImage": {"Id": {"N": ["101"]}}}}, event, False)


def test_a_json_string_inside_an_event_is_not_parsed():
    check({"detail": {"my-key": ["my-value"]}}, {"detail": '{"my-key": "my-value"}'}, False)


# ------------------------------------------------------------------------------------ SQS


def sqs_record(body: str) -> dict[str, Any]:
    return {
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1545082649183",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1545082649185",
        },
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-west-2:123456789012:my-queue",
        "awsRegion": "us-west-2",
    }


def filters(*patterns: dict[str, Any]) -> list[dict[str, Any]]:
    return parse_filter_criteria({"Filters": [{"Pattern": json.dumps(p)} for p in patterns]})


def test_sqs_json_body_is_matched_as_an_object():
    body = '{\n "RecordNumber": 1234,\n "TimeStamp": "yyyy-mm-ddThh:mm:ss",\n "RequestCode": "AAAA"\n}'
    record = sqs_record(body)
    assert record_view("sqs", record)["body"] == {
        "RecordNumber": 1234,
        "TimeStamp": "yyyy-mm-ddThh:mm:ss",
        "RequestCode": "AAAA",
    }
    assert record["body"] == body  # the record itself is untouched
    assert record_passes(filters({"body": {"RequestCode": ["BBBB"]}}), "sqs", record) is False
    assert record_passes(filters({"body": {"RequestCode": ["AAAA"]}}), "sqs", record) is True
    assert record_passes(filters({"body": {"RecordNumber": [{"numeric": [">", 9999]}]}}), "sqs", record) is False
    assert record_passes(filters({"body": {"RecordNumber": [{"numeric": [">", 999]}]}}), "sqs", record) is True


def test_sqs_plain_text_body_fails_patterns_on_body_fields():
    record = sqs_record("plain-string")
    assert record_view("sqs", record)["body"] == "plain-string"
    assert record_passes(filters({"body": {"my-key": ["my-value"]}}), "sqs", record) is False


def test_sqs_plain_text_body_matches_a_plain_string_pattern():
    assert record_passes(filters({"body": ["plain-string"]}), "sqs", sqs_record("plain-string")) is True
    assert record_passes(filters({"body": [{"prefix": "Result: "}]}), "sqs", sqs_record("Result: ok")) is True
    assert record_passes(filters({"body": [{"prefix": "Result: "}]}), "sqs", sqs_record("Error: no")) is False


def test_sqs_json_body_does_not_match_a_plain_string_pattern():
    record = sqs_record(json.dumps({"valid-json-key": "plain-string"}))
    assert record_passes(filters({"body": ["plain-string"]}), "sqs", record) is False
    assert record_passes(filters({"body": [{"prefix": "{"}]}), "sqs", record) is False


def test_sqs_filters_without_body_see_the_metadata_of_any_body():
    pattern = filters({"attributes": {"ApproximateReceiveCount": ["1"]}})
    assert record_passes(pattern, "sqs", sqs_record("plain-string")) is True
    assert record_passes(pattern, "sqs", sqs_record('{"a": 1}')) is True


def test_sqs_scalar_json_body_is_parsed_too():
    record = sqs_record("123")
    assert record_view("sqs", record)["body"] == 123
    assert record_passes(filters({"body": [{"numeric": [">", 100]}]}), "sqs", record) is True
    assert record_passes(filters({"body": ["123"]}), "sqs", record) is False


# ------------------------------------------------------------------------------- DynamoDB


def stream_record(
    event_name: str, new: dict[str, Any] | None = None, old: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A Lambda DynamoDB Streams record (NEW_AND_OLD_IMAGES view)."""
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": 1678831218.0,
        "Keys": {"pk": {"S": "list#1"}},
        "SequenceNumber": "111",
        "SizeBytes": 26,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        dynamodb["NewImage"] = new
    if old is not None:
        dynamodb["OldImage"] = old
    return {
        "eventID": "1",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": dynamodb,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/lists/stream/2024-01-01T00:00:00.000",
    }


def item(count: int) -> dict[str, Any]:
    """A list item whose ``entries`` has ``count`` elements and whose ``entry_count`` says so."""
    return {
        "pk": {"S": "list#1"},
        "entries": {"L": [{"S": f"entry-{i}"} for i in range(count)]},
        "entry_count": {"N": str(count)},
    }


def test_dynamodb_record_view_is_the_record_itself():
    record = stream_record("INSERT", new=item(1))
    assert record_view("dynamodb", record) == record
    assert record_view("aws:dynamodb", record) == record


@pytest.mark.parametrize("event_name, expected", [("INSERT", True), ("MODIFY", False), ("REMOVE", False)])
def test_dynamodb_only_insert_events(event_name, expected):
    assert (
        record_passes(filters({"eventName": ["INSERT"]}), "dynamodb", stream_record(event_name, new=item(1)))
        is expected
    )


def test_dynamodb_filter_on_table_key():
    record = stream_record("INSERT", new={"CustomerName": {"S": "AnyCompany Industries"}})
    record["dynamodb"]["Keys"] = {"CustomerName": {"S": "AnyCompany Industries"}}
    pattern = {"dynamodb": {"Keys": {"CustomerName": {"S": ["AnyCompany Industries"]}}}}
    assert record_passes(filters(pattern), "dynamodb", record) is True
    record["dynamodb"]["Keys"]["CustomerName"]["S"] = "Other Corp"
    assert record_passes(filters(pattern), "dynamodb", record) is False


def test_dynamodb_exists_needs_the_type_key():
    record = stream_record("INSERT", new={"id": {"S": "a"}, "presentKey": {"S": "presentValue"}})
    with_type = {"dynamodb": {"NewImage": {"presentKey": {"S": [{"exists": True}]}}}}
    without_type = {"dynamodb": {"NewImage": {"presentKey": [{"exists": True}]}}}
    assert record_passes(filters(with_type), "dynamodb", record) is True
    assert record_passes(filters(without_type), "dynamodb", record) is False


def test_dynamodb_numbers_are_strings_so_numeric_filters_do_not_match_them():
    record = stream_record("MODIFY", new=item(10), old=item(9))
    numeric = {"dynamodb": {"NewImage": {"entry_count": {"N": [{"numeric": [">=", 10]}]}}}}
    assert record_passes(filters(numeric), "dynamodb", record) is False
    assert record_passes(filters({"dynamodb": {"NewImage": {"entry_count": {"N": ["10"]}}}}), "dynamodb", record)


@pytest.mark.parametrize("value, expected", [("42", True), ("101", False)])
def test_dynamodb_numeric_or_anything_but_on_n(value, expected):
    """Only the anything-but alternative can act on a string ``N``."""
    pattern = {"dynamodb": {"NewImage": {"numericFilter": {"N": [{"numeric": [">", 100]}, {"anything-but": "101"}]}}}}
    record = stream_record("INSERT", new={"id": {"S": "a"}, "numericFilter": {"N": value}})
    assert record_passes(filters(pattern), "dynamodb", record) is expected


def test_dynamodb_approximate_creation_time_is_a_number():
    pattern = {"dynamodb": {"ApproximateCreationDateTime": [{"numeric": [">", 0]}]}}
    assert record_passes(filters(pattern), "dynamodb", stream_record("INSERT", new=item(1))) is True


NINE_TO_TEN = {
    "eventName": ["MODIFY"],
    "dynamodb": {"NewImage": {"entry_count": {"N": ["10"]}}, "OldImage": {"entry_count": {"N": ["9"]}}},
}


@pytest.mark.parametrize(
    "record, expected",
    [
        (stream_record("MODIFY", new=item(10), old=item(9)), True),
        (stream_record("MODIFY", new=item(9), old=item(8)), False),
        (stream_record("MODIFY", new=item(11), old=item(10)), False),
        (stream_record("MODIFY", new=item(10), old=item(10)), False),  # another attribute changed
        (stream_record("MODIFY", new=item(9), old=item(10)), False),  # shrinking back is not growing
        (stream_record("INSERT", new=item(10)), False),
        (stream_record("REMOVE", old=item(9)), False),
    ],
    ids=["9->10", "8->9", "10->11", "10->10", "10->9", "insert-10", "remove-9"],
)
def test_workshop_list_growing_from_nine_to_ten(record, expected):
    assert record_passes(filters(NINE_TO_TEN), "dynamodb", record) is expected


# ---------------------------------------------------------------------- several filters


def test_filters_are_ored():
    patterns = filters({"eventName": ["INSERT"]}, {"eventName": ["REMOVE"]})
    assert record_passes(patterns, "dynamodb", stream_record("INSERT", new=item(1))) is True
    assert record_passes(patterns, "dynamodb", stream_record("REMOVE", old=item(1))) is True
    assert record_passes(patterns, "dynamodb", stream_record("MODIFY", new=item(2), old=item(1))) is False


@pytest.mark.parametrize("criteria", [None, {}, {"Filters": []}])
def test_no_filters_keep_every_record(criteria):
    assert parse_filter_criteria(criteria) == []
    assert record_passes(parse_filter_criteria(criteria), "sqs", sqs_record("anything")) is True


def test_parse_returns_the_patterns_as_json():
    pattern = {"eventName": ["MODIFY"], "dynamodb": {"NewImage": {"entry_count": {"N": ["10"]}}}}
    assert parse_filter_criteria({"Filters": [{"Pattern": json.dumps(pattern)}]}) == [pattern]


def test_unknown_source_is_refused():
    with pytest.raises(ValueError, match="kinesis"):
        record_view("kinesis", {})


# ------------------------------------------------------------------------------ validation


def refused(pattern_text: str, **kwargs: Any) -> str:
    with pytest.raises(InvalidFilterPattern) as caught:
        parse_filter_criteria({"Filters": [{"Pattern": pattern_text}]}, **kwargs)
    message = str(caught.value)
    assert message.startswith(AWS_INVALID_PATTERN_MESSAGE)
    assert caught.value.reason in message
    return message


@pytest.mark.parametrize(
    "text, reason",
    [
        ("simple string", "not valid JSON"),
        ('{"a": [1]', "not valid JSON"),
        ('{"a": [NaN]}', "NaN is not a JSON value"),
        ("null", "Filter is not an object"),
        ('["not", "an", "object"]', "Filter is not an object"),
        ("{}", "Empty objects are not allowed"),
    ],
)
def test_pattern_must_be_a_json_object(text, reason):
    assert reason in refused(text)


@pytest.mark.parametrize(
    "pattern, reason",
    [
        ({"eventName": "INSERT"}, '"eventName" must be an object or an array'),
        ({"int": 42}, '"int" must be an object or an array'),
        ({"eventSource": []}, "Empty arrays are not allowed"),
        ({"dynamodb": {}}, "Empty objects are not allowed"),
        ({"a": [[1]]}, "Match value must be String, number, true, false, or null"),
    ],
)
def test_leaves_must_be_non_empty_arrays(pattern, reason):
    message = refused(json.dumps(pattern))
    assert reason in message
    assert "Filters[0]" in message


@pytest.mark.parametrize(
    "rule, reason",
    [
        ({"contains": "x"}, "Unrecognized match type contains"),
        ({"EXISTS": True}, "Unrecognized match type EXISTS"),
        ({"NUMERIC": ["=", 5]}, "Unrecognized match type NUMERIC"),
        ({}, "Match expression name not found"),
        ({"prefix": "a", "suffix": "b"}, "Only one key allowed in match expression"),
        ({"wildcard": "S*e"}, "Unsupported match type wildcard"),
        ({"cidr": "10.0.0.0/24"}, "Unsupported match type cidr"),
    ],
)
def test_unknown_operators_are_refused(rule, reason):
    message = refused(json.dumps({"body": {"kind": [rule]}}))
    assert reason in message
    assert 'field "body.kind"' in message


@pytest.mark.parametrize(
    "spec, reason",
    [
        (10, "Value of numeric must be an array."),
        ([">", 0, ">", 0], "Bad numeric range operator: >"),
        ([">", 0, "<"], "Value of < must be numeric"),
        (["=", "10"], "Value of equals must be numeric"),
        ([">", True], "Value of > must be numeric"),
        (["~", 1], "Unrecognized numeric range operator: ~"),
        (["<", 5, ">", 0], "Too many elements in numeric expression"),
        (["=", 5, "<", 6], "Too many elements in numeric expression"),
        ([">", 0, "<", 5, 6], "Too many terms in numeric range expression"),
        ([], "numeric needs an operator then a number"),
    ],
)
def test_bad_numeric_specs_are_refused(spec, reason):
    assert reason in refused(json.dumps({"Price": [{"numeric": spec}]}))


@pytest.mark.parametrize(
    "rule, reason",
    [
        ({"anything-but": None}, "Value of anything-but must be an array or single string/number value."),
        ({"anything-but": ["stopped", None]}, "Inside anything but list, start|null|boolean is not supported."),
        ({"anything-but": ["stopped", 1]}, "mixed type is not supported"),
        ({"anything-but": {"prefix": ""}}, "Null prefix/suffix not allowed"),
        ({"anything-but": {"suffix": [123, ".txt"]}}, "prefix/suffix match pattern must be a string"),
        (
            {"anything-but": {"prefix": {"equals-ignore-case": "file"}}},
            "Value of anything-but must be an array or single string/number value.",
        ),
        ({"anything-but": {"equals-ignore-case": 123}}, "Inside anything-but/equals-ignore-case list"),
        ({"anything-but": {"wildcard": "*.jar"}}, "Unsupported anything-but pattern: wildcard"),
        ({"prefix": ["2022-07-13"]}, "prefix match pattern must be a string"),
        ({"suffix": 123}, "suffix match pattern must be a string"),
        ({"equals-ignore-case": ["a"]}, "equals-ignore-case match pattern must be a string"),
        ({"exists": "yes"}, "exists match pattern must be either true or false."),
    ],
)
def test_bad_operator_values_are_refused(rule, reason):
    assert reason in refused(json.dumps({"detail": {"state": [rule]}}))


@pytest.mark.parametrize(
    "pattern, reason",
    [
        ({"$or": [{"a": ["x"]}]}, "at least 2 Objects"),
        ({"$or": {"a": ["x"]}}, "It must be an Array"),
        ({"$or": [{"a": ["x"]}, "b"]}, "Only JSON object is allowed"),
        ({"$or": [{"a": ["x"]}, {"numeric": ["y"]}]}, "numeric is a reserved word"),
    ],
)
def test_bad_or_is_refused(pattern, reason):
    assert reason in refused(json.dumps(pattern))


def test_too_many_filters_are_refused():
    six = {"Filters": [{"Pattern": json.dumps({"eventName": [f"E{i}"]})} for i in range(6)]}
    with pytest.raises(InvalidFilterPattern, match="6 filters given, but an event source mapping allows at most 5"):
        parse_filter_criteria(six)
    assert len(parse_filter_criteria(six, max_filters=10)) == 6


def test_overlong_pattern_is_refused():
    long_value = "x" * 4100
    assert "the limit is 4096" in refused(json.dumps({"body": [long_value]}))


@pytest.mark.parametrize(
    "criteria, reason",
    [
        ({"Filters": {"Pattern": "{}"}}, "must be a list"),
        ({"Filters": [{}]}, 'Filters[0] needs a "Pattern" string'),
        ({"Filters": [{"Pattern": None}]}, 'Filters[0] needs a "Pattern" string'),
        ("not-a-dict", "FilterCriteria must be an object"),
    ],
)
def test_malformed_filter_criteria_is_refused(criteria, reason):
    with pytest.raises(InvalidFilterPattern) as caught:
        parse_filter_criteria(criteria)
    assert reason in str(caught.value)


def test_the_failing_filter_is_named():
    good = json.dumps({"eventName": ["INSERT"]})
    with pytest.raises(InvalidFilterPattern, match=r"Filters\[1\]"):
        parse_filter_criteria({"Filters": [{"Pattern": good}, {"Pattern": '{"eventName": "MODIFY"}'}]})
