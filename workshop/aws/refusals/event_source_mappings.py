"""What Lambda refuses in an event-source mapping's settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from workshop.aws.refusals.common import Refusal, integer, validation_error

__all__ = ["event_source_mapping", "MAPPING_FUNCTION_RESPONSE_TYPES", "MAPPING_STARTING_POSITIONS"]

# https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
MAPPING_FUNCTION_RESPONSE_TYPES: Final = ("ReportBatchItemFailures",)
MAPPING_STARTING_POSITIONS: Final = ("TRIM_HORIZON", "LATEST")  # AT_TIMESTAMP is Kinesis-only


def event_source_mapping(request: Mapping[str, Any], source_arn: str | None, creating: bool) -> Refusal | None:
    """The refusal of a CreateEventSourceMapping or UpdateEventSourceMapping (``request`` is its
    JSON body; ``source_arn`` the mapping's source, the existing one on an update)."""
    if creating and not source_arn:
        return Refusal("InvalidParameterValueException", "Unrecognized event source.")
    kind = _source_kind(source_arn or "")
    if creating and kind is None:
        return Refusal(
            "InvalidParameterValueException", "Unrecognized event source, must be kinesis, dynamodb stream or sqs."
        )
    for check in (_batch_size, _batching_window, _starting_position, _stream_only, _response_types, _scaling_config):
        refusal = check(request, kind, creating)
        if refusal is not None:
            return refusal
    return None


def _source_kind(arn: str) -> str | None:
    if arn.startswith("arn:") and ":sqs:" in arn:
        return "sqs-fifo" if arn.endswith(".fifo") else "sqs"
    if ":dynamodb:" in arn and "/stream/" in arn:
        return "dynamodb"
    if ":kinesis:" in arn:
        return "kinesis"
    return None


def _batch_size(request: Mapping[str, Any], kind: str | None, creating: bool) -> Refusal | None:
    if "BatchSize" not in request:
        return None
    size = integer(request["BatchSize"])
    if size is None or size < 1:
        return validation_error(request["BatchSize"], "batchSize", "Member must have value greater than or equal to 1")
    if size > 10000:
        return validation_error(size, "batchSize", "Member must have value less than or equal to 10000")
    if kind == "sqs-fifo" and size > 10:
        return Refusal("InvalidParameterValueException", "Batch size for FIFO queues must be between 1 and 10.")
    if kind == "sqs" and size > 10 and not request.get("MaximumBatchingWindowInSeconds"):
        return Refusal(
            "InvalidParameterValueException",
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
        )
    return None


def _batching_window(request: Mapping[str, Any], kind: str | None, creating: bool) -> Refusal | None:
    if "MaximumBatchingWindowInSeconds" not in request:
        return None
    window = integer(request["MaximumBatchingWindowInSeconds"])
    if window is None or not 0 <= window <= 300:
        return validation_error(
            request["MaximumBatchingWindowInSeconds"],
            "maximumBatchingWindowInSeconds",
            "Member must have value less than or equal to 300",
        )
    if kind == "sqs-fifo" and window:
        return Refusal("InvalidParameterValueException", "Batching window is not supported for FIFO queues")
    return None


def _starting_position(request: Mapping[str, Any], kind: str | None, creating: bool) -> Refusal | None:
    position = request.get("StartingPosition")
    if kind == "dynamodb" and creating and not position:
        return Refusal(
            "InvalidParameterValueException",
            "1 validation error detected: Value null at "
            "'startingPosition' failed to satisfy constraint: "
            "Member must not be null.",
        )
    if kind == "dynamodb" and position and position not in MAPPING_STARTING_POSITIONS:
        return Refusal("InvalidParameterValueException", "Unsupported starting position for arn type.")
    if kind in ("sqs", "sqs-fifo") and position:
        return Refusal("InvalidParameterValueException", "StartingPosition is not valid for SQS event sources.")
    return None


def _stream_only(request: Mapping[str, Any], kind: str | None, creating: bool) -> Refusal | None:
    bounds = {
        "MaximumRetryAttempts": (-1, 10000),
        "ParallelizationFactor": (1, 10),
        "MaximumRecordAgeInSeconds": (-1, 604800),
    }
    for name, (low, high) in bounds.items():
        if name not in request:
            continue
        if kind in ("sqs", "sqs-fifo"):
            return Refusal(
                "InvalidParameterValueException", f"Unsupported {name} parameter for given event source mapping type."
            )
        value = integer(request[name])
        if value is None or not low <= value <= high or (name == "MaximumRecordAgeInSeconds" and 0 <= value < 60):
            return validation_error(
                request[name], name[0].lower() + name[1:], f"Member must have value between {low} and {high}"
            )
    return None


def _response_types(request: Mapping[str, Any], kind: str | None, creating: bool) -> Refusal | None:
    types = request.get("FunctionResponseTypes") or []
    for value in types if isinstance(types, list) else [types]:
        if value not in MAPPING_FUNCTION_RESPONSE_TYPES:
            return validation_error(
                types, "functionResponseTypes", "Member must satisfy enum value set: [ReportBatchItemFailures]"
            )
    return None


def _scaling_config(request: Mapping[str, Any], kind: str | None, creating: bool) -> Refusal | None:
    config = request.get("ScalingConfig")
    if not config:
        return None
    if kind not in ("sqs", "sqs-fifo"):
        return Refusal(
            "InvalidParameterValueException", "Unsupported ScalingConfig parameter for given event source mapping type."
        )
    maximum = config.get("MaximumConcurrency") if isinstance(config, Mapping) else None
    value = integer(maximum)
    if maximum is not None and (value is None or not 2 <= value <= 1000):
        return validation_error(
            maximum, "scalingConfig.maximumConcurrency", "Member must have value between 2 and 1000"
        )
    return None
