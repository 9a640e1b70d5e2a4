"""A channel's enqueuer: each new record in the stream becomes one job on the channel's FIFO queue.

The mapping's filter hands it only INSERTs of its own channel; the deduplication id is the
record's key, so a retried stream batch never queues the same job twice. Jobs go up to ten
and 1 MiB to a SendMessageBatch call (SQS's limits for one call): the stream's one shard is
handled one batch at a time, so this function's calls set the pace of the whole channel.
"""

import json
import os

import boto3
from boto3.dynamodb.types import TypeDeserializer

sqs = boto3.client("sqs")
deserialize = TypeDeserializer().deserialize
QUEUE_URL, GROUP_FIELD = os.environ["QUEUE_URL"], os.environ["GROUP_FIELD"]
MOST_PER_CALL, MOST_BYTES_PER_CALL = 10, 1024 * 1024


def calls(jobs):
    """The jobs in order, cut into SendMessageBatch-sized runs."""
    run, size = [], 0
    for job in jobs:
        body = len(job["MessageBody"].encode())
        if run and (len(run) == MOST_PER_CALL or size + body > MOST_BYTES_PER_CALL):
            yield run
            run, size = [], 0
        run.append(job)
        size += body
    if run:
        yield run


def handler(event, context):
    jobs = []
    for change in event["Records"]:
        item = {name: deserialize(value) for name, value in change["dynamodb"]["NewImage"].items()}
        jobs.append(
            {
                "MessageBody": json.dumps(item, sort_keys=True),
                "MessageGroupId": str(item[GROUP_FIELD]),
                "MessageDeduplicationId": item["RecordKey"],
            }
        )
    for chunk in calls(jobs):
        answer = sqs.send_message_batch(
            QueueUrl=QUEUE_URL, Entries=[{"Id": str(n), **job} for n, job in enumerate(chunk)]
        )
        if answer.get("Failed"):
            # Raising makes the mapping retry the whole stream batch, in order; the jobs already
            # queued are dropped by their deduplication ids.
            failed = answer["Failed"][0]
            raise RuntimeError(
                f"{len(answer['Failed'])} of {len(chunk)} jobs not queued, the first "
                f"({chunk[int(failed['Id'])]['MessageDeduplicationId']}): {failed.get('Code')} "
                f"{failed.get('Message', '')}".rstrip()
            )
    print(f"queued {len(jobs)} jobs")
    return {"queued": len(jobs)}
