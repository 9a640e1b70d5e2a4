"""What AWS refuses before it changes anything, for the calls the workshop's labs make.

On AWS a refused call changes nothing: a SetQueueAttributes whose RedrivePolicy names a
queue URL instead of an ARN leaves every attribute of the request unapplied, valid ones
included. moto 5.2.5 validates little, and some of it after it has already stored part of
the request (a queue kept the RedrivePolicy it had just refused). Each function here judges
a whole request before moto sees it and answers the :class:`Refusal` AWS gives, or None.

Everything is a pure function over the request's plain values; what needs the account's
state (does this queue exist?) is passed in as a callable. The emulator's moto layer
(:mod:`workshop.emulator.moto_adapters`) and front door (:mod:`workshop.emulator.functions.invoke_api`)
turn a refusal into the service's own error response.
"""

from workshop.aws.refusals.cloudwatch import (
    ALARM_ACTION,
    ALARM_MISSING_DATA,
    ALARM_OPERATORS,
    ALARM_STATISTICS,
    metric_alarm,
)
from workshop.aws.refusals.common import Refusal
from workshop.aws.refusals.event_source_mappings import (
    MAPPING_FUNCTION_RESPONSE_TYPES,
    MAPPING_STARTING_POSITIONS,
    event_source_mapping,
)
from workshop.aws.refusals.functions import (
    FUNCTION_MEMORY_MB,
    FUNCTION_UNZIPPED_BYTES,
    function_code,
    function_memory_size,
)
from workshop.aws.refusals.kms import kms_key_policy
from workshop.aws.refusals.s3 import (
    S3_NOTIFICATION_KINDS,
    S3_SSE_ALGORITHMS,
    s3_bucket_encryption,
    s3_bucket_policy,
    s3_notification_destinations,
    s3_notification_filters,
    s3_notification_overlaps,
)
from workshop.aws.refusals.sqs import (
    SQS_ENUMS,
    SQS_FIFO_ONLY,
    SQS_INTEGER_RANGES,
    SQS_MAX_RECEIVE_COUNT,
    SQS_QUEUE_ARN,
    SQS_SETTABLE,
    sqs_attributes,
)

__all__ = [
    "Refusal",
    "sqs_attributes",
    "SQS_INTEGER_RANGES",
    "SQS_SETTABLE",
    "SQS_FIFO_ONLY",
    "SQS_ENUMS",
    "SQS_MAX_RECEIVE_COUNT",
    "SQS_QUEUE_ARN",
    "s3_bucket_policy",
    "s3_notification_filters",
    "s3_notification_overlaps",
    "s3_notification_destinations",
    "s3_bucket_encryption",
    "S3_NOTIFICATION_KINDS",
    "S3_SSE_ALGORITHMS",
    "kms_key_policy",
    "event_source_mapping",
    "MAPPING_FUNCTION_RESPONSE_TYPES",
    "MAPPING_STARTING_POSITIONS",
    "metric_alarm",
    "ALARM_STATISTICS",
    "ALARM_OPERATORS",
    "ALARM_MISSING_DATA",
    "ALARM_ACTION",
    "function_memory_size",
    "function_code",
    "FUNCTION_MEMORY_MB",
    "FUNCTION_UNZIPPED_BYTES",
]
