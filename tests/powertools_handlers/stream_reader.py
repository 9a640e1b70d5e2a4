"""A DynamoDB Streams handler reading its records through Powertools' DynamoDBStreamEvent:
event names, keys and both images as Python values."""

import json

from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent, event_source


@event_source(data_class=DynamoDBStreamEvent)
def handler(event: DynamoDBStreamEvent, context):
    count = 0
    for count, record in enumerate(event.records, start=1):  # noqa: B007 - records is a generator: count it as read
        print(
            json.dumps(
                {
                    "change": record.event_name.name,
                    "keys": record.dynamodb.keys,
                    "old": record.dynamodb.old_image,
                    "new": record.dynamodb.new_image,
                    "view": record.dynamodb.stream_view_type.name,
                    "source_arn": record.event_source_arn,
                },
                default=str,
                sort_keys=True,
            )
        )
    return {"records": count}
