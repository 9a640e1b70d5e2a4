"""DynamoDB and its streams: stream records only for real changes, bounded shard iterators, a
stream's length for an idle poller, records sized as AWS sizes them and served as stored, and
sets sized without wrapping each member."""

from __future__ import annotations

import base64
import datetime
import json
import threading
from collections.abc import Callable
from typing import Any

from workshop.aws import events as aws_events
from workshop.emulator.moto_adapters.server import request_trace_header


def _shard_of(stream_arn: str) -> Any | None:
    """moto's shard of this stream (moto gives a stream one), or None when its table, its stream
    or this stream (a table's re-enabled stream is another, with a label of its own) is gone."""
    from moto.dynamodb.models import dynamodb_backends

    _, _, _, region, account, resource = stream_arn.split(":", 5)
    _, name, _, label = resource.split("/", 3)
    table = dynamodb_backends[account][region].tables.get(name)
    if table is None or table.latest_stream_label != label:
        return None
    return table.stream_shard


def stream_length(stream_arn: str) -> int | None:
    """How many records moto holds for this table's stream, or None when the stream is gone.
    Lets an idle poller see there is nothing new without reading."""
    shard = _shard_of(stream_arn)
    return None if shard is None else len(shard.items)


def stream_shards(stream_arn: str) -> dict[str, tuple[int, int]]:
    """Each shard of the stream: its first sequence number and the one its next record will
    get (where TRIM_HORIZON and LATEST start); none when the stream is gone."""
    shard = _shard_of(stream_arn)
    if shard is None:
        return {}
    return {shard.id: (shard.starting_sequence_number, shard.starting_sequence_number + len(shard.items))}


def stream_records(stream_arn: str, shard_id: str, first: int, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` records of a shard from sequence number ``first`` on, as GetRecords answers
    them (creation times in epoch seconds; binary values as boto3 hands them over, bytes). The
    emulator's own pollers read here, in process: a GetRecords over HTTP to the emulator itself was
    a request, its parsing and its answer's, per batch."""
    from moto.core.serialize import TimestampSerializer

    shard = _shard_of(stream_arn)
    if shard is None or shard.id != shard_id:
        return []
    first = max(first, shard.starting_sequence_number)
    return [
        {
            **record,
            "dynamodb": {
                **record["dynamodb"],
                "ApproximateCreationDateTime": TimestampSerializer._timestamp_unixtimestamp(
                    record["dynamodb"]["ApproximateCreationDateTime"]
                ),
            },
        }
        for record in shard.get(first, limit)
    ]


def stream_table_arn(stream_arn: str) -> str:
    """The table's ARN, the bell its stream's records ring: ``arn:...:table/<name>/stream/<label>``."""
    return stream_arn.split("/stream/", 1)[0]


_MAX_SHARD_ITERATORS = 5000


def _bound_shard_iterators() -> None:
    """moto keeps every shard iterator it ever issued; code reading a stream through the API (a
    learner's, the labs' checks) takes a new one with every GetRecords. Forget the oldest (AWS
    expires an iterator 15 minutes after it is returned:
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetShardIterator.html)."""
    from moto.dynamodbstreams import models as streams_models

    original = streams_models.ShardIterator.get

    def get(self: Any, limit: int = 1000) -> dict[str, Any]:
        result = original(self, limit)
        iterators = self.streams_backend.shard_iterators
        while len(iterators) > _MAX_SHARD_ITERATORS:
            iterators.pop(next(iter(iterators)))
        return result

    streams_models.ShardIterator.get = get


def get_records_body(result: dict[str, Any]) -> str:
    """GetRecords' JSON answer for moto's result: its records as moto stores them (DynamoDB's wire
    form but for two kinds of value), the creation time as moto's serializer sends a timestamp and
    a binary value (held as the bytes a request's base64 decoded to) in base64, as JSON sends a blob."""
    from moto.core.serialize import TimestampSerializer

    def wire_form(value: Any) -> Any:
        if isinstance(value, datetime.datetime):
            return TimestampSerializer._timestamp_unixtimestamp(value)
        if isinstance(value, bytes):
            return base64.b64encode(value).decode("ascii")
        raise TypeError(f"{type(value).__name__} is not a stream record's value")

    return json.dumps(
        {"Records": result["Records"], "NextShardIterator": result["NextShardIterator"]}, default=wire_form
    )


def _stream_records_served_as_stored() -> None:
    """moto answers GetRecords through its generic serializer, which looks up every value of every
    image against botocore's model through six alias rules: 11.7 ms for ten records of six
    attributes, 12% of the emulator's time in the capstone's pipeline (a stream poller reads every
    record written). The records are kept in the wire form already; they are dumped as they are."""
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    def get_records(self: Any) -> tuple[int, dict[str, str], str]:
        limit = self._get_param("Limit")
        result = self.backend.get_records(self._get_param("ShardIterator"), 1000 if limit is None else limit)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, get_records_body(result)

    DynamoDBStreamsHandler.get_records = get_records


_stream_writes = threading.local()
_WRITER_TRACES_KEPT = 20_000
_writer_traces: dict[str, str] = {}  # stream record's sequence number -> the writing request's trace header
_writer_traces_lock = threading.Lock()


def writer_trace(sequence_number: str) -> str | None:
    """The trace header of the request whose write made this stream record, if it carried one.
    AWS does not pass it on to a stream's consumer (its invocation starts a trace of its own); the
    emulator knows it, and its traces say so as its own."""
    with _writer_traces_lock:
        return _writer_traces.get(sequence_number)


def _stream_records_only_for_changes(ring: Callable[[str], None]) -> None:
    """moto writes stream records AWS does not: an UpdateItem that creates an item first
    writes a keys-only INSERT, then the real one; a write that changes nothing writes a
    MODIFY. AWS writes one INSERT with the whole new image, and no record for a write that
    changes no data. (A handler reading the first INSERT finds no attributes but the keys.)
    Each record written rings its table's bell, for the stream's pollers."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import StreamShard, Table

    original_update, original_put, original_add = DynamoDBBackend.update_item, Table.put_item, StreamShard.add

    def update_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        _stream_writes.updating = True
        try:
            return original_update(self, *args, **kwargs)
        finally:
            _stream_writes.updating = False

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        # inside update_item, a put is the keys-only item the update starts from
        _stream_writes.creating = getattr(_stream_writes, "updating", False)
        try:
            return original_put(self, *args, **kwargs)
        finally:
            _stream_writes.creating = False

    def add(self: Any, old: Any, new: Any) -> None:
        if getattr(_stream_writes, "creating", False):
            return
        if old is not None and new is not None and old.to_json() == new.to_json():
            return
        original_add(self, old, new)
        # moto's SizeBytes is the record's JSON length (224 for a two-attribute item); AWS's
        # is the size of its keys and images by the item size rules.
        change = self.items[-1].record["dynamodb"]
        change["SizeBytes"] = aws_events.stream_record_size(change)
        header = request_trace_header()
        if header:
            with _writer_traces_lock:
                _writer_traces[str(change["SequenceNumber"])] = header
                while len(_writer_traces) > _WRITER_TRACES_KEPT:
                    _writer_traces.pop(next(iter(_writer_traces)))
        ring(self.table.table_arn)

    DynamoDBBackend.update_item = update_item
    Table.put_item = put_item
    StreamShard.add = add


# Every DynamoDB operation that reads or changes items (BatchWriteItem goes through put_item and
# delete_item).
_ITEM_OPERATIONS = (
    "put_item",
    "get_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "batch_get_item",
    "transact_write_items",
    "transact_get_items",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
)
_items = threading.RLock()


def _item_operations_one_at_a_time() -> None:
    """DynamoDB applies a conditional write atomically: of two PutItems with
    ``attribute_not_exists`` at the same moment one succeeds and the other is refused
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.ConditionalUpdate),
    and a read never sees half an update. moto checks a condition, then writes, with nothing
    between the two: two deliveries of one S3 event claiming the same record in two workers both
    succeeded, and the idempotency lesson processed a file twice. Item operations now run one at
    a time (moto's work is Python under one interpreter lock: none ran in parallel anyway)."""
    from moto.dynamodb.models import DynamoDBBackend

    def alone(original: Callable[..., Any]) -> Callable[..., Any]:
        def operation(self: Any, *args: Any, **kwargs: Any) -> Any:
            with _items:
                return original(self, *args, **kwargs)

        return operation

    for name in _ITEM_OPERATIONS:
        setattr(DynamoDBBackend, name, alone(getattr(DynamoDBBackend, name)))


def _dynamodb_sets_without_wrapping_members() -> None:
    """moto sizes an item (for the 400 KB limit) each time an attribute of it is set, reads a
    set's values for a condition such as ``contains``, and copies an item to JSON twice per
    UpdateItem, each by visiting every member of a set in Python (sizing one by wrapping it in a
    DynamoType of its own): a write to an item with a set of thousands of ids (lab 5's
    CountedRecords, which grows by one per game) cost milliseconds per thousand members. The
    same size, values and JSON, from the members directly: a set's size is its members' UTF-8
    bytes (a number's, its text's length: the same for digits), summed in one pass in C, and a
    set's members, never wrapped, are copied as they are."""
    from decimal import Decimal
    from types import SimpleNamespace

    from moto.dynamodb.models import dynamo_type

    type_class, bytesize = dynamo_type.DynamoType, dynamo_type.bytesize
    size, cast_value = type_class.size, type_class.cast_value.fget
    item_to_json = dynamo_type.Item.to_json

    def set_size(self: Any) -> int:
        if not self.is_set():
            return size(self)
        members = map(str, self.value) if self.type == dynamo_type.DDBType.NUMBER_SET else self.value
        try:
            return len("".join(members).encode("utf-8"))
        except TypeError:  # a binary set's members held as bytes
            return sum(bytesize(member) for member in self.value)

    def set_cast_value(self: Any) -> Any:
        if not self.is_set():
            return cast_value(self)
        if self.type == dynamo_type.DDBType.NUMBER_SET:
            return {Decimal(member) for member in self.value}
        return set(self.value)

    def to_json(self: Any, root_attr_name: str = "Attributes") -> dict[str, Any]:
        if not any(attribute.is_set() for attribute in self.attrs.values()):
            return item_to_json(self, root_attr_name)
        others = {name: attribute for name, attribute in self.attrs.items() if not attribute.is_set()}
        converted = item_to_json(SimpleNamespace(attrs=others), root_attr_name)[root_attr_name]
        return {
            root_attr_name: {
                name: {attribute.type: list(attribute.value)} if attribute.is_set() else converted[name]
                for name, attribute in self.attrs.items()
            }
        }

    type_class.size = set_size
    type_class.cast_value = property(set_cast_value)
    dynamo_type.Item.to_json = to_json
