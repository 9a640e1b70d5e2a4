"""An S3-triggered handler written with Powertools only: each object is processed once, however
often S3 delivers its event (Idempotency on a DynamoDB table), with structured logs."""

import os
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function

logger = Logger(service="digester")
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
config = IdempotencyConfig(event_key_jmespath="[bucket, key, etag]", raise_on_no_idempotency_key=True)
processed = boto3.resource("dynamodb").Table(os.environ["PROCESSED_TABLE"])


@idempotent_function(data_keyword_argument="document", persistence_store=persistence, config=config)
def process(document):
    """The side effect that must happen once per object: count it."""
    processed.update_item(
        Key={"Key": document["key"]}, UpdateExpression="ADD Times :one", ExpressionAttributeValues={":one": 1}
    )
    logger.info("processed", extra={"object_key": document["key"]})
    return {"processed": document["key"], "size": document["size"]}


@logger.inject_lambda_context
@event_source(data_class=S3Event)
def handler(event: S3Event, context):
    config.register_lambda_context(context)
    return [
        process(
            document={
                "bucket": event.bucket_name,
                "key": unquote_plus(record.s3.get_object.key),  # S3 form-encodes keys
                "etag": record.s3.get_object.etag,
                "size": record.s3.get_object.size,
            }
        )
        for record in event.records
    ]
