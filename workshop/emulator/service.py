"""The emulator's own services around moto: Lambda runtime, async invocation, deliveries.

One :class:`EmulatorService` per server process. It takes over from moto what moto does
not do faithfully (see :mod:`workshop.emulator.moto_internals`) and sends every message
it produces through the emulator's own public API, like the real services do to each other.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from workshop.backend import EMBEDDED, Backend
from workshop.emulator import moto_internals
from workshop.emulator.async_invoke import AsyncHooks, AsyncInvoker
from workshop.emulator.lambda_runtime import FunctionSpec, Invocation, LambdaRuntime
from workshop.emulator.settings import Chaos, Settings


class EmulatorService:
    account_id = moto_internals.ACCOUNT_ID

    def __init__(self, endpoint_url: str, settings: Settings | None = None, chaos: Chaos | None = None) -> None:
        self.endpoint_url = endpoint_url
        self.settings = settings or Settings.from_environment()
        self.chaos = chaos or Chaos.from_environment()
        self._work_dir = Path(tempfile.mkdtemp(prefix="workshop-lambda-"))
        self.runtime = LambdaRuntime(endpoint_url, self._work_dir, self._write_logs, self.settings.lambda_concurrency)
        self._backends: dict[str, Backend] = {}
        self._backends_lock = threading.Lock()
        self.invoker = AsyncInvoker(AsyncHooks(
            resolve=lambda region, name: self.resolve(region, name),
            invoke=lambda spec, payload, request_id: self.invoke(spec, payload, request_id=request_id),
            invoke_config=moto_internals.event_invoke_config,
            dead_letter_target=moto_internals.dead_letter_target,
            send=self.send_to_target,
        ), self.settings)
        self.deliveries = ThreadPoolExecutor(max_workers=8, thread_name_prefix="delivery")

    # ---- Lambda ---------------------------------------------------------------------

    def resolve(self, region: str, name: str, qualifier: str | None = None) -> FunctionSpec:
        return moto_internals.function_spec(region, name, qualifier)

    def invoke(self, spec: FunctionSpec, payload: bytes, client_context: Any = None,
               request_id: str | None = None) -> Invocation:
        injected = None
        if self.chaos.fail():
            injected = (f"Injected failure: the handler ran, but this invocation is reported as failed "
                        f"(teaching switch failure_rate={self.chaos.failure_rate})")
        return self.runtime.invoke(spec, payload, client_context=client_context, request_id=request_id,
                                   injected_failure=injected)

    def submit(self, region: str, function: str, payload: bytes) -> str:
        return self.invoker.submit(region, function, payload)

    def _write_logs(self, spec: FunctionSpec, stream: str, events: list[tuple[int, str]]) -> None:
        moto_internals.write_logs(spec.region, spec.log_group, stream, events)

    # ---- sending messages to other services ----------------------------------------

    def backend(self, region: str) -> Backend:
        """boto3 clients that call this emulator itself, as one AWS service calls another."""
        with self._backends_lock:
            if region not in self._backends:
                self._backends[region] = Backend(EMBEDDED, self.endpoint_url, region)
            return self._backends[region]

    def send_to_target(self, arn: str, body: str, attributes: dict[str, Any]) -> None:
        """Deliver a message to an SQS queue, an SNS topic or a Lambda function by its ARN."""
        service, region = arn.split(":")[2], arn.split(":")[3]
        clients = self.backend(region)
        if service == "sqs":
            sqs = clients.client("sqs")
            account, name = arn.split(":")[4], arn.split(":")[5]
            url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            options: dict[str, Any] = {"MessageAttributes": attributes} if attributes else {}
            if name.endswith(".fifo"):
                options.update(MessageGroupId="default", MessageDeduplicationId=str(time.time_ns()))
            sqs.send_message(QueueUrl=url, MessageBody=body, **options)
        elif service == "sns":
            sns_attributes = {k: {"DataType": v["DataType"], "StringValue": v["StringValue"]}
                              for k, v in attributes.items()}
            clients.client("sns").publish(TopicArn=arn, Message=body, MessageAttributes=sns_attributes)
        elif service == "lambda":
            self.submit(region, arn, body.encode())
        else:
            print(f"no delivery to {arn}: only SQS, SNS and Lambda targets are emulated", flush=True)

    def shutdown(self) -> None:
        self.invoker.stop()
        self.deliveries.shutdown(wait=False, cancel_futures=True)
        self.runtime.shutdown()
        shutil.rmtree(self._work_dir, ignore_errors=True)

    # ---- event sources moto hands over ------------------------------------------------

    def on_s3_change(self, change: moto_internals.S3Change) -> None:
        pass

    def on_sns_delivery(self, delivery: moto_internals.SnsDelivery) -> None:
        pass
