"""Every piece of moto the emulator relies on beyond its public server, one module per service.

moto's internals change between releases without notice. Keeping each use here, written for
the exact release pinned in :mod:`.server` (``PINNED_MOTO_VERSION``, moto 5.2.5, the one
``requirements.txt`` installs), means an upgrade fails in one place, loudly, in
``tests/emulator/test_moto_adapters.py``, instead of misbehaving across the emulator. Only
these modules import moto.

What the emulator takes over from moto, and why (moto 5.2.5):
- moto reads any dotted host name as ``<bucket>.<domain>``, so a class served at a host name
  lost every S3 request; the host names a bucket only in S3's own forms (:mod:`.s3`).
- S3 bucket notifications (:mod:`.s3`): moto's events lack userIdentity, requestParameters,
  responseElements, sequencer and encode ``/`` in keys; Lambda targets need Docker;
  CompleteMultipartUpload also fires ObjectCreated:Put and ObjectTagging:Put; a versioned
  delete never announces its delete marker.
- SNS deliveries (:mod:`.sns`): moto's envelope has placeholder ids and timestamps; Lambda
  needs Docker.
- Event-source mappings (:mod:`.event_source_mappings`): moto delivers synchronously, ignores
  BatchSize and filters, and empties the DynamoDB stream shard; the emulator's pollers replace
  that delivery.
- FIFO messages (:mod:`.sqs`) get random SequenceNumbers, and only some of them; a
  deduplication id is forgotten as soon as its message is deleted, so a retried send a moment
  later is queued again (AWS drops it for five minutes, deleted or not).
- SQS's dead-letter queue redrive (StartMessageMoveTask, ListMessageMoveTasks,
  CancelMessageMoveTask) is not implemented (:mod:`.sqs_redrive`).
- An SQS delete (:mod:`.sqs_deletes`) replaces the queue's message list without its lock (a
  message sent meanwhile was lost), and reads every message's receipt handles to find its own.
- SQS publishes no CloudWatch metrics (:mod:`.sqs`); alarms start in OK, are never evaluated,
  and SetAlarmState notifies nobody (:mod:`.cloudwatch`).
- Bucket policies are evaluated without request context (every Condition denies) and
  unknown, disabled or pending-deletion KMS keys are accepted for SSE-KMS (:mod:`.s3`,
  :mod:`.kms`).
- DeadLetterConfig is dropped by moto; PutFunctionEventInvokeConfig appends instead of
  replacing, so GetFunctionEventInvokeConfig answers with the first config ever put
  (:mod:`.functions`). moto also stores a MemorySize outside 128-10,240 MB and a package over
  250 MB unzipped, which Lambda refuses (:mod:`.functions`).
- DynamoDB streams (:mod:`.dynamodb`): an UpdateItem that creates an item writes a keys-only
  INSERT before the real one, and a write that changes nothing writes a MODIFY; AWS writes
  neither.
- CreateRestApi drops binaryMediaTypes (:mod:`.apigateway`).
- Each request's service is looked up on disk (moto lists its own package folder): the
  answer per host is remembered (:mod:`.server`).
- Each request lists its service handler's methods anew to find its action: listed once per
  handler class (:mod:`.server`).
- IAM role lookups iterate a dict other requests change: a parallel class setup fails
  (:mod:`.iam`).
- SQS deletes rebuild a queue's message list without the lock sends take: two deletes and a
  send at once lost the message sent, silently (:mod:`.sqs`).
- SQS reads the clock through ``datetime`` for every message it looks at, twice a message of
  the backlog for each receive (:mod:`.sqs`).
- SQS reads a queue setting through ``Queue.attributes``, which counts every message of the
  queue three times: SendMessage reads it four times, ReceiveMessage once per message it
  returns, so both slow down as a backlog grows (:mod:`.sqs`).
- DynamoDB sizes and compares a set by wrapping each member in a new object, for every write
  to the item: writes slow down as a set grows (:mod:`.dynamodb`).
- The emulator's own pollers read a stream (:mod:`.dynamodb`) and work a queue
  (:mod:`.sqs_receive`) in process, not through HTTP requests to the emulator itself.
- GetRecords is answered through moto's generic serializer, which looks up every value of every
  stream record's images against the service model: milliseconds per record (:mod:`.dynamodb`).
- moto lists every model instance it makes and never lets one go: memory grows without end;
  and every lookup of an account's backends scans moto's list of them, comparing whole
  backends (:mod:`.state`).
- A refused call must change nothing, but moto validates little, and some of it after storing
  part of the request (SetQueueAttributes keeps the RedrivePolicy it refuses; an
  UpdateEventSourceMapping naming an unknown function keeps the BatchSize given before it).
  Each call the labs make is judged whole by :mod:`workshop.aws.refusals` before moto runs it,
  and what moto still changes before failing is put back (:mod:`.atomic`, used by each
  service's module).

The measurements behind these are in ``bench/FINDINGS.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

# moto's API Gateway checks OpenAPI documents with jsonschema, which, when rfc3987_syntax is
# installed (JupyterLab's packages bring it), builds an IRI grammar as it is imported: two
# seconds of CPU at every emulator start, for a format ("iri") no OpenAPI document uses.
# Without the module jsonschema leaves that one format unchecked.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]

from workshop.emulator.moto_adapters import (  # noqa: E402 - after the line above
    apigateway,
    cloudwatch,
    dynamodb,
    event_source_mappings,
    functions,
    iam,
    kms,
    s3,
    server,
    sns,
    sqs,
    sqs_deletes,
    sqs_redrive,
    state,
)
from workshop.emulator.moto_adapters.s3 import S3Change  # noqa: E402
from workshop.emulator.moto_adapters.sns import SnsDelivery  # noqa: E402

__all__ = [
    "apigateway",
    "atomic",
    "cloudwatch",
    "dynamodb",
    "event_source_mappings",
    "functions",
    "iam",
    "kms",
    "logs",
    "s3",
    "server",
    "sns",
    "sqs",
    "sqs_deletes",
    "sqs_receive",
    "sqs_redrive",
    "state",
]

_installed = False


def install(
    on_s3_change: Callable[[S3Change], None],
    on_sns_delivery: Callable[[SnsDelivery], None],
    on_alarm_state_change: Callable[[str, Any, str], None],
    on_function_deleted: Callable[[str], None],
    on_source_written: Callable[[str], None],
    on_dead_lettered: Callable[[str, str, int], None],
) -> None:
    """Take over from moto what the emulator does itself (see the package docstring). Once per
    process. The order is the one the patches were written in: two patches of one method (SQS's
    add_message and send_message) wrap each other in it."""
    global _installed
    if _installed:
        raise RuntimeError("moto hooks are already installed in this process")
    _installed = True
    state._track_no_model_instances()
    state._backends_found_without_a_scan()
    functions._keep_dead_letter_and_tracing_config()
    functions._replace_event_invoke_config_on_put()
    functions._report_deleted_functions(on_function_deleted)
    functions._refuse_what_lambda_refuses()
    event_source_mappings._stop_moto_event_source_delivery()
    dynamodb._bound_shard_iterators()
    dynamodb._stream_records_served_as_stored()
    event_source_mappings._mappings_are_creating_until_polled()
    sqs._sqs_clock_without_datetime()
    sqs_deletes.install()
    sqs._number_fifo_messages()
    sqs._fifo_deduplication_outlives_deletion()
    dynamodb._stream_records_only_for_changes(on_source_written)
    server._remember_the_service_of_each_host()
    server._names_converted_once()
    server._actions_listed_once()
    iam._roles_listed_from_a_snapshot()
    sqs._count_sqs_traffic()
    sqs._ring_on_deliverable_changes(on_source_written)
    sqs._sqs_settings_read_without_counting()
    sqs._messages_carry_the_senders_trace_header()
    sqs._tell_dead_letter_moves(on_dead_lettered)
    sqs_redrive._install()
    dynamodb._dynamodb_sets_without_wrapping_members()
    dynamodb._item_operations_one_at_a_time()
    cloudwatch._alarms_start_without_data(on_alarm_state_change)
    s3._evaluate_bucket_policies_in_context()
    kms._kms_key_operations_accept_arns()
    s3._hook_s3_notifications(on_s3_change)
    sns._hook_sns_deliveries(on_sns_delivery)
    sqs._sqs_queues_judged_whole()
    s3._s3_bucket_settings_judged_whole()
    s3._bucket_hosts_as_the_kit_reads_them()
    event_source_mappings._mapping_updates_undone_on_error()
    kms._key_policies_judged_first()
    cloudwatch._metric_alarms_judged_first()
    server.before_first_use("apigateway", apigateway._keep_binary_media_types)
