"""What checks of several labs share: the learner's handler files and deployed functions."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from workshop.aws import events as aws_events
from workshop.core.errors import error_code
from workshop.core.naming import TAG_KEY
from workshop.teaching.grading import Context, Fault, Incorrect, NotAttempted
from workshop.teaching.solution_markers import untouched_prompts


def require_handler_attempted(ctx: Context, relative_path: str, prompt_about: str | None = None) -> str | None:
    """The learner's handler file, or None when the learner removed it; NotAttempted while
    it still holds the lab's TODO placeholder — the one whose prompt mentions ``prompt_about``
    when a file holds the placeholders of several exercises."""
    path = ctx.workdir / relative_path
    if not path.is_file():
        return None
    source = path.read_text(encoding="utf-8")
    prompts = [p for p in untouched_prompts(source) if prompt_about is None or prompt_about in p]
    if prompts:
        raise NotAttempted(f"{relative_path} still has its placeholder for: {prompts[0]}")
    return source


def require_function(ctx: Context, purpose: str) -> dict[str, Any]:
    name = ctx.names.function(purpose)
    try:
        return ctx.client("lambda").get_function_configuration(FunctionName=name)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise NotAttempted(f"there is no function {name} yet: run the cell that deploys it") from None
        raise


def invoke_raw(ctx: Context, purpose: str, payload: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
    """Invoke the learner's function: (what it returned, None), or (None, AWS's error payload)."""
    response = ctx.client("lambda").invoke(
        FunctionName=ctx.names.function(purpose), Payload=json.dumps(payload).encode()
    )
    raw = response["Payload"].read()
    result = json.loads(raw) if raw else None
    if response.get("FunctionError"):
        error = result if isinstance(result, dict) else {"errorMessage": raw.decode(errors="replace")}
        return None, error
    return result, None


def describe_error(ctx: Context, purpose: str, error: dict[str, Any]) -> str:
    """AWS's error of a failed invocation, in one line, with where the details are."""
    name = ctx.names.function(purpose)
    return (
        f"{name} failed with {error.get('errorType', 'an error')}: {error.get('errorMessage', '')} "
        f"(its log group /aws/lambda/{name} has the details)"
    )


def invoke(ctx: Context, purpose: str, payload: dict[str, Any]) -> Any:
    """What the learner's function returned; a handler error becomes an Incorrect verdict
    quoting AWS's error (type and message), never a traceback."""
    result, error = invoke_raw(ctx, purpose, payload)
    if error is not None:
        raise Incorrect(describe_error(ctx, purpose, error))
    return result


def new_sequencer() -> str:
    """A sequencer no upload had before, as S3 gives each upload's event: hexadecimal, growing."""
    return f"{time.time_ns():016X}{next(_sequencers):04X}"


_sequencers = itertools.count()


def s3_put_event(
    ctx: Context, bucket: str, key: str, size: int, check_id: str, sequencer: str | None = None
) -> dict[str, Any]:
    """The event S3 sends a function for a PutObject, as a check hands it to the learner's handler.
    Each call is a new upload unless ``sequencer`` repeats an earlier event's: a redelivery."""
    return aws_events.s3_event(
        [
            aws_events.s3_event_record(
                event_name="ObjectCreated:Put",
                region=ctx.aws.region,
                bucket=bucket,
                bucket_arn=f"arn:aws:s3:::{bucket}",
                key=key,
                size=size,
                etag="0" * 32,
                version_id=None,
                configuration_id=f"check-{check_id}",
                sequencer=sequencer or new_sequencer(),
            )
        ]
    )


def describe_table(ctx: Context, purpose: str) -> dict[str, Any] | None:
    """The learner's table ``<prefix>-<purpose>`` as DescribeTable says, or None when it does not exist."""
    try:
        return ctx.client("dynamodb").describe_table(TableName=ctx.names.table(purpose))["Table"]
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return None
        raise


def table_setting_faults(ctx: Context, table: dict[str, Any]) -> list[Fault]:
    """What every table of the labs needs beside its keys, on-demand billing and the participant's
    tag, as faults: both can be fixed on the existing table, unlike its keys."""
    name = table["TableName"]
    faults = []
    billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    if billing != "PAY_PER_REQUEST":
        faults.append(
            Fault(
                f"{name} is {billing}; use BillingMode='PAY_PER_REQUEST' (no capacity to size or pay for while idle)",
                hint=f"dynamodb.update_table(TableName='{name}', BillingMode='PAY_PER_REQUEST') changes "
                "it in place; create_table takes BillingMode='PAY_PER_REQUEST' next time",
            )
        )
    tags = {
        t["Key"]: t["Value"]
        for t in ctx.client("dynamodb").list_tags_of_resource(ResourceArn=table["TableArn"]).get("Tags", [])
    }
    if tags.get(TAG_KEY) != ctx.names.prefix:
        faults.append(
            Fault(
                f"{name} is not tagged {TAG_KEY}={ctx.names.prefix}, so teardown would never find it",
                hint=f"dynamodb.tag_resource(ResourceArn=<the table's ARN>, Tags=[{{'Key': '{TAG_KEY}', "
                f"'Value': names.prefix}}]) tags the existing table; create_table takes the same "
                "Tags=[...]",
            )
        )
    return faults


def require_table_tagged_on_demand(ctx: Context, table: dict[str, Any]) -> None:
    """What every table of the labs needs beside its keys: on-demand billing and the participant's tag."""
    faults = table_setting_faults(ctx, table)
    if faults:
        raise Incorrect(*faults)


def stream_event(
    stream_arn: str, changes: list[tuple[str, dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]]
) -> dict[str, Any]:
    """The event a stream's mapping hands a function: one record per (eventName, keys, new item,
    old item), items as Python values, sequence numbers in order."""
    serialize = TypeSerializer().serialize
    base = int(time.time() * 1000) * 1000
    records = []
    for n, (event_name, keys, new, old) in enumerate(changes):
        change: dict[str, Any] = {
            "ApproximateCreationDateTime": time.time(),
            "Keys": {k: serialize(v) for k, v in keys.items()},
            "SequenceNumber": str(base + n),
            "SizeBytes": 100,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        for field, item in (("NewImage", new), ("OldImage", old)):
            if item is not None:
                change[field] = {k: serialize(v) for k, v in item.items()}
        records.append(
            aws_events.dynamodb_lambda_record(
                {"eventID": uuid.uuid4().hex, "eventName": event_name, "dynamodb": change}, stream_arn=stream_arn
            )
        )
    return {"Records": records}


def mappings_of(ctx: Context, event_source_arn: str, purpose: str) -> list[dict[str, Any]]:
    """The event-source mappings from this stream or queue to the learner's function."""
    return ctx.client("lambda").list_event_source_mappings(
        EventSourceArn=event_source_arn, FunctionName=ctx.names.function(purpose)
    )["EventSourceMappings"]
