"""IAM policy documents of a participant's roles, scoped to that participant's prefix.

Least privilege is part of the lesson: a handler can touch only resources whose names
start with its own prefix, so one learner's code can never reach another's.
"""

from __future__ import annotations

import json

from workshop.core.naming import TAG_KEY, Names

LAMBDA_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def lambda_execution_policy(names: Names) -> str:
    """What the workshop's handlers may do: logs, objects, items, streams, messages, keys, traces."""
    own = f"{names.prefix}-*"
    statements = [
        {
            "Sid": "OwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"arn:aws:logs:*:*:log-group:/aws/lambda/{own}",
        },
        {
            "Sid": "OwnBuckets",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": f"arn:aws:s3:::{own}",
        },
        {
            "Sid": "OwnObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectTagging", "s3:PutObjectTagging"],
            "Resource": f"arn:aws:s3:::{own}/*",
        },
        {
            "Sid": "OwnTablesAndStreams",
            "Effect": "Allow",
            "Action": [
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
                "dynamodb:Scan",
                "dynamodb:BatchWriteItem",
                "dynamodb:BatchGetItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:DescribeTable",
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
            ],
            "Resource": [f"arn:aws:dynamodb:*:*:table/{own}", f"arn:aws:dynamodb:*:*:table/{own}/stream/*"],
        },
        {
            "Sid": "OwnTopics",
            "Effect": "Allow",
            "Action": ["sns:Publish"],
            "Resource": f"arn:aws:sns:*:*:{own}",
        },
        {
            "Sid": "OwnQueues",
            "Effect": "Allow",
            "Action": [
                "sqs:SendMessage",
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
            ],
            "Resource": f"arn:aws:sqs:*:*:{own}",
        },
        {
            "Sid": "OwnKeys",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {f"aws:ResourceTag/{TAG_KEY}": names.prefix}},
        },
        {
            # An Active function's segments: X-Ray's write actions take no resource type, so "*"
            # (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html)
            "Sid": "ActiveTracing",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
