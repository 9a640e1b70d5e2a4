"""Lambda event filtering, operator by operator, with the examples of AWS's documentation."""

import json

import pytest

from workshop.emulator.event_filters import InvalidFilterPattern, matches, parse_filter_criteria, record_passes

EVENT = {
    "name": "Alice", "city": "Seattle", "rating": 4.5, "count": 10, "empty": "", "nothing": None,
    "tags": ["red", "blue"], "nested": {"level": {"deep": "value"}}, "flag": True,
}


@pytest.mark.parametrize("pattern, expected", [
    ({"name": ["Alice"]}, True),
    ({"name": ["Bob", "Alice"]}, True),
    ({"name": ["alice"]}, False),
    ({"name": [{"equals-ignore-case": "alice"}]}, True),
    ({"nothing": [None]}, True),
    ({"empty": [""]}, True),
    ({"empty": [None]}, False),
    ({"missing": [None]}, False),
    ({"count": [10]}, True),
    ({"count": ["10"]}, False),
    ({"flag": [True]}, True),
    ({"tags": ["blue"]}, True),
    ({"tags": ["green"]}, False),
    ({"city": [{"prefix": "Sea"}]}, True),
    ({"city": [{"prefix": {"equals-ignore-case": "sea"}}]}, True),
    ({"city": [{"suffix": "tle"}]}, True),
    ({"city": [{"suffix": "ttl"}]}, False),
    ({"city": [{"wildcard": "S*le"}]}, True),
    ({"city": [{"anything-but": ["Seattle"]}]}, False),
    ({"city": [{"anything-but": "Portland"}]}, True),
    ({"city": [{"anything-but": {"prefix": "Sea"}}]}, False),
    ({"rating": [{"numeric": [">", 4]}]}, True),
    ({"rating": [{"numeric": [">", 0, "<=", 4]}]}, False),
    ({"rating": [{"numeric": ["=", 4.5]}]}, True),
    ({"name": [{"numeric": [">", 0]}]}, False),
    ({"name": [{"exists": True}]}, True),
    ({"missing": [{"exists": False}]}, True),
    ({"name": [{"exists": False}]}, False),
    ({"nested": {"level": {"deep": ["value"]}}}, True),
    ({"nested": {"level": {"deep": ["other"]}}}, False),
    ({"missing": {"level": ["x"]}}, False),
    ({"name": ["Alice"], "city": ["Portland"]}, False),
    ({"$or": [{"city": ["Portland"]}, {"count": [{"numeric": [">=", 10]}]}]}, True),
    ({"$or": [{"city": ["Portland"]}, {"count": [{"numeric": ["<", 10]}]}]}, False),
])
def test_operators(pattern, expected):
    assert matches(pattern, EVENT) is expected


def _sqs(body):
    return {"messageId": "1", "body": body, "eventSource": "aws:sqs"}


def test_sqs_json_body_is_matched_as_an_object_and_plain_text_as_a_string():
    by_field = parse_filter_criteria({"Filters": [{"Pattern": json.dumps({"body": {"kind": ["paid"]}})}]})
    assert record_passes(by_field, "sqs", _sqs('{"kind": "paid"}'))
    assert not record_passes(by_field, "sqs", _sqs('{"kind": "free"}'))
    assert not record_passes(by_field, "sqs", _sqs("kind paid"))
    by_text = parse_filter_criteria({"Filters": [{"Pattern": json.dumps({"body": [{"prefix": "URGENT"}]})}]})
    assert record_passes(by_text, "sqs", _sqs("URGENT: restock"))
    assert not record_passes(by_text, "sqs", _sqs('{"kind": "paid"}'))


def _change(name, old=None, new=None):
    record = {"eventName": name, "dynamodb": {"Keys": {"id": {"S": "a"}}}}
    if old is not None:
        record["dynamodb"]["OldImage"] = {"id": {"S": "a"}, "entry_count": {"N": str(old)}}
    if new is not None:
        record["dynamodb"]["NewImage"] = {"id": {"S": "a"}, "entry_count": {"N": str(new)}}
    return record


def test_the_labs_nine_to_ten_transition_filter():
    pattern = {"eventName": ["MODIFY"], "dynamodb": {"OldImage": {"entry_count": {"N": ["9"]}},
                                                     "NewImage": {"entry_count": {"N": ["10"]}}}}
    patterns = parse_filter_criteria({"Filters": [{"Pattern": json.dumps(pattern)}]})
    assert record_passes(patterns, "dynamodb", _change("MODIFY", 9, 10))
    for other in (_change("MODIFY", 8, 9), _change("MODIFY", 10, 11), _change("INSERT", new=10),
                  _change("REMOVE", old=9)):
        assert not record_passes(patterns, "dynamodb", other)


def test_numeric_filters_do_not_apply_to_dynamodb_string_numbers():
    pattern = {"dynamodb": {"NewImage": {"entry_count": {"N": [{"numeric": [">", 5]}]}}}}
    assert not record_passes([pattern], "dynamodb", _change("INSERT", new=10))


def test_filters_are_or_ed_and_no_filters_pass_everything():
    patterns = parse_filter_criteria({"Filters": [{"Pattern": '{"eventName": ["INSERT"]}'},
                                                  {"Pattern": '{"eventName": ["REMOVE"]}'}]})
    assert record_passes(patterns, "dynamodb", _change("REMOVE", old=1))
    assert not record_passes(patterns, "dynamodb", _change("MODIFY", 1, 2))
    assert record_passes([], "dynamodb", _change("MODIFY", 1, 2))


@pytest.mark.parametrize("pattern, message", [
    ("{not json", "must be a JSON object"),
    ("[1, 2]", "must be a JSON object"),
    ('{"body": "paid"}', "must be a list of values or an object"),
    ('{"body": [{"shout": "x"}]}', "unknown operator 'shout'"),
    ('{"n": [{"numeric": [">"]}]}', "'numeric' takes"),
    ('{"n": [{"numeric": ["~", 1]}]}', "'numeric' takes"),
    ('{"n": [{"exists": "yes"}]}', "'exists' takes true or false"),
    ('{"n": [{"prefix": 3}]}', "'prefix' takes a string"),
    ('{"$or": [{"a": [1]}]}', "'$or' needs a list of at least two patterns"),
])
def test_invalid_patterns_are_refused_with_the_reason(pattern, message):
    with pytest.raises(InvalidFilterPattern) as error:
        parse_filter_criteria({"Filters": [{"Pattern": pattern}]})
    assert "Invalid filter pattern definition" in str(error.value) and message in str(error.value)


def test_at_most_five_filters():
    with pytest.raises(InvalidFilterPattern, match="at most 5 filters"):
        parse_filter_criteria({"Filters": [{"Pattern": '{"a": [1]}'}] * 6})
