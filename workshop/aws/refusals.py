"""What AWS refuses before it changes anything, for the calls the workshop's labs make.

On AWS a refused call changes nothing: a SetQueueAttributes whose RedrivePolicy names a
queue URL instead of an ARN leaves every attribute of the request unapplied, valid ones
included. moto 5.2.5 validates little, and some of it after it has already stored part of
the request (a queue kept the RedrivePolicy it had just refused). Each function here judges
a whole request before moto sees it and answers the :class:`Refusal` AWS gives, or None.

Everything is a pure function over the request's plain values; what needs the account's
state (does this queue exist?) is passed in as a callable. The emulator's moto layer
(:mod:`workshop.emulator.moto_internals`) and front door (:mod:`workshop.emulator.functions.invoke_api`)
turn a refusal into the service's own error response.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    status: int = 400


# ---- SQS -----------------------------------------------------------------------------------
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
    "Policy", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId", "SqsManagedSseEnabled",
    "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit", "FifoQueue"}
SQS_FIFO_ONLY: Final = frozenset({"ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"})
SQS_ENUMS: Final = {"SqsManagedSseEnabled": ("true", "false"), "ContentBasedDeduplication": ("true", "false"),
                    "FifoQueue": ("true", "false"), "DeduplicationScope": ("messageGroup", "queue"),
                    "FifoThroughputLimit": ("perQueue", "perMessageGroupId")}
SQS_MAX_RECEIVE_COUNT: Final = (1, 1000)  # the console's and the API's bounds for maxReceiveCount
SQS_QUEUE_ARN: Final = re.compile(r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$")


def sqs_attributes(attributes: Mapping[str, Any], *, fifo: bool, creating: bool,
                   dead_letter_queue_fifo: Callable[[str], bool | None]) -> Refusal | None:
    """The refusal of a CreateQueue or SetQueueAttributes, judged on every attribute at once.

    ``dead_letter_queue_fifo(arn)`` says whether the queue with that ARN is a FIFO queue, or
    None when there is no such queue: a RedrivePolicy must name an existing queue of the same
    type (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html)."""
    for name, value in attributes.items():
        if name not in SQS_SETTABLE or (name in SQS_FIFO_ONLY and not fifo):
            return Refusal("InvalidAttributeName", f"Unknown Attribute {name}.")
        if name == "FifoQueue" and not creating:
            # the queue type is chosen at creation; SetQueueAttributes cannot change it
            return Refusal("InvalidAttributeValue",
                           "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.")
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
        return None if _json_object(value) is not None else invalid
    return None


def _redrive_policy(text: str, fifo: bool, dead_letter_queue_fifo: Callable[[str], bool | None]) -> Refusal | None:
    def invalid(reason: str) -> Refusal:
        return Refusal("InvalidParameterValue",
                       f"Value {text} for parameter RedrivePolicy is invalid. Reason: {reason}")

    policy = _json_object(text)
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
        return invalid(f"Invalid value for maxReceiveCount: {count}, valid values are from {low} to {high} "
                       "both inclusive.")
    target = policy["deadLetterTargetArn"]
    if not isinstance(target, str) or not SQS_QUEUE_ARN.match(target):
        return invalid("Invalid value for deadLetterTargetArn.")  # a queue URL is not an ARN
    target_fifo = dead_letter_queue_fifo(target)
    if target_fifo is None:
        return invalid("Dead letter target does not exist.")
    if target_fifo != fifo:
        return invalid("Dead-letter queue must be same type of queue as the source.")
    return None


# ---- S3 ------------------------------------------------------------------------------------

def s3_bucket_policy(policy: str, bucket: str) -> Refusal | None:
    """S3 stores only a policy it can read, whose statements all concern this bucket.
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html (error MalformedPolicy)"""
    def malformed(message: str) -> Refusal:
        return Refusal("MalformedPolicy", message)

    document = _json_object(policy)
    if document is None:
        return malformed("Policies must be valid JSON and the first byte must be '{'")
    statements = document.get("Statement")
    if not statements:
        return malformed("Missing required field Statement")
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict):
            return malformed("Policies must be valid JSON and the first byte must be '{'")
        if statement.get("Effect") not in ("Allow", "Deny"):
            return malformed(f"Invalid effect: {statement.get('Effect')}")
        if "Principal" not in statement and "NotPrincipal" not in statement:
            return malformed("Missing required field Principal")
        actions = _strings(statement.get("Action", statement.get("NotAction")))
        if not actions or not all(a == "*" or a.lower().startswith("s3:") for a in actions):
            return malformed("Policy has invalid action")
        resources = _strings(statement.get("Resource", statement.get("NotResource")))
        if not resources or not all(_bucket_resource(r, bucket) for r in resources):
            return malformed("Policy has invalid resource")
    return None


def _bucket_resource(resource: str, bucket: str) -> bool:
    """A bucket policy's resources are the bucket and its objects (wildcards allowed)."""
    if resource == "*":
        return True
    name = resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
    return resource.startswith("arn:aws:s3:::") and re.fullmatch(
        re.escape(name).replace(r"\*", ".*").replace(r"\?", "."), bucket) is not None


S3_NOTIFICATION_KINDS: Final = {"Queue": "sqs", "Topic": "sns", "CloudFunction": "lambda"}


def s3_notification_filters(configuration: Mapping[str, Any]) -> Refusal | None:
    """Filter rules of a notification configuration as S3 parses it (moto's XML-derived form).
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html"""
    for _, target in _notification_targets(configuration):
        rules = _filter_rules(target)
        names = [str(rule.get("Name", "")).lower() for rule in rules]
        for name in names:
            if name not in ("prefix", "suffix"):
                return Refusal("InvalidArgument", "filter rule name must be either prefix or suffix")
        for name in ("prefix", "suffix"):
            if names.count(name) > 1:
                return Refusal("InvalidArgument", f"Cannot specify more than one {name} rule in a filter.")
    return None


def s3_notification_overlaps(configuration: Mapping[str, Any]) -> Refusal | None:
    """Two configurations that could both match one event are ambiguous: S3 refuses them
    (the reason fan-out goes through SNS). Same page: "Examples of valid and invalid
    notification configurations"."""
    targets = [(set(_as_list(t.get("Event"))), _affixes(t)) for _, t in _notification_targets(configuration)]
    for i, (events, (prefix, suffix)) in enumerate(targets):
        for other_events, (other_prefix, other_suffix) in targets[i + 1:]:
            if (_events_overlap(events, other_events) and _affixes_overlap(prefix, other_prefix, str.startswith)
                    and _affixes_overlap(suffix, other_suffix, str.endswith)):
                return Refusal("InvalidArgument", "Configuration is ambiguously defined. Cannot have overlapping "
                                                  "suffixes in two rules if the prefixes are overlapping for the "
                                                  "same event type.")
    return None


def s3_notification_destinations(configuration: Mapping[str, Any],
                                 destination_exists: Callable[[str, str], bool]) -> Refusal | None:
    """S3 validates every destination before it stores the configuration and refuses all of it
    when one fails. https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketNotificationConfiguration.html
    ``destination_exists(kind, arn)`` with kind sqs, sns or lambda."""
    for kind, target in _notification_targets(configuration):
        if not destination_exists(S3_NOTIFICATION_KINDS[kind], str(target.get(kind, ""))):
            return Refusal("InvalidArgument", "Unable to validate the following destination configurations")
    return None


def _notification_targets(configuration: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return [(kind, target) for kind in S3_NOTIFICATION_KINDS
            for target in _as_list(configuration.get(f"{kind}Configuration")) if isinstance(target, Mapping)]


def _filter_rules(target: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    key = ((target.get("Filter") or {}).get("S3Key") or {}) if isinstance(target.get("Filter"), Mapping) else {}
    return [r for r in _as_list(key.get("FilterRule") if isinstance(key, Mapping) else None) if isinstance(r, Mapping)]


def _affixes(target: Mapping[str, Any]) -> tuple[str, str]:
    rules = {str(r.get("Name", "")).lower(): str(r.get("Value") or "") for r in _filter_rules(target)}
    return rules.get("prefix", ""), rules.get("suffix", "")


def _events_overlap(first: set[str], second: set[str]) -> bool:
    def families(events: set[str]) -> set[str]:
        return {e.rsplit(":", 1)[0] for e in events if e.endswith(":*")}

    return bool(first & second) or any(e.rsplit(":", 1)[0] in families(second) for e in first) or any(
        e.rsplit(":", 1)[0] in families(first) for e in second)


def _affixes_overlap(first: str, second: str, extends: Callable[[str, str], bool]) -> bool:
    return extends(first, second) or extends(second, first)


S3_SSE_ALGORITHMS: Final = ("AES256", "aws:kms", "aws:kms:dsse")


def s3_bucket_encryption(configuration: Mapping[str, Any]) -> Refusal | None:
    """Default encryption rules S3 refuses. The key itself is not looked up: S3 accepts any key
    id here and refuses the uploads that cannot use it (KMS.NotFoundException, see s3_guard).
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_ServerSideEncryptionByDefault.html"""
    for rule in _as_list(configuration.get("Rule")):
        default = (rule or {}).get("ApplyServerSideEncryptionByDefault") or {}
        algorithm, key = default.get("SSEAlgorithm"), default.get("KMSMasterKeyID")
        if algorithm not in S3_SSE_ALGORITHMS:
            return Refusal("MalformedXML", "The XML you provided was not well-formed or did not validate "
                                           "against our published schema")
        if key is not None and algorithm == "AES256":
            return Refusal("InvalidArgument", "a KMSMasterKeyID is not applicable if the default sse algorithm "
                                              "is not aws:kms or aws:kms:dsse")
        if "KMSMasterKeyID" in default and not str(key or "").strip():  # an empty element parses as None
            return Refusal("InvalidArgument", "if the default sse algorithm is aws:kms and a KMSMasterKeyID "
                                              "is specified, it must be non-empty")
    return None


# ---- KMS -----------------------------------------------------------------------------------

def kms_key_policy(policy: str) -> Refusal | None:
    """A key policy must be a policy document: https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html
    (MalformedPolicyDocumentException: "the specified policy is not syntactically or semantically correct")."""
    def malformed(reason: str) -> Refusal:
        return Refusal("MalformedPolicyDocumentException", reason)

    document = _json_object(policy)
    if document is None:
        return malformed("The policy is not valid JSON.")
    statements = document.get("Statement")
    if not statements:
        return malformed("Policy is missing required element - Statement")
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict):
            return malformed("Policy contains a statement that is not a JSON object.")
        if statement.get("Effect") not in ("Allow", "Deny"):
            return malformed(f"Policy contains an invalid Effect: {statement.get('Effect')}")
        if "Principal" not in statement and "NotPrincipal" not in statement:
            return malformed("Policy contains a statement with no principal.")
        if not _strings(statement.get("Action", statement.get("NotAction"))):
            return malformed("Policy contains a statement with no action.")
    return None


# ---- Lambda event-source mappings ----------------------------------------------------------
# https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
MAPPING_FUNCTION_RESPONSE_TYPES: Final = ("ReportBatchItemFailures",)
MAPPING_STARTING_POSITIONS: Final = ("TRIM_HORIZON", "LATEST")  # AT_TIMESTAMP is Kinesis-only


def _validation(value: Any, field: str, constraint: str) -> Refusal:
    return Refusal("ValidationException", f"1 validation error detected: Value '{value}' at '{field}' failed to "
                                          f"satisfy constraint: {constraint}")


def event_source_mapping(request: Mapping[str, Any], source_arn: str | None, creating: bool) -> Refusal | None:
    """The refusal of a CreateEventSourceMapping or UpdateEventSourceMapping (``request`` is its
    JSON body; ``source_arn`` the mapping's source, the existing one on an update)."""
    if creating and not source_arn:
        return Refusal("InvalidParameterValueException", "Unrecognized event source.")
    kind = _source_kind(source_arn or "")
    if creating and kind is None:
        return Refusal("InvalidParameterValueException", "Unrecognized event source, must be kinesis, dynamodb "
                                                         "stream or sqs.")
    for check in (_batch_size, _batching_window, _starting_position, _stream_only, _response_types,
                  _scaling_config):
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


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _batch_size(request: Mapping[str, Any], kind: str | None, creating: bool) -> Refusal | None:
    if "BatchSize" not in request:
        return None
    size = _integer(request["BatchSize"])
    if size is None or size < 1:
        return _validation(request["BatchSize"], "batchSize", "Member must have value greater than or equal to 1")
    if size > 10000:
        return _validation(size, "batchSize", "Member must have value less than or equal to 10000")
    if kind == "sqs-fifo" and size > 10:
        return Refusal("InvalidParameterValueException", "Batch size for FIFO queues must be between 1 and 10.")
    if kind == "sqs" and size > 10 and not request.get("MaximumBatchingWindowInSeconds"):
        return Refusal("InvalidParameterValueException", "Maximum batch window in seconds must be greater than 0 "
                                                         "if maximum batch size is greater than 10")
    return None


def _batching_window(request: Mapping[str, Any], kind: str | None, creating: bool) -> Refusal | None:
    if "MaximumBatchingWindowInSeconds" not in request:
        return None
    window = _integer(request["MaximumBatchingWindowInSeconds"])
    if window is None or not 0 <= window <= 300:
        return _validation(request["MaximumBatchingWindowInSeconds"], "maximumBatchingWindowInSeconds",
                           "Member must have value less than or equal to 300")
    if kind == "sqs-fifo" and window:
        return Refusal("InvalidParameterValueException", "Batching window is not supported for FIFO queues")
    return None


def _starting_position(request: Mapping[str, Any], kind: str | None, creating: bool) -> Refusal | None:
    position = request.get("StartingPosition")
    if kind == "dynamodb" and creating and not position:
        return Refusal("InvalidParameterValueException", "1 validation error detected: Value null at "
                                                         "'startingPosition' failed to satisfy constraint: "
                                                         "Member must not be null.")
    if kind == "dynamodb" and position and position not in MAPPING_STARTING_POSITIONS:
        return Refusal("InvalidParameterValueException", "Unsupported starting position for arn type.")
    if kind in ("sqs", "sqs-fifo") and position:
        return Refusal("InvalidParameterValueException", "StartingPosition is not valid for SQS event sources.")
    return None


def _stream_only(request: Mapping[str, Any], kind: str | None, creating: bool) -> Refusal | None:
    bounds = {"MaximumRetryAttempts": (-1, 10000), "ParallelizationFactor": (1, 10),
              "MaximumRecordAgeInSeconds": (-1, 604800)}
    for name, (low, high) in bounds.items():
        if name not in request:
            continue
        if kind in ("sqs", "sqs-fifo"):
            return Refusal("InvalidParameterValueException", f"Unsupported {name} parameter for given event "
                                                             "source mapping type.")
        value = _integer(request[name])
        if value is None or not low <= value <= high or (name == "MaximumRecordAgeInSeconds" and 0 <= value < 60):
            return _validation(request[name], name[0].lower() + name[1:],
                               f"Member must have value between {low} and {high}")
    return None


def _response_types(request: Mapping[str, Any], kind: str | None, creating: bool) -> Refusal | None:
    types = request.get("FunctionResponseTypes") or []
    for value in types if isinstance(types, list) else [types]:
        if value not in MAPPING_FUNCTION_RESPONSE_TYPES:
            return _validation(types, "functionResponseTypes",
                               "Member must satisfy enum value set: [ReportBatchItemFailures]")
    return None


def _scaling_config(request: Mapping[str, Any], kind: str | None, creating: bool) -> Refusal | None:
    config = request.get("ScalingConfig")
    if not config:
        return None
    if kind not in ("sqs", "sqs-fifo"):
        return Refusal("InvalidParameterValueException", "Unsupported ScalingConfig parameter for given event "
                                                         "source mapping type.")
    maximum = config.get("MaximumConcurrency") if isinstance(config, Mapping) else None
    value = _integer(maximum)
    if maximum is not None and (value is None or not 2 <= value <= 1000):
        return _validation(maximum, "scalingConfig.maximumConcurrency",
                           "Member must have value between 2 and 1000")
    return None


# ---- CloudWatch alarms ---------------------------------------------------------------------
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
ALARM_STATISTICS: Final = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
ALARM_OPERATORS: Final = ("GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold",
                          "LessThanOrEqualToThreshold", "LessThanLowerOrGreaterThanUpperThreshold",
                          "LessThanLowerThreshold", "GreaterThanUpperThreshold")
ALARM_MISSING_DATA: Final = ("breaching", "notBreaching", "ignore", "missing")
ALARM_ACTION: Final = re.compile(r"^arn:aws[a-z-]*:(sns|autoscaling|ec2|ssm|lambda|swf):\S*$")


def metric_alarm(alarm: Mapping[str, Any]) -> Refusal | None:
    """The refusal of a PutMetricAlarm; ``alarm`` holds moto's names for the request's fields."""
    for check in (_alarm_metric, _alarm_periods, _alarm_enums, _alarm_actions):
        refusal = check(alarm)
        if refusal is not None:
            return refusal
    return None


def _alarm_metric(alarm: Mapping[str, Any]) -> Refusal | None:
    statistic, extended = alarm.get("statistic"), alarm.get("extended_statistic")
    if alarm.get("metric_data_queries"):
        if alarm.get("metric_name") or statistic or extended:
            return Refusal("InvalidParameterCombination", "The parameters MetricName, Statistic and "
                                                          "ExtendedStatistic are not allowed with Metrics.")
        return None
    if statistic and extended:
        return Refusal("InvalidParameterCombination", "Exactly one of the parameters Statistic or "
                                                      "ExtendedStatistic must be specified.")
    if not statistic and not extended:
        return Refusal("MissingParameter", "One of the parameters Statistic or ExtendedStatistic must be specified.")
    if statistic and statistic not in ALARM_STATISTICS:
        return _validation(statistic, "statistic",
                           f"Member must satisfy enum value set: [{', '.join(ALARM_STATISTICS)}]")
    if alarm.get("threshold") is None and not alarm.get("threshold_metric_id"):
        return Refusal("ValidationError", "Threshold or ThresholdMetricId is required.")
    return None


def _alarm_periods(alarm: Mapping[str, Any]) -> Refusal | None:
    evaluation_periods, datapoints = _integer(alarm.get("evaluation_periods")), alarm.get("datapoints_to_alarm")
    if evaluation_periods is None or evaluation_periods < 1:
        return _validation(alarm.get("evaluation_periods"), "evaluationPeriods",
                           "Member must have value greater than or equal to 1")
    if datapoints is not None and not 1 <= int(datapoints) <= evaluation_periods:
        return Refusal("ValidationError", "DatapointsToAlarm must be greater than or equal to 1 and less than or "
                                          "equal to EvaluationPeriods.")
    if alarm.get("metric_data_queries"):
        return None
    period = _integer(alarm.get("period"))
    if period is None or not (period in (10, 30) or (period >= 60 and period % 60 == 0)):
        return Refusal("InvalidParameterValue", "The parameter Period must be 10, 30 or a multiple of 60.")
    limit = 86400 if period < 3600 else 7 * 86400  # one day; seven for periods of an hour or more
    if period * evaluation_periods > limit:
        return Refusal("ValidationError", f"The evaluation period multiplied by the period must not exceed {limit} "
                                          "seconds.")
    return None


def _alarm_enums(alarm: Mapping[str, Any]) -> Refusal | None:
    operator, missing = alarm.get("comparison_operator"), alarm.get("treat_missing_data")
    if operator not in ALARM_OPERATORS:
        return _validation(operator, "comparisonOperator",
                           f"Member must satisfy enum value set: [{', '.join(ALARM_OPERATORS)}]")
    if missing is not None and missing not in ALARM_MISSING_DATA:
        return Refusal("ValidationError", f"Option {missing} is not supported. Supported options for parameter "
                                          "TreatMissingData are breaching, notBreaching, ignore and missing.")
    return None


def _alarm_actions(alarm: Mapping[str, Any]) -> Refusal | None:
    for field in ("alarm_actions", "ok_actions", "insufficient_data_actions"):
        for action in alarm.get(field) or []:
            if not ALARM_ACTION.match(str(action)):
                return Refusal("ValidationError", f"Invalid arn syntax: {action}")
    return None


# ---- shared --------------------------------------------------------------------------------

def _json_object(text: str | bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _strings(value: Any) -> list[str]:
    return [v for v in _as_list(value) if isinstance(v, str) and v]
