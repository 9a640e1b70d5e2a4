"""The emulator's own services around moto: Lambda runtime, async invocation, deliveries.

One :class:`EmulatorService` per server process. It does itself what moto does not do
faithfully (see :mod:`workshop.emulator.moto_adapters`) and sends every message
it produces through the emulator's own public API, like the real services do to each other.
"""

from __future__ import annotations

import base64
import gc
import itertools
import json
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from workshop.aws import events as aws_events
from workshop.aws import xray
from workshop.core.backend import EMBEDDED, Backend
from workshop.emulator import http_delivery
from workshop.emulator.cloudwatch import CloudWatch
from workshop.emulator.functions.async_invoke import AsyncHooks, AsyncInvoker
from workshop.emulator.functions.pollers import MappingSupervisor
from workshop.emulator.functions.runtime import FunctionSpec, Invocation, LambdaRuntime
from workshop.emulator.functions.source_bells import SourceBells
from workshop.emulator.moto_adapters import functions as moto_functions
from workshop.emulator.moto_adapters import logs as moto_logs
from workshop.emulator.moto_adapters import server as moto_server
from workshop.emulator.moto_adapters.s3 import S3Change
from workshop.emulator.moto_adapters.sns import SnsDelivery
from workshop.emulator.scopes import ScopedChaos
from workshop.emulator.settings import Chaos, Settings
from workshop.emulator.tracing import DUPLICATE_DELIVERY, Tracing
from workshop.emulator.webhooks import WebhookInbox
from workshop.emulator.xray_store import TraceStore


class EmulatorService:
    account_id = moto_server.ACCOUNT_ID

    def __init__(self, endpoint_url: str, settings: Settings | None = None, chaos: Chaos | None = None) -> None:
        self.endpoint_url = endpoint_url
        self.settings = settings or Settings.from_environment()
        self.chaos = ScopedChaos(chaos or Chaos.from_environment())
        self._work_dir = Path(tempfile.mkdtemp(prefix="workshop-lambda-"))
        self.runtime = LambdaRuntime(
            endpoint_url,
            self._work_dir,
            self._write_logs,
            self.settings.lambda_concurrency,
            idle_seconds=self.settings.idle_worker_seconds,
            fork_workers=self.settings.fork_workers,
        )
        self._backends: dict[str, Backend] = {}
        self._backends_lock = threading.Lock()
        self.invoker = AsyncInvoker(
            AsyncHooks(
                resolve=lambda region, name: self.resolve(region, name),
                invoke=lambda spec, payload, request_id, trace, notes, received_at: self.invoke(
                    spec,
                    payload,
                    request_id=request_id,
                    retried_by="async",
                    trace=trace,
                    notes=notes,
                    received_at=received_at,
                ),
                invoke_config=moto_functions.event_invoke_config,
                dead_letter_target=moto_functions.dead_letter_target,
                send=self.send_to_target,
            ),
            self.settings,
        )
        self.deliveries = ThreadPoolExecutor(max_workers=8, thread_name_prefix="delivery")
        self._last_sequence = 0
        self._invocations: dict[str, dict[str, int]] = {}
        self._deliveries_pending = 0
        # S3 and SNS deliveries not yet made, saved with the state: a restart makes them then
        self._undelivered: dict[int, tuple[str, Any]] = {}
        self._stopping = False
        self._delivery_ids = itertools.count()
        self.bells = SourceBells()  # rung by moto_adapters on writes to a queue or a stream
        self.mappings = MappingSupervisor(self)
        self.cloudwatch = CloudWatch(self, self.settings.metric_minute_seconds)
        self.webhooks = WebhookInbox()
        self.traces = TraceStore()  # X-Ray's segments (workshop.emulator.xray_api answers them)
        self.tracing = Tracing(self.traces)
        self.snapshots: Any = None  # the server's persistence.Snapshotter, when state is saved

    # ---- Lambda ---------------------------------------------------------------------

    def resolve(self, region: str, name: str, qualifier: str | None = None) -> FunctionSpec:
        return moto_functions.function_spec(region, name, qualifier)

    def invoke(
        self,
        spec: FunctionSpec,
        payload: bytes,
        client_context: Any = None,
        request_id: str | None = None,
        retried_by: str | None = None,
        trace: str | None = None,
        notes: dict[str, Any] | None = None,
        received_at: float | None = None,
        links: list[str] | None = None,
    ) -> Invocation:
        """Run the function once. ``retried_by``: what retries it when it fails (async, stream
        or sqs), None for a synchronous invoke; only retried ones get the failure switch's
        injected failures (see :class:`Chaos`). ``trace``: the trace header that came with the
        event; ``notes``: what only the emulator knows of this delivery, annotated on an Active
        function's trace (see :mod:`workshop.emulator.tracing`); ``received_at``: when Lambda
        took the event (epoch seconds; now when not given); ``links``: the trace headers of the
        messages of an SQS batch, whose traces the invocation's links to."""
        injected = None
        chaos = self.chaos.for_resource(spec.name)
        if retried_by and chaos.fail(retried_by):
            injected = (
                f"Injected failure: the handler ran, but this invocation is reported as failed "
                f"(teaching switch failure_rate={chaos.failure_rate})"
            )
        notes = dict(notes or {})
        if injected:
            notes["emulator_injected_failure"] = True
        traced = self.tracing.begin(spec, trace, received_at, links)
        try:
            result = self.runtime.invoke(
                spec,
                payload,
                client_context=client_context,
                request_id=request_id,
                injected_failure=injected,
                trace_header=str(traced.header),
            )
        finally:
            self.tracing.close(traced)
        self.tracing.finish(traced, spec, result, time.time(), notes)
        with self._backends_lock:
            counts = self._invocations.setdefault(spec.name, {"ok": 0, "error": 0})
            counts["error" if result.function_error else "ok"] += 1
        return result

    def stats(self) -> dict[str, Any]:
        """Counters for tests and benchmarks: invocations per function, work still queued."""
        with self._backends_lock:
            invocations = {name: dict(counts) for name, counts in self._invocations.items()}
            delivering = self._deliveries_pending
        idle = not delivering and self.invoker.idle() and not self.mappings.busy()
        return {
            "invocations": invocations,
            "idle": idle,
            "mappings": self.mappings.stats(),
            "snapshots": self.snapshots.stats() if self.snapshots else None,
            # off while the emulator starts, on once it serves (workshop.emulator.server)
            "garbage_collection": {"enabled": gc.isenabled()},
        }

    def saved_work(self) -> dict[str, Any]:
        """The emulator's own state worth a restart (moto's is saved beside it): S3 and SNS
        deliveries not made yet, and asynchronous events waiting or running. Taken before
        moto's state: a delivery made in between is made again after a restart (at least
        once, as AWS delivers), never lost."""
        with self._backends_lock:
            undelivered = list(self._undelivered.values())
        return {"deliveries": undelivered, "async_events": self.invoker.saved()}

    def resume_work(self, saved: dict[str, Any]) -> None:
        for kind, item in saved.get("deliveries", []):
            (self.on_s3_change if kind == "s3" else self.on_sns_delivery)(item)
        self.invoker.resume(saved.get("async_events", []))

    def submit(
        self, region: str, function: str, payload: bytes, trace: str | None = None, delivery: str | None = None
    ) -> str:
        return self.invoker.submit(region, function, payload, trace=trace, delivery=delivery)

    def _write_logs(self, spec: FunctionSpec, stream: str, events: list[tuple[int, str]]) -> None:
        moto_logs.write_logs(spec.region, spec.log_group, stream, events)

    # ---- sending messages to other services ----------------------------------------

    def backend(self, region: str) -> Backend:
        """boto3 clients that call this emulator itself, as one AWS service calls another."""
        with self._backends_lock:
            if region not in self._backends:
                self._backends[region] = Backend(EMBEDDED, self.endpoint_url, region)
            return self._backends[region]

    def send_to_target(
        self,
        arn: str,
        body: str,
        attributes: dict[str, Any],
        group_id: str | None = None,
        deduplication_id: str | None = None,
        trace: str | None = None,
    ) -> None:
        """Deliver a message to an SQS queue, an SNS topic or a Lambda function by its ARN,
        with the trace header of what caused it (SQS keeps it as the AWSTraceHeader)."""
        service, region = arn.split(":")[2], arn.split(":")[3]
        clients = self.backend(region)
        if service == "sqs":
            sqs = clients.client("sqs")
            account, name = arn.split(":")[4], arn.split(":")[5]
            url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            options: dict[str, Any] = {"MessageAttributes": attributes} if attributes else {}
            if name.endswith(".fifo"):
                options.update(
                    MessageGroupId=group_id or "default", MessageDeduplicationId=deduplication_id or str(time.time_ns())
                )
            with xray.sending(sqs, trace):
                sqs.send_message(QueueUrl=url, MessageBody=body, **options)
        elif service == "sns":
            sns_attributes = {
                k: {"DataType": v["DataType"], "StringValue": v["StringValue"]} for k, v in attributes.items()
            }
            with xray.sending(clients.client("sns"), trace) as sns:
                sns.publish(TopicArn=arn, Message=body, MessageAttributes=sns_attributes)
        elif service == "lambda":
            self.submit(region, arn, body.encode(), trace=trace)
        else:
            print(f"no delivery to {arn}: only SQS, SNS and Lambda targets are emulated", flush=True)

    def on_alarm_state_change(self, region: str, alarm: Any, old_state: str) -> None:
        """SetAlarmState: AWS runs the new state's actions as for an evaluated change."""
        self._schedule(lambda item, copies=1: self.cloudwatch.notify(*item), (region, alarm, old_state), alarm.name)

    def begin_shutdown(self) -> None:
        """From now on a delivery that does not finish is kept for the saved state."""
        self._stopping = True

    def shutdown(self) -> None:
        self.begin_shutdown()
        self.cloudwatch.stop()
        self.mappings.stop()
        self.invoker.stop()
        self.deliveries.shutdown(wait=False, cancel_futures=True)
        self.runtime.shutdown()
        shutil.rmtree(self._work_dir, ignore_errors=True)

    # ---- event sources moto hands over ------------------------------------------------
    # moto calls these inside the request that caused the event; delivery happens in the
    # background, as on AWS, so the uploader's request returns at once.

    def on_s3_change(self, change: S3Change) -> None:
        self._schedule(self._deliver_s3, change, change.bucket, saved_as="s3")

    def on_sns_delivery(self, delivery: SnsDelivery) -> None:
        self._schedule(self._deliver_sns, delivery, delivery.topic_arn.rsplit(":", 1)[-1], saved_as="sns")

    def _schedule(self, deliver: Any, item: Any, source: str, saved_as: str | None = None) -> None:
        """Deliver ``item`` in the background, under the teaching switches of ``source``'s owner
        (the bucket, topic or alarm name)."""
        delivery_id = next(self._delivery_ids)
        with self._backends_lock:
            self._deliveries_pending += 1
            if saved_as:
                self._undelivered[delivery_id] = (saved_as, item)
        chaos = self.chaos.for_resource(source)
        task = (self._guarded, deliver, item, source, delivery_id)
        if chaos.delay_ms:
            # Waited on a timer, not in a delivery thread: the threads are the whole class's, and
            # one participant's delay switch must not hold back everyone else's events.
            timer = threading.Timer(chaos.delay_ms / 1000, self._submit_delivery, task)
            timer.daemon = True
            timer.start()
        else:
            self._submit_delivery(*task)

    def _submit_delivery(self, *task: Any) -> None:
        try:
            self.deliveries.submit(*task)
        except RuntimeError:  # the server stopped meanwhile: the item stays undelivered, saved
            with self._backends_lock:
                self._deliveries_pending -= 1

    def _guarded(self, deliver: Any, item: Any, source: str, delivery_id: int) -> None:
        done_with = True
        try:
            chaos = self.chaos.for_resource(source)
            deliver(item, copies=2 if chaos.duplicate() else 1)
        except Exception as error:  # a broken target must not stop other deliveries
            if self._stopping:  # the server is going: kept in _undelivered, saved, made after the restart
                done_with = False
            else:
                print(f"delivery of {item!r} failed: {error!r}", flush=True)
        finally:
            with self._backends_lock:
                self._deliveries_pending -= 1
                if done_with:
                    self._undelivered.pop(delivery_id, None)

    def _deliver_s3(self, change: S3Change, copies: int = 1) -> None:
        """Build each target's event once; a duplicate is the same event delivered again."""
        for kind, arn, configuration_id in change.targets:
            record = aws_events.s3_event_record(
                event_name=change.event_name,
                region=change.region,
                bucket=change.bucket,
                bucket_arn=change.bucket_arn,
                key=change.key,
                size=change.size,
                etag=change.etag,
                version_id=change.version_id,
                configuration_id=configuration_id,
                sequencer=self._sequencer(),
            )
            body = json.dumps(aws_events.s3_event([record]))
            trace = getattr(change, "trace", None)  # a change saved by an older emulator has none
            for copy in range(copies):
                if kind == "lambda":
                    self.submit(arn.split(":")[3], arn, body.encode(), trace=trace, delivery=_delivery(copy))
                elif kind == "sns":
                    with xray.sending(self.backend(arn.split(":")[3]).client("sns"), trace) as sns:
                        sns.publish(TopicArn=arn, Subject="Amazon S3 Notification", Message=body)
                else:
                    self.send_to_target(arn, body, {}, trace=trace)

    def _sequencer(self) -> str:
        """S3's sequencer: hexadecimal, growing with each event, comparable for one key."""
        with self._backends_lock:
            self._last_sequence = max(self._last_sequence + 1, time.time_ns())
            return f"{self._last_sequence:016X}"

    def _deliver_sns(self, delivery: SnsDelivery, copies: int = 1) -> None:
        notification = aws_events.sns_notification(
            message_id=delivery.message_id,
            topic_arn=delivery.topic_arn,
            subject=delivery.subject,
            message=delivery.message,
            message_attributes=delivery.message_attributes,
            unsubscribe_url=f"{self.endpoint_url}/?Action=Unsubscribe&SubscriptionArn={delivery.subscription_arn}",
            signing_cert_url=f"{self.endpoint_url}/SimpleNotificationService-local.pem",
        )
        trace = getattr(delivery, "trace", None)  # a delivery saved by an older emulator has none
        for copy in range(copies):
            if delivery.protocol == "lambda":
                event = {
                    "Records": [aws_events.sns_lambda_record(notification, subscription_arn=delivery.subscription_arn)]
                }
                region = delivery.endpoint.split(":")[3]
                self.submit(
                    region, delivery.endpoint, json.dumps(event).encode(), trace=trace, delivery=_delivery(copy)
                )
            elif delivery.protocol == "sqs":
                if delivery.raw and len(delivery.message_attributes) > RAW_DELIVERY_MAX_ATTRIBUTES:
                    return  # discarded: https://docs.aws.amazon.com/sns/latest/dg/SNSMessageAttributes.html
                if delivery.raw:
                    body, attributes = delivery.message, _sqs_attributes(delivery.message_attributes)
                else:
                    body, attributes = json.dumps(notification), {}
                self.send_to_target(
                    delivery.endpoint,
                    body,
                    attributes,
                    group_id=delivery.group_id,
                    deduplication_id=delivery.deduplication_id,
                    trace=trace,
                )
            else:
                # On a thread of its own: an endpoint that never answers (three attempts of 5 s)
                # must not hold a delivery thread the whole class shares.
                threading.Thread(
                    target=http_delivery.post_notification,
                    args=(delivery.endpoint, notification, delivery.subscription_arn),
                    daemon=True,
                    name="sns-http",
                ).start()


def _delivery(copy: int) -> str | None:
    """The emulator's word for a delivery, on its trace: the teaching switch's extra copies."""
    return DUPLICATE_DELIVERY if copy else None


RAW_DELIVERY_MAX_ATTRIBUTES = 10  # more, and SNS discards a raw delivery to SQS


def _sqs_attributes(sns_attributes: dict[str, Any]) -> dict[str, Any]:
    """SNS message attributes in SQS's form, as raw message delivery passes them on."""
    converted = {}
    for name, attribute in sns_attributes.items():
        data_type = attribute["Type"]
        if data_type.startswith("Binary"):
            # SNS holds a binary value as base64 text; SQS's BinaryValue is the bytes themselves
            # (https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html)
            converted[name] = {"DataType": data_type, "BinaryValue": base64.b64decode(attribute["Value"])}
        else:
            converted[name] = {"DataType": data_type, "StringValue": str(attribute["Value"])}
    return converted
