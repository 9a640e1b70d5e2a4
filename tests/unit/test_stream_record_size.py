"""A DynamoDB stream record's SizeBytes: its keys and images sized by DynamoDB's item size rules."""

import pytest

from tests.emulator.recorded_aws import RECORDED_SIZE_BYTES
from workshop.aws.events import item_size, stream_record_size


@pytest.mark.parametrize("keys, new, old, size_bytes", RECORDED_SIZE_BYTES)
def test_recorded_records_add_up(keys, new, old, size_bytes):
    change = {"Keys": keys} | ({"NewImage": new} if new else {}) | ({"OldImage": old} if old else {})
    assert stream_record_size(change) == size_bytes


def test_each_type_by_the_documented_rule():
    # names count their UTF-8 bytes; strings theirs; numbers one byte per two significant digits
    # plus one (leading and trailing zeros trimmed); binary its raw bytes; null and boolean one byte;
    # a list or map 3 bytes plus 1 per element (ITEM_SIZE_DOC in recorded_aws.py)
    assert item_size({"é": {"S": "ü"}}) == 4
    assert item_size({"n": {"N": "1200"}}) == 1 + 2 and item_size({"n": {"N": "0.00123"}}) == 1 + 3
    assert item_size({"n": {"N": "-5"}}) == 1 + 3
    assert item_size({"b": {"B": "AAEC"}}) == 1 + 3
    assert item_size({"x": {"NULL": True}, "y": {"BOOL": False}}) == 4
    assert item_size({"l": {"L": [{"S": "ab"}, {"N": "7"}]}}) == 1 + 3 + (2 + 1) + (2 + 1)
    assert item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)
    assert item_size({"e": {"M": {}}}) == 1 + 3
    assert item_size({"s": {"SS": ["a", "bc"]}, "t": {"NS": ["1", "22"]}}) == 1 + 3 + 1 + 2 + 2
