"""A channel's enqueuer: each new record in the stream becomes one job on the channel's FIFO queue.

The mapping's filter hands it only INSERTs of its own channel; the deduplication id is the
record's key, so a retried stream batch never queues the same job twice.
"""

import json
import os

import boto3
from boto3.dynamodb.types import TypeDeserializer

sqs = boto3.client("sqs")
deserialize = TypeDeserializer().deserialize
QUEUE_URL, GROUP_FIELD = os.environ["QUEUE_URL"], os.environ["GROUP_FIELD"]


def handler(event, context):
    queued = 0
    for change in event["Records"]:
        item = {name: deserialize(value) for name, value in change["dynamodb"]["NewImage"].items()}
        sqs.send_message(QueueUrl=QUEUE_URL, MessageBody=json.dumps(item, sort_keys=True),
                         MessageGroupId=str(item[GROUP_FIELD]), MessageDeduplicationId=item["RecordKey"])
        queued += 1
    print(f"queued {queued} jobs")
    return {"queued": queued}
