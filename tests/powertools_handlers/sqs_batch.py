"""An SQS consumer written with Powertools' BatchProcessor: a poison message is reported as a
partial batch failure, so only it is retried (and dead-lettered), never the messages around it."""

import json
import os

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

processor = BatchProcessor(event_type=EventType.SQS)
processed = boto3.resource("dynamodb").Table(os.environ["PROCESSED_TABLE"])


def record_handler(record: SQSRecord):
    job = record.json_body
    if job.get("poison"):
        raise ValueError(f"job {job['id']} cannot be done")
    processed.update_item(
        Key={"Key": job["id"]}, UpdateExpression="ADD Times :one", ExpressionAttributeValues={":one": 1}
    )


def handler(event, context):
    print(json.dumps({"batch": [json.loads(r["body"])["id"] for r in event["Records"]]}))
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    print(json.dumps({"response": response}))
    return response
