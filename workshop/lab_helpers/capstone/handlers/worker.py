"""A channel's worker: each job from the FIFO queue becomes an output object for the next system.

The record is written as it came, every property included, so a new column in tomorrow's files
reaches the output without a change here.

Two kinds of failure, two answers. A job that can never succeed (its body is not a job: a
poison message) is parked in the dead-letter queue at once, with the reason; retrying it would
only hold up the jobs queued behind it in its group. A job that failed for a reason that may
pass (S3 refused the write) is handed back (ReportBatchItemFailures) to be retried, and so is
every later job of the same message group in the batch, unprocessed: doing them now would
overtake it. After the queue's maxReceiveCount a job that keeps failing lands in the
dead-letter queue too.
"""

import json
import os

import boto3

s3 = boto3.client("s3")
sqs = boto3.client("sqs")
OUTPUT, DEAD_LETTERS = os.environ["OUTPUT_BUCKET"], os.environ["DEAD_LETTER_URL"]
BOOKKEEPING = ("RecordKey", "Channel", "SourceFile")


def read_job(body):
    """(output key, document) of a job, or ValueError when the body is not a job at all."""
    try:
        job = json.loads(body)
        record = {name: value for name, value in job.items() if name not in BOOKKEEPING}
        key = f"{job['Channel']}/{job['RecordKey'].split('#', 1)[1]}.json"
        return key, {"source": job["SourceFile"], "record": record}
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        raise ValueError(f"not a job: {type(error).__name__}: {error}") from None


def park(message, reason):
    """Move a poison message to the dead-letter queue now, saying why."""
    group = message.get("attributes", {}).get("MessageGroupId", "poison")
    sqs.send_message(
        QueueUrl=DEAD_LETTERS,
        MessageBody=message["body"],
        MessageGroupId=group,
        MessageDeduplicationId=message["messageId"],
        MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:256]}},
    )
    print(f"job {message['messageId']} parked in the dead-letter queue: {reason}")


def handler(event, context):
    failures, held_groups = [], set()
    for message in event["Records"]:
        group = message.get("attributes", {}).get("MessageGroupId")
        if group in held_groups:  # an earlier job of this group failed: keep the group's order
            failures.append({"itemIdentifier": message["messageId"]})
            continue
        try:
            key, document = read_job(message["body"])
        except ValueError as poison:
            park(message, str(poison))
            continue
        try:
            s3.put_object(
                Bucket=OUTPUT,
                Key=key,
                Body=json.dumps(document, sort_keys=True).encode(),
                ContentType="application/json",
            )
        except Exception as error:  # may pass on a retry: hand it back, with its group's later jobs
            print(f"job {message['messageId']} failed: {type(error).__name__}: {error}")
            failures.append({"itemIdentifier": message["messageId"]})
            held_groups.add(group)
    return {"batchItemFailures": failures}
