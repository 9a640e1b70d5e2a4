"""What SQS refuses: queue attributes and redrive policies."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from workshop.aws.refusals.common import Refusal, json_object

__all__ = [
    "sqs_attributes",
    "SQS_INTEGER_RANGES",
    "SQS_SETTABLE",
    "SQS_FIFO_ONLY",
    "SQS_ENUMS",
    "SQS_MAX_RECEIVE_COUNT",
    "SQS_QUEUE_ARN",
]

# Ranges: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html
# and https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
SQS_INTEGER_RANGES: Final = {
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, 1048576),
    "MessageRetentionPeriod": (60, 1209600),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "VisibilityTimeout": (0, 43200),
    "KmsDataKeyReusePeriodSeconds": (60, 86400),
}
SQS_SETTABLE: Final = frozenset(SQS_INTEGER_RANGES) | {
    "Policy",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "KmsMasterKeyId",
    "SqsManagedSseEnabled",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "FifoQueue",
}
SQS_FIFO_ONLY: Final = frozenset({"ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"})
SQS_ENUMS: Final = {
    "SqsManagedSseEnabled": ("true", "false"),
    "ContentBasedDeduplication": ("true", "false"),
    "FifoQueue": ("true", "false"),
    "DeduplicationScope": ("messageGroup", "queue"),
    "FifoThroughputLimit": ("perQueue", "perMessageGroupId"),
}
SQS_MAX_RECEIVE_COUNT: Final = (1, 1000)  # the console's and the API's bounds for maxReceiveCount
SQS_QUEUE_ARN: Final = re.compile(r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$")


def sqs_attributes(
    attributes: Mapping[str, Any], *, fifo: bool, creating: bool, dead_letter_queue_fifo: Callable[[str], bool | None]
) -> Refusal | None:
    """The refusal of a CreateQueue or SetQueueAttributes, judged on every attribute at once.

    ``dead_letter_queue_fifo(arn)`` says whether the queue with that ARN is a FIFO queue, or
    None when there is no such queue: a RedrivePolicy must name an existing queue of the same
    type (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html)."""
    for name, value in attributes.items():
        if name not in SQS_SETTABLE or (name in SQS_FIFO_ONLY and not fifo):
            return Refusal("InvalidAttributeName", f"Unknown Attribute {name}.")
        if name == "FifoQueue" and not creating:
            # the queue type is chosen at creation; SetQueueAttributes cannot change it
            return Refusal(
                "InvalidAttributeValue",
                "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.",
            )
        refusal = _sqs_value(name, str(value))
        if refusal is not None:
            return refusal
    if attributes.get("RedrivePolicy"):
        return _redrive_policy(str(attributes["RedrivePolicy"]), fifo, dead_letter_queue_fifo)
    return None


def _sqs_value(name: str, value: str) -> Refusal | None:
    invalid = Refusal("InvalidAttributeValue", f"Invalid value for the parameter {name}.")
    if name in SQS_INTEGER_RANGES:
        low, high = SQS_INTEGER_RANGES[name]
        return None if re.fullmatch(r"-?\d+", value.strip()) and low <= int(value) <= high else invalid
    if name in SQS_ENUMS:
        boolean = SQS_ENUMS[name] == ("true", "false")
        return None if (value.lower() if boolean else value) in SQS_ENUMS[name] else invalid
    if name == "Policy" and value:
        return None if json_object(value) is not None else invalid
    return None


def _redrive_policy(text: str, fifo: bool, dead_letter_queue_fifo: Callable[[str], bool | None]) -> Refusal | None:
    def invalid(reason: str) -> Refusal:
        return Refusal(
            "InvalidParameterValue", f"Value {text} for parameter RedrivePolicy is invalid. Reason: {reason}"
        )

    policy = json_object(text)
    if policy is None:
        return invalid("Redrive policy is not a valid JSON map.")
    if not policy:
        return None  # {} removes the redrive policy
    for field in ("deadLetterTargetArn", "maxReceiveCount"):
        if field not in policy:
            return invalid(f"Redrive policy does not contain mandatory attribute: {field}.")
    count = str(policy["maxReceiveCount"])
    low, high = SQS_MAX_RECEIVE_COUNT
    if not re.fullmatch(r"-?\d+", count) or not low <= int(count) <= high:
        return invalid(
            f"Invalid value for maxReceiveCount: {count}, valid values are from {low} to {high} both inclusive."
        )
    target = policy["deadLetterTargetArn"]
    if not isinstance(target, str) or not SQS_QUEUE_ARN.match(target):
        return invalid("Invalid value for deadLetterTargetArn.")  # a queue URL is not an ARN
    target_fifo = dead_letter_queue_fifo(target)
    if target_fifo is None:
        return invalid("Dead letter target does not exist.")
    if target_fifo != fifo:
        return invalid("Dead-letter queue must be same type of queue as the source.")
    return None
