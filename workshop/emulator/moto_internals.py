"""Every piece of moto the emulator relies on beyond its public server, for one moto version.

moto's internals change between releases without notice. Keeping each use here, with
the exact version it was written for, means an upgrade fails in one place, loudly,
in ``tests/emulator/test_moto_internals.py``, instead of misbehaving across the emulator.

What the emulator takes over from moto, and why (measured on moto 5.2.5):
- S3 bucket notifications: moto's events lack userIdentity, requestParameters,
  responseElements, sequencer and encode ``/`` in keys; Lambda targets need Docker;
  CompleteMultipartUpload also fires ObjectCreated:Put and ObjectTagging:Put; a versioned
  delete never announces its delete marker.
- SNS deliveries: moto's envelope has placeholder ids and timestamps; Lambda needs Docker.
- Event-source mappings: moto delivers synchronously, ignores BatchSize and filters, and
  empties the DynamoDB stream shard; the emulator's pollers replace that delivery.
- FIFO messages get random SequenceNumbers, and only some of them; a deduplication id is
  forgotten as soon as its message is deleted, so a retried send a moment later is queued
  again (AWS drops it for five minutes, deleted or not).
- SQS publishes no CloudWatch metrics; alarms start in OK, are never evaluated, and
  SetAlarmState notifies nobody.
- Bucket policies are evaluated without request context (every Condition denies) and
  unknown, disabled or pending-deletion KMS keys are accepted for SSE-KMS.
- DeadLetterConfig is dropped by moto; PutFunctionEventInvokeConfig appends instead of
  replacing, so GetFunctionEventInvokeConfig answers with the first config ever put.
- DynamoDB streams: an UpdateItem that creates an item writes a keys-only INSERT before the
  real one, and a write that changes nothing writes a MODIFY; AWS writes neither.
- Each request's service is looked up on disk (moto lists its own package folder): the
  answer per host is remembered.
- IAM role lookups iterate a dict other requests change (a parallel class setup fails).
- SQS reads a queue setting through ``Queue.attributes``, which counts every message of the
  queue three times: SendMessage did so four times, ReceiveMessage once per message it returned.
- DynamoDB sizes and compares a set by wrapping each member in a new object, for every write to
  the item: an UpdateItem that adds one id to a set of 5,000 took 23 ms instead of 3.
- A refused call must change nothing, but moto validates little, and some of it after storing
  part of the request (SetQueueAttributes kept the RedrivePolicy it refused; an
  UpdateEventSourceMapping naming an unknown function kept the BatchSize given before it).
  Each call the labs make is judged whole by :mod:`workshop.aws.refusals` before moto
  runs it, and what moto still changes before failing is put back.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import moto
from moto.awslambda import models as lambda_models
from moto.core import DEFAULT_ACCOUNT_ID
from moto.logs.models import logs_backends
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.s3 import models as s3_models
from moto.s3 import notifications as s3_notifications
from moto.sns import models as sns_models

from workshop.aws import refusals
from workshop.emulator.functions.runtime import FunctionSpec

PINNED_MOTO_VERSION = "5.2.5"
ACCOUNT_ID = DEFAULT_ACCOUNT_ID

# Preserves header spellings S3 metadata needs (underscores) when serving moto's app.
REQUEST_HANDLER = MotoRequestHandler


def version_mismatch() -> str | None:
    """A message when the installed moto is not the one these internals were written for."""
    if moto.__version__ != PINNED_MOTO_VERSION:
        return (
            f"moto {moto.__version__} is installed but the emulator is written for moto "
            f"{PINNED_MOTO_VERSION}; reinstall with 'pip install -r requirements.txt'."
        )
    return None


def moto_wsgi_app() -> Any:
    """moto's WSGI application, routing each request to the service its signature names."""
    return DomainDispatcherApplication(create_backend_app)


# ---- Lambda functions ------------------------------------------------------------------

class FunctionNotFound(LookupError):
    pass


def function_spec(region: str, name_or_arn: str, qualifier: str | None = None) -> FunctionSpec:
    """The runtime's view of a function version stored by moto."""
    backend = lambda_models.lambda_backends[ACCOUNT_ID][region]
    try:
        function = backend.get_function(name_or_arn, qualifier)
    except Exception as error:  # moto raises its own UnknownFunctionException
        raise FunctionNotFound(str(name_or_arn)) from error
    if function is None:
        raise FunctionNotFound(str(name_or_arn))
    environment = dict(function.environment_vars or {})
    config_fingerprint = json.dumps([function.code_sha_256, function.handler, function.run_time, function.timeout,
                                     function.memory_size, environment, function.role], sort_keys=True)
    return FunctionSpec(
        name=function.function_name,
        arn=function.function_arn,
        version=str(function.version),
        handler=function.handler or "",
        runtime=function.run_time or "python3.12",
        timeout=int(function.timeout),
        memory_size=int(function.memory_size),
        environment=environment,
        code_sha256=function.code_sha_256,
        revision=hashlib.sha256(config_fingerprint.encode()).hexdigest(),
        account=ACCOUNT_ID,
        region=region,
        log_group=function.logs_group_name,
        code_zip=lambda: function.code_bytes,
    )


def dead_letter_target(region: str, name_or_arn: str) -> str | None:
    function = lambda_models.lambda_backends[ACCOUNT_ID][region].get_function(name_or_arn)
    return (getattr(function, "workshop_dead_letter_config", None) or {}).get("TargetArn") or None


def event_invoke_config(region: str, name_or_arn: str) -> dict[str, Any]:
    """The function's asynchronous invocation settings; {} when none were put."""
    function = lambda_models.lambda_backends[ACCOUNT_ID][region].get_function(name_or_arn)
    return dict(function.event_invoke_config[-1].config) if function.event_invoke_config else {}


def write_logs(region: str, group: str, stream: str, events: list[tuple[int, str]]) -> None:
    """Append events to a log group and stream, creating either when missing (as Lambda does)."""
    backend = logs_backends[ACCOUNT_ID][region]
    backend.ensure_log_group(group)
    log_group = backend.groups[group]
    if stream not in log_group.streams:
        backend.create_log_stream(group, stream)
    backend.put_log_events(group, stream, [{"timestamp": ms, "message": text} for ms, text in events])


def _keep_dead_letter_config() -> None:
    original_init = lambda_models.LambdaFunction.__init__
    original_update = lambda_models.LambdaFunction.update_configuration
    original_get = lambda_models.LambdaFunction.get_configuration

    def init(self: Any, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        self.workshop_dead_letter_config = spec.get("DeadLetterConfig") or {}

    def update(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "DeadLetterConfig" in config_updates:
            self.workshop_dead_letter_config = config_updates["DeadLetterConfig"] or {}
        return original_update(self, config_updates)

    def get(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original_get(self, *args, **kwargs)
        if getattr(self, "workshop_dead_letter_config", None):
            config["DeadLetterConfig"] = self.workshop_dead_letter_config
        return config

    lambda_models.LambdaFunction.__init__ = init
    lambda_models.LambdaFunction.update_configuration = update
    lambda_models.LambdaFunction.get_configuration = get


def _replace_event_invoke_config_on_put() -> None:
    def put(self: Any, function_name: str, config: dict[str, Any]) -> dict[str, Any]:
        function = self.get_function(function_name)
        event_config = lambda_models.EventInvokeConfig(function.function_arn, function.last_modified, config)
        function.event_invoke_config[:] = [event_config]
        return event_config.response()

    lambda_models.LambdaBackend.put_function_event_invoke_config = put


def _report_deleted_functions(on_function_deleted: Callable[[str], None]) -> None:
    original = lambda_models.LambdaBackend.delete_function

    def delete_function(self: Any, function_name: str, qualifier: str | None = None) -> None:
        name = self.get_function(function_name, qualifier).function_name
        original(self, function_name, qualifier)
        if qualifier is None:
            on_function_deleted(name)

    lambda_models.LambdaBackend.delete_function = delete_function


def _stop_moto_event_source_delivery() -> None:
    """Keep moto's mapping records (the API) but never let moto deliver; the pollers do."""
    original = lambda_models.LambdaBackend.create_event_source_mapping

    def create(self: Any, spec: dict[str, Any]) -> Any:
        mapping = original(self, spec)
        for owner in _mapping_owners(self, mapping.event_source_arn):
            owner.lambda_event_source_mappings.clear()
        return mapping

    lambda_models.LambdaBackend.create_event_source_mapping = create


def _mapping_owners(backend: Any, source_arn: str) -> list[Any]:
    from moto.dynamodb.models import dynamodb_backends
    from moto.sqs.models import sqs_backends

    owners = [q for q in sqs_backends[backend.account_id][backend.region_name].queues.values()
              if q.queue_arn == source_arn]
    if ":dynamodb:" in source_arn and "/stream/" in source_arn:
        table_name = source_arn.split(":table/", 1)[1].split("/stream/", 1)[0]
        table = dynamodb_backends[backend.account_id][backend.region_name].tables.get(table_name)
        if table is not None:
            owners.append(table)
    return owners


def event_source_mapping_sources() -> dict[str, tuple[str, str]]:
    """UUID -> (region, source ARN) of every mapping: what a supervisor needs ten times a second,
    without building each mapping's whole configuration."""
    return {uuid: (region, mapping.event_source_arn)
            for region, backend in lambda_models.lambda_backends[ACCOUNT_ID].items()
            for uuid, mapping in list(backend._event_source_mappings.items())}


def _mapping(region: str, uuid: str) -> Any:
    """moto's own EventSourceMapping object, or None once it is deleted."""
    return lambda_models.lambda_backends[ACCOUNT_ID][region]._event_source_mappings.get(uuid)


def event_source_mapping_switch(region: str, uuid: str) -> tuple[bool, str] | None:
    """(Enabled, source ARN) of a mapping, or None once it is deleted: an idle poller's cheap look."""
    mapping = _mapping(region, uuid)
    return None if mapping is None else (bool(mapping.enabled), mapping.event_source_arn)


def queue_has_deliverable_messages(queue_arn: str) -> bool | None:
    """Whether ReceiveMessage would return a message now (None: no such queue). Lets an idle
    poller skip the call; moto's long poll also spins on a FIFO queue whose visible messages all
    wait behind a message of their group in flight."""
    from moto.sqs.models import sqs_backends

    _, _, _, region, account, name = queue_arn.split(":", 5)
    queue = sqs_backends[account][region].queues.get(name)
    if queue is None:
        return None
    messages = list(queue._messages)
    held_groups = ({m.group_id for m in list(queue._pending_messages) if m.group_id and not m.visible}
                   if queue.fifo_queue else set())
    return any(m.visible and not m.delayed and m.group_id not in held_groups for m in messages)


def event_source_mapping(region: str, uuid: str) -> dict[str, Any] | None:
    """A mapping's configuration, plus Region and Enabled (what the user asked, whatever the State)."""
    mapping = _mapping(region, uuid)
    if mapping is None:
        return None
    config = mapping.get_configuration()
    config.update(Region=region, Enabled=bool(mapping.enabled))
    return config


def mark_mapping_ready(region: str, uuid: str) -> None:
    """The poller reads its source: from now on the mapping's State is Enabled."""
    mapping = _mapping(region, uuid)
    if mapping is not None:
        mapping.workshop_ready = True


def stream_checkpoint(region: str, uuid: str, shard_id: str) -> str | None:
    """The sequence number of the last stream record a mapping finished with, on that shard.

    Kept on moto's mapping, so it is saved with the rest of the state: after a restart the
    mapping reads on from there, as AWS's pollers do, instead of from the stream's start."""
    mapping = _mapping(region, uuid)
    return None if mapping is None else getattr(mapping, "workshop_checkpoints", {}).get(shard_id)


def set_stream_checkpoint(region: str, uuid: str, shard_id: str, sequence_number: str) -> None:
    mapping = _mapping(region, uuid)
    if mapping is not None:
        if not hasattr(mapping, "workshop_checkpoints"):
            mapping.workshop_checkpoints = {}
        mapping.workshop_checkpoints[shard_id] = sequence_number


def stream_length(stream_arn: str) -> int | None:
    """How many records moto holds for this table's stream (moto gives a stream one shard),
    or None when the table or its stream is gone. Lets an idle poller skip a GetRecords call."""
    from moto.dynamodb.models import dynamodb_backends

    _, _, _, region, account, resource = stream_arn.split(":", 5)
    table = dynamodb_backends[account][region].tables.get(resource.split("/")[1])
    shard = table.stream_shard if table is not None else None
    return None if shard is None else len(shard.items)


def _mappings_are_creating_until_polled() -> None:
    """AWS reports State Creating until the mapping really polls (a LATEST stream position is
    only taken then); moto says Enabled at once, so records written meanwhile were lost."""
    original = lambda_models.EventSourceMapping.get_configuration

    def get_configuration(self: Any) -> dict[str, Any]:
        config = original(self)
        if self.enabled and not getattr(self, "workshop_ready", False):
            config["State"] = "Creating"
        return config

    lambda_models.EventSourceMapping.get_configuration = get_configuration


_MAX_SHARD_ITERATORS = 5000


def _bound_shard_iterators() -> None:
    """moto keeps every shard iterator it ever issued; a poller issues several a second.
    Forget the oldest (AWS expires iterators after 15 minutes anyway)."""
    from moto.dynamodbstreams import models as streams_models

    original = streams_models.ShardIterator.get

    def get(self: Any, limit: int = 1000) -> dict[str, Any]:
        result = original(self, limit)
        iterators = self.streams_backend.shard_iterators
        while len(iterators) > _MAX_SHARD_ITERATORS:
            iterators.pop(next(iter(iterators)))
        return result

    streams_models.ShardIterator.get = get


def _remember_the_service_of_each_host() -> None:
    """moto finds the service of every request anew, listing its package folder on disk (a
    few hundred isdir calls) before matching URL patterns: a quarter of a DynamoDB call's
    time. The answer for a host never changes, so it is looked up once."""
    original = DomainDispatcherApplication.get_backend_for_host
    known: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host not in known:
            known[host] = original(self, host)
        return known[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host


def _roles_listed_from_a_snapshot() -> None:
    """moto looks a role up by iterating the live dict of roles; a class set up in parallel
    creates roles meanwhile and the lookup fails with 'dictionary changed size during
    iteration' (a 500). A copy (made atomically) is iterated instead."""
    from moto.iam.models import IAMBackend

    IAMBackend.get_roles = lambda self: list(self.roles.values())


_stream_writes = threading.local()


def _stream_records_only_for_changes() -> None:
    """moto writes stream records AWS does not: an UpdateItem that creates an item first
    writes a keys-only INSERT, then the real one; a write that changes nothing writes a
    MODIFY. AWS writes one INSERT with the whole new image, and no record for a write that
    changes no data. (A handler reading the first INSERT finds no attributes but the keys.)"""
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

    DynamoDBBackend.update_item = update_item
    Table.put_item = put_item
    StreamShard.add = add


def _number_fifo_messages() -> None:
    """AWS gives every FIFO message a growing 20-digit SequenceNumber; moto gives a random
    one, and only to messages sent with an explicit deduplication id."""
    from moto.sqs import models as sqs_models

    original = sqs_models.Queue.add_message
    numbers = itertools.count(int(time.time() * 1000) * 10**7)
    lock = threading.Lock()

    def add_message(self: Any, message: Any) -> None:
        if self.fifo_queue:
            with lock:
                message.sequence_number = f"{next(numbers):020d}"
        original(self, message)

    sqs_models.Queue.add_message = add_message


def _fifo_deduplication_outlives_deletion() -> None:
    """AWS drops a FIFO message whose deduplication id was accepted in the last five minutes,
    whether or not that message is still in the queue; moto compares only with the messages
    the queue still holds, so a job received and deleted was queued again by a retried send.
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/using-messagededuplicationid-property.html"""
    from moto.sqs import models as sqs_models

    original = sqs_models.Queue.add_message
    window_ms = sqs_models.DEDUPLICATION_TIME_IN_SECONDS * 1000
    lock = threading.Lock()

    def add_message(self: Any, message: Any) -> None:
        if self.fifo_queue and message.deduplication_id:
            with lock:
                accepted: dict[str, int] = self.__dict__.setdefault("_workshop_deduplication", {})
                sent = int(message.sent_timestamp)
                if len(accepted) > 1000:  # forget ids older than the window
                    for old in [d for d, at in accepted.items() if sent - at >= window_ms]:
                        del accepted[old]
                first = accepted.get(message.deduplication_id)
                if first is not None and sent - first < window_ms:
                    return  # accepted, not delivered: AWS answers with success too
                accepted[message.deduplication_id] = sent
        original(self, message)

    sqs_models.Queue.add_message = add_message


_reading_sqs_settings = threading.local()
_COUNTED_SQS_ATTRIBUTES = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed",
                           "ApproximateNumberOfMessagesNotVisible")


def _sqs_settings_read_without_counting() -> None:
    """moto's ``Queue.attributes`` counts the queue's messages three times (a clock read per
    message) each time it is read, and SendMessage reads it four times for one setting
    (ContentBasedDeduplication), ReceiveMessage once per message returned (for
    MessageRetentionPeriod): with a backlog of a few hundred jobs a SendMessage cost
    milliseconds, with thousands tens of them. Inside those two calls the settings are read
    without the counts; the retention period straight from the queue."""
    from moto.sqs import models as sqs_models

    queue_class, backend_class = sqs_models.Queue, sqs_models.SQSBackend
    full_attributes = queue_class.attributes.fget
    send = backend_class.send_message

    def attributes(self: Any) -> dict[str, Any]:
        if not getattr(_reading_sqs_settings, "active", False):
            return full_attributes(self)
        result = {}  # moto's attributes, less the counts: nothing inside SendMessage reads them
        names = list(queue_class.BASE_ATTRIBUTES) + (list(queue_class.FIFO_ATTRIBUTES) if self.fifo_queue else []) \
            + (list(queue_class.KMS_ATTRIBUTES) if self.kms_master_key_id else [])
        for name in names:
            if name not in _COUNTED_SQS_ATTRIBUTES:
                result[name] = getattr(self, sqs_models.camelcase_to_underscores(name))
        if self.policy:
            result["Policy"] = self.policy
        if self.redrive_policy:
            result["RedrivePolicy"] = json.dumps(self.redrive_policy)
        return {k: str(v).lower() if isinstance(v, bool) else v for k, v in result.items()}

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        outer = getattr(_reading_sqs_settings, "active", False)
        _reading_sqs_settings.active = True
        try:
            return send(self, *args, **kwargs)
        finally:
            _reading_sqs_settings.active = outer

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > sqs_models.unix_time()

    queue_class.attributes = property(attributes)
    backend_class.send_message = send_message
    backend_class.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period


def _dynamodb_sets_without_wrapping_members() -> None:
    """moto sizes an item (for the 400 KB limit) each time an attribute of it is set, and
    reads a set's values for a condition such as ``contains``, by wrapping every member of a
    set in a DynamoType of its own: a write to an item with a set of thousands of ids (lab 5's
    CountedRecords, which grows by one per game) cost milliseconds per thousand members. The
    same size and values, computed from the members directly: a number's size is its text's
    length, any other member's its UTF-8 bytes, as in moto."""
    from decimal import Decimal

    from moto.dynamodb.models import dynamo_type

    type_class, bytesize = dynamo_type.DynamoType, dynamo_type.bytesize
    size, cast_value = type_class.size, type_class.cast_value.fget

    def set_size(self: Any) -> int:
        if not self.is_set():
            return size(self)
        if self.type == dynamo_type.DDBType.NUMBER_SET:
            return sum(len(str(member)) for member in self.value)
        return sum(bytesize(member) for member in self.value)

    def set_cast_value(self: Any) -> Any:
        if not self.is_set():
            return cast_value(self)
        if self.type == dynamo_type.DDBType.NUMBER_SET:
            return {Decimal(member) for member in self.value}
        return set(self.value)

    type_class.size = set_size
    type_class.cast_value = property(set_cast_value)


# ---- SQS metrics and CloudWatch alarms ------------------------------------------------

_sqs_counts: dict[tuple[str, str], dict[str, int]] = {}
_sqs_counts_lock = threading.Lock()
SQS_COUNTERS = ("NumberOfMessagesSent", "NumberOfMessagesReceived", "NumberOfMessagesDeleted",
                "NumberOfEmptyReceives")


_sqs_last_action: dict[tuple[str, str], float] = {}  # (region, queue) -> time.time() of its last send/receive/delete


def _count(region: str, queue: str, counter: str, amount: int = 1) -> None:
    with _sqs_counts_lock:
        counts = _sqs_counts.setdefault((region, queue), dict.fromkeys(SQS_COUNTERS, 0))
        counts[counter] += amount
        _sqs_last_action[(region, queue)] = time.time()


def _count_sqs_traffic() -> None:
    """moto publishes no SQS metrics; count what CloudWatch's SQS counters count."""
    from moto.sqs import models as sqs_models

    backend_class = sqs_models.SQSBackend
    send, receive, delete = backend_class.send_message, backend_class.receive_message, backend_class.delete_message

    def send_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        message = send(self, queue_name, *args, **kwargs)
        _count(self.region_name, queue_name, "NumberOfMessagesSent")
        return message

    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        messages = receive(self, queue_name, *args, **kwargs)
        if messages:
            _count(self.region_name, queue_name, "NumberOfMessagesReceived", len(messages))
        else:
            _count(self.region_name, queue_name, "NumberOfEmptyReceives")
        return messages

    def delete_message(self: Any, queue_name: str, receipt_handle: str) -> None:
        delete(self, queue_name, receipt_handle)
        _count(self.region_name, queue_name, "NumberOfMessagesDeleted")

    backend_class.send_message = send_message
    backend_class.receive_message = receive_message
    backend_class.delete_message = delete_message


def sqs_queue_metrics(active_within: float | None = None) -> list[tuple[str, str, dict[str, float]]]:
    """(region, queue name, metrics) of every active queue: gauges now, counters since the last call.

    AWS publishes a queue's metrics while it is active: up to six hours after its last
    action. With ``active_within`` (seconds), an empty queue created, sent to, received from
    and deleted from longer ago than that is skipped, as AWS skips it; a class's leftover
    queues publishing every minute made most of an idle emulator's work."""
    from moto.sqs.models import sqs_backends

    now = time.time()
    now_ms = now * 1000
    results = []
    for region, backend in sqs_backends[ACCOUNT_ID].items():
        for name, queue in list(backend.queues.items()):
            messages = list(queue._messages)
            last_action = max(queue.created_timestamp, _sqs_last_action.get((region, name), 0.0))
            if active_within is not None and not messages and now - last_action > active_within:
                continue
            sent = [m.sent_timestamp for m in messages if m.sent_timestamp]
            metrics: dict[str, float] = {
                "ApproximateNumberOfMessagesVisible": queue.approximate_number_of_messages,
                "ApproximateNumberOfMessagesNotVisible": queue.approximate_number_of_messages_not_visible,
                "ApproximateNumberOfMessagesDelayed": queue.approximate_number_of_messages_delayed,
                "ApproximateAgeOfOldestMessage": max(0.0, (now_ms - min(sent)) / 1000) if sent else 0.0,
            }
            with _sqs_counts_lock:
                counts = _sqs_counts.pop((region, name), dict.fromkeys(SQS_COUNTERS, 0))
            metrics.update(counts)
            results.append((region, name, metrics))
    return results


def cloudwatch_backend(region: str) -> Any:
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[ACCOUNT_ID][region]


def cloudwatch_regions() -> list[str]:
    from moto.cloudwatch.models import cloudwatch_backends

    return list(cloudwatch_backends[ACCOUNT_ID].keys())


def forget_metrics_before(region: str, namespace: str, cutoff: Any) -> None:
    """Metric data is kept forever by moto; drop the emulator's own old AWS/* points."""
    backend = cloudwatch_backend(region)
    backend.metric_data = [d for d in backend.metric_data if d.namespace != namespace or d.timestamp >= cutoff]


def _alarms_start_without_data(on_state_change: Callable[[str, Any, str], None]) -> None:
    """AWS alarms start in INSUFFICIENT_DATA (moto: OK) and SetAlarmState triggers actions."""
    from moto.cloudwatch import models as cloudwatch_models

    original_init = cloudwatch_models.Alarm.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.state_value = "INSUFFICIENT_DATA"

    cloudwatch_models.Alarm.__init__ = init
    original_set = cloudwatch_models.CloudWatchBackend.set_alarm_state

    def set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        old = self.alarms[alarm_name].state_value if alarm_name in self.alarms else None
        original_set(self, alarm_name, reason, reason_data, state_value)
        if old is not None and old != state_value:
            on_state_change(self.region_name, self.alarms[alarm_name], old)

    cloudwatch_models.CloudWatchBackend.set_alarm_state = set_alarm_state


# ---- API Gateway ---------------------------------------------------------------------

@dataclass(frozen=True)
class ApiRoute:
    resource_id: str
    path: str  # the resource's path template, e.g. /orders/{id}
    methods: dict[str, tuple[str, str]]  # HTTP method or ANY -> (integration type, integration URI)


def rest_api_routes(api_id: str) -> tuple[str, set[str], list[ApiRoute]] | None:
    """The region, deployed stages and resources of a REST API; None when there is no such API.
    (Requests to an API's URL are not signed, so the API is looked up in every region.)"""
    from moto.apigateway.models import apigateway_backends

    region, api = next(((r, b.apis[api_id]) for r, b in apigateway_backends[ACCOUNT_ID].items()
                        if api_id in b.apis), (None, None))
    if api is None:
        return None
    routes = []
    for resource_id, resource in list(api.resources.items()):
        methods = {}
        for method_name, method in resource.resource_methods.items():
            integration = method.method_integration
            if integration is not None:
                methods[method_name] = (integration.integration_type, integration.uri)
        routes.append(ApiRoute(resource_id, resource.get_path(), methods))
    return region, set(api.stages), routes


# ---- S3, KMS and bucket policies ------------------------------------------------------

_s3_request = threading.local()


def set_s3_request_context(context: dict[str, str] | None) -> None:
    """The condition keys of the S3 request this thread is about to hand to moto."""
    _s3_request.context = context


def _evaluate_bucket_policies_in_context() -> None:
    """moto evaluates bucket policies with no request context: every Condition denies."""
    from workshop.aws import bucket_policies

    def get_permission(self: Any, action: str, resource: str) -> Any:
        from moto.iam.access_control import PermissionResult

        if self.policy is None:
            return PermissionResult.NEUTRAL
        context = getattr(_s3_request, "context", None) or {}
        verdict = bucket_policies.evaluate(self.policy, action, resource, context)
        return {"DENIED": PermissionResult.DENIED, "PERMITTED": PermissionResult.PERMITTED}.get(
            verdict, PermissionResult.NEUTRAL)

    s3_models.FakeBucket.get_permission = get_permission


def _kms_key_operations_accept_arns() -> None:
    """AWS accepts a key ARN wherever a key id goes; moto's key state calls fail with a 500."""
    from moto.kms.models import KmsBackend

    for name in ("enable_key", "disable_key", "cancel_key_deletion", "schedule_key_deletion"):
        original = getattr(KmsBackend, name)

        def accepting_arns(self: Any, key_id: str, *args: Any, _original: Any = original) -> Any:
            return _original(self, self.get_key_id(key_id) if key_id.startswith("arn:") else key_id, *args)

        setattr(KmsBackend, name, accepting_arns)


def kms_key_state(region: str, key_ref: str) -> tuple[str, str] | None:
    """(key ARN, KeyState) for any key id, ARN, alias or alias ARN; None for an unknown key."""
    from moto.kms.models import kms_backends

    ref_region = key_ref.split(":")[3] if key_ref.startswith("arn:") else region
    backend = kms_backends[ACCOUNT_ID][ref_region]
    try:
        key = backend.keys[backend.any_id_to_key_id(key_ref)]
    except (KeyError, TypeError, AttributeError, IndexError):
        return None
    except Exception:  # moto's NotFoundException for an unknown alias
        return None
    return key.arn, key.key_state


def bucket_default_kms_key(bucket_name: str) -> str | None:
    """The KMSMasterKeyID of a bucket's default SSE-KMS encryption, if it has one."""
    bucket = _bucket(bucket_name)
    rules = (getattr(bucket, "encryption", None) or {}).get("Rule") if bucket is not None else None
    rules = rules if isinstance(rules, list) else [rules] if rules else []
    for rule in rules:
        default = rule.get("ApplyServerSideEncryptionByDefault", {})
        if default.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse") and default.get("KMSMasterKeyID"):
            return default["KMSMasterKeyID"]
    return None


def object_kms_key(bucket_name: str, key_name: str) -> str | None:
    bucket = _bucket(bucket_name)
    key = bucket.keys.get(key_name) if bucket is not None else None
    if key is None or getattr(key, "encryption", None) not in ("aws:kms", "aws:kms:dsse"):
        return None
    return getattr(key, "kms_key_id", None)


def _bucket(bucket_name: str) -> Any:
    from moto.s3.models import s3_backends

    for backend in s3_backends[ACCOUNT_ID].values():
        if bucket_name in backend.buckets:
            return backend.buckets[bucket_name]
    return None


# ---- S3 notifications ------------------------------------------------------------------

@dataclass(frozen=True)
class S3Change:
    """One object change and the notification targets it matched, in plain values."""

    event_name: str  # e.g. "s3:ObjectCreated:Put"
    region: str
    bucket: str
    bucket_arn: str
    key: str
    size: int
    etag: str
    version_id: str | None
    targets: tuple[tuple[str, str, str], ...]  # (lambda|sqs|sns, target ARN, configuration id)


_completing_upload = threading.local()


def _hook_s3_notifications(deliver: Callable[[S3Change], None]) -> None:
    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        configuration = bucket.notification_configuration
        if configuration is None:
            return
        name = event_name.value if hasattr(event_name, "value") else str(event_name)
        if getattr(_completing_upload, "active", False) and name != "s3:ObjectCreated:CompleteMultipartUpload":
            return  # moto's internal PutObject and tagging inside CompleteMultipartUpload: AWS sends one event
        targets = []
        for kind, notifications in (("lambda", configuration.cloud_function), ("sqs", configuration.queue),
                                    ("sns", configuration.topic)):
            targets += [(kind, n.arn, n.id) for n in notifications if n.matches(name, key.name)]
        if not targets:
            return
        versioned = getattr(bucket, "is_versioned", False)
        deliver(S3Change(
            event_name=name, region=bucket.region_name, bucket=bucket.name, bucket_arn=bucket.arn,
            key=key.name, size=int(getattr(key, "size", 0) or 0), etag=str(getattr(key, "etag", "")).strip('"'),
            version_id=str(key.version_id) if versioned and getattr(key, "version_id", None) else None,
            targets=tuple(targets),
        ))

    s3_notifications.send_event = send_event

    original_complete = s3_models.S3Backend.complete_multipart_upload

    def complete_multipart_upload(self: Any, *args: Any, **kwargs: Any) -> Any:
        _completing_upload.active = True
        try:
            return original_complete(self, *args, **kwargs)
        finally:
            _completing_upload.active = False

    s3_models.S3Backend.complete_multipart_upload = complete_multipart_upload

    original_delete = s3_models.S3Backend.delete_object

    def delete_object(self: Any, bucket_name: str, key_name: str, version_id: str | None = None,
                      bypass: bool = False) -> Any:
        deleted, meta = original_delete(self, bucket_name, key_name, version_id, bypass)
        if deleted and meta.get("delete-marker") == "true" and version_id is None:
            bucket = self.get_bucket(bucket_name)
            marker = next((k for k in reversed(bucket.keys.getlist(key_name, []))
                           if str(k.version_id) == str(meta.get("version-id"))), None)
            if marker is not None:  # moto never announces the delete marker it just created
                s3_notifications.send_event(
                    self.account_id, s3_notifications.S3NotificationEvent.OBJECT_REMOVED_DELETE_MARKER_CREATED_EVENT,
                    bucket, marker)
        return deleted, meta

    s3_models.S3Backend.delete_object = delete_object


# ---- SNS deliveries --------------------------------------------------------------------

@dataclass(frozen=True)
class SnsDelivery:
    """One message for one subscription that passed its filter policy."""

    protocol: str
    endpoint: str
    subscription_arn: str
    topic_arn: str
    raw: bool
    message_id: str
    message: str
    subject: str | None
    message_attributes: dict[str, Any]
    group_id: str | None
    deduplication_id: str | None


_OUR_PROTOCOLS = ("lambda", "sqs", "http", "https")


def _hook_sns_deliveries(deliver: Callable[[SnsDelivery], None]) -> None:
    original = sns_models.Subscription.publish

    def publish(self: Any, message: str, message_id: str, subject: str | None = None,
                message_attributes: dict[str, Any] | None = None, group_id: str | None = None,
                deduplication_id: str | None = None, message_structure: str | None = None) -> None:
        if self.protocol not in _OUR_PROTOCOLS:
            return original(self, message, message_id, subject, message_attributes, group_id,
                            deduplication_id, message_structure)
        if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(
                message_attributes, message):
            return None
        if message_structure == "json":
            message = self._parse_message_structure(message, self.protocol)
        deliver(SnsDelivery(
            protocol=self.protocol, endpoint=self.endpoint, subscription_arn=self.arn, topic_arn=self.topic.arn,
            raw=str(self.attributes.get("RawMessageDelivery", "false")).lower() == "true",
            message_id=message_id, message=message, subject=subject,
            message_attributes=dict(message_attributes or {}), group_id=group_id,
            deduplication_id=deduplication_id,
        ))
        return None

    sns_models.Subscription.publish = publish


def backend_state() -> list[tuple[str, dict[str, dict[str, Any]], dict[str, str]]]:
    """Every moto backend in use: (service, {account: {region: backend}}, S3's bucket owners)."""
    from moto.core.base_backend import BackendDict

    return [(d.service_name, {account: dict(regions) for account, regions in dict(d).items()},
             dict(getattr(d, "bucket_accounts", None) or {}))
            for d in list(BackendDict._instances) if len(d)]


def restore_backend_state(state: list[tuple[str, dict[str, dict[str, Any]], dict[str, str]]]) -> None:
    """Put backends taken by :func:`backend_state` (in another process) in place."""
    from moto.backends import get_backend

    for service_name, accounts, bucket_accounts in state:
        backend_dict = get_backend(service_name)  # type: ignore[call-overload]
        for account, regions in accounts.items():
            for region, backend in regions.items():
                backend_dict[account][region] = backend
        if bucket_accounts:
            backend_dict.bucket_accounts.update(bucket_accounts)


def _track_no_model_instances() -> None:
    """moto lists every model instance it makes, per class, for its reset and its data
    dashboard (neither of which the emulator uses), and never lets one go. In a server that
    runs for hours this kept every S3 object body, SQS message and metric datum ever created:
    an idle class emulator grew by about 2 GB an hour. (Weak references instead still cost a
    sizable share of a busy emulator's time.) Instances are no longer listed."""
    from moto.core import common_models

    base = common_models.BaseModel
    base.__new__ = staticmethod(lambda cls, *args, **kwargs: super(base, cls).__new__(cls))


# ---- Refused calls change nothing ------------------------------------------------------

def _raise_refusal(refusal: refusals.Refusal | None, error: Callable[[str, str], Exception]) -> None:
    """Answer a refusal with the service's own moto exception, which moto renders in the
    request's protocol (query, JSON or XML) like any error of its own."""
    if refusal is not None:
        raise error(refusal.code, refusal.message)


@contextlib.contextmanager
def _unchanged_on_error(model: Any) -> Iterator[None]:
    """Put a moto object's attributes back when the call changing it fails part-way: moto
    assigns request fields one by one and may refuse a later one after storing earlier ones."""
    before = dict(model.__dict__)
    try:
        yield
    except Exception:
        model.__dict__.clear()
        model.__dict__.update(before)
        raise


def _sqs_queues_judged_whole() -> None:
    """SetQueueAttributes and CreateQueue are judged on every attribute before moto stores any
    (moto stored a RedrivePolicy, then refused it; it accepted out-of-range values)."""
    from moto.sqs import models as sqs_models
    from moto.sqs.exceptions import SQSException

    backend_class = sqs_models.SQSBackend
    original_set, original_create = backend_class.set_queue_attributes, backend_class.create_queue

    def queue_type(backend: Any) -> Callable[[str], bool | None]:
        def is_fifo(arn: str) -> bool | None:
            queue = next((q for q in list(backend.queues.values()) if q.queue_arn == arn), None)
            return None if queue is None else bool(queue.fifo_queue)
        return is_fifo

    def set_queue_attributes(self: Any, queue_name: str, attributes: dict[str, Any]) -> Any:
        queue = self.get_queue(queue_name)
        _raise_refusal(refusals.sqs_attributes(attributes, fifo=bool(queue.fifo_queue), creating=False,
                                               dead_letter_queue_fifo=queue_type(self)), SQSException)
        with _unchanged_on_error(queue):
            return original_set(self, queue_name, attributes)

    def create_queue(self: Any, name: str, tags: dict[str, str] | None = None, **kwargs: Any) -> Any:
        attributes = {k: v for k, v in kwargs.items() if k != "region"}
        fifo = str(attributes.get("FifoQueue", "false")).lower() == "true"
        _raise_refusal(refusals.sqs_attributes(attributes, fifo=fifo, creating=True,
                                               dead_letter_queue_fifo=queue_type(self)), SQSException)
        return original_create(self, name, tags, **kwargs)

    backend_class.set_queue_attributes = set_queue_attributes
    backend_class.create_queue = create_queue


def _s3_bucket_settings_judged_whole() -> None:
    """Bucket policies, notification configurations and default encryption are judged before
    moto stores them. moto stored any policy text (the policy check then failed every request
    to the bucket), any notification destination, and any encryption algorithm."""
    import xmltodict
    from moto.s3.exceptions import S3ClientError
    from moto.s3.responses import S3Response

    backend_class = s3_models.S3Backend
    original_policy, original_encryption = backend_class.put_bucket_policy, backend_class.put_bucket_encryption
    original_notification = S3Response._notification_config_from_body

    def put_bucket_policy(self: Any, bucket_name: str, policy: bytes) -> None:
        text = policy.decode("utf-8", "replace") if isinstance(policy, bytes) else str(policy)
        _raise_refusal(refusals.s3_bucket_policy(text, bucket_name), S3ClientError)
        original_policy(self, bucket_name, policy)

    def put_bucket_encryption(self: Any, bucket_name: str, encryption: dict[str, Any]) -> None:
        _raise_refusal(refusals.s3_bucket_encryption(encryption), S3ClientError)
        original_encryption(self, bucket_name, encryption)

    def notification_config_from_body(self: Any) -> dict[str, Any]:
        raw = (xmltodict.parse(self.body) or {}).get("NotificationConfiguration") or {}
        _raise_refusal(refusals.s3_notification_filters(raw), S3ClientError)  # moto asserts on them: a 500
        configuration = original_notification(self)
        _raise_refusal(refusals.s3_notification_overlaps(configuration), S3ClientError)
        _raise_refusal(refusals.s3_notification_destinations(configuration, notification_destination_exists),
                       S3ClientError)
        return configuration

    backend_class.put_bucket_policy = put_bucket_policy
    backend_class.put_bucket_encryption = put_bucket_encryption
    S3Response._notification_config_from_body = notification_config_from_body


def notification_destination_exists(kind: str, arn: str) -> bool:
    """Whether the queue, topic or function an S3 notification names exists (kind sqs, sns, lambda)."""
    from moto.sqs.models import sqs_backends

    parts = arn.split(":")
    if len(parts) < 6 or parts[2] != kind:
        return False
    region, account = parts[3], parts[4]
    try:
        if kind == "sqs":
            return parts[5] in sqs_backends[account][region].queues
        if kind == "sns":
            return arn in sns_models.sns_backends[account][region].topics
        lambda_models.lambda_backends[account][region].get_function(arn)
        return True
    except Exception:  # moto's UnknownFunctionException, or a region moto does not know
        return False


def _mapping_updates_undone_on_error() -> None:
    """moto applies UpdateEventSourceMapping's fields one by one and looks the function up in
    the middle: an unknown FunctionName after a BatchSize left the new BatchSize stored."""
    original = lambda_models.LambdaBackend.update_event_source_mapping

    def update_event_source_mapping(self: Any, uuid: str, spec: dict[str, Any]) -> Any:
        mapping = self.get_event_source_mapping(uuid)
        if mapping is None:
            return original(self, uuid, spec)
        with _unchanged_on_error(mapping):
            return original(self, uuid, spec)

    lambda_models.LambdaBackend.update_event_source_mapping = update_event_source_mapping


def _key_policies_judged_first() -> None:
    """moto stored any text as a key policy, valid JSON or not."""
    from moto.core.exceptions import JsonRESTError
    from moto.kms.models import KmsBackend

    original = KmsBackend.put_key_policy

    def put_key_policy(self: Any, key_id: str, policy: str) -> None:
        _raise_refusal(refusals.kms_key_policy(policy), JsonRESTError)
        original(self, key_id, policy)

    KmsBackend.put_key_policy = put_key_policy


def _metric_alarms_judged_first() -> None:
    """moto stored any PutMetricAlarm, replacing the alarm of that name: a bad period or
    operator overwrote a working alarm with one that can never be evaluated."""
    from moto.cloudwatch import models as cloudwatch_models
    from moto.cloudwatch.exceptions import CloudWatchException

    original = cloudwatch_models.CloudWatchBackend.put_metric_alarm
    signature = inspect.signature(original)

    def put_metric_alarm(self: Any, *args: Any, **kwargs: Any) -> Any:
        alarm = signature.bind(self, *args, **kwargs).arguments
        _raise_refusal(refusals.metric_alarm(alarm), CloudWatchException)
        return original(self, *args, **kwargs)

    cloudwatch_models.CloudWatchBackend.put_metric_alarm = put_metric_alarm


_installed = False


def install(on_s3_change: Callable[[S3Change], None], on_sns_delivery: Callable[[SnsDelivery], None],
            on_alarm_state_change: Callable[[str, Any, str], None],
            on_function_deleted: Callable[[str], None]) -> None:
    """Take over from moto what the emulator does itself (see the module docstring). Once per process."""
    global _installed
    if _installed:
        raise RuntimeError("moto hooks are already installed in this process")
    _installed = True
    _track_no_model_instances()
    _keep_dead_letter_config()
    _replace_event_invoke_config_on_put()
    _report_deleted_functions(on_function_deleted)
    _stop_moto_event_source_delivery()
    _bound_shard_iterators()
    _mappings_are_creating_until_polled()
    _number_fifo_messages()
    _fifo_deduplication_outlives_deletion()
    _stream_records_only_for_changes()
    _remember_the_service_of_each_host()
    _roles_listed_from_a_snapshot()
    _count_sqs_traffic()
    _sqs_settings_read_without_counting()
    _dynamodb_sets_without_wrapping_members()
    _alarms_start_without_data(on_alarm_state_change)
    _evaluate_bucket_policies_in_context()
    _kms_key_operations_accept_arns()
    _hook_s3_notifications(on_s3_change)
    _hook_sns_deliveries(on_sns_delivery)
    _sqs_queues_judged_whole()
    _s3_bucket_settings_judged_whole()
    _mapping_updates_undone_on_error()
    _key_policies_judged_first()
    _metric_alarms_judged_first()
