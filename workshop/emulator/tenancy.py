"""What a participant may reach on a shared emulator: their own resources, and no one else's.

The kit names every resource ``<prefix>-<purpose>`` and writes least-privilege policies scoped to
``<prefix>-*`` (:mod:`workshop.account.policies`), as one AWS account shared by a class would:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
Here that scope is enforced on every request a participant (or their handler) signs: each resource
the request names — by name, URL or ARN, in its path, query or body — must belong to the caller,
and a listing shows the caller's own resources only. A name belongs to the longest registered
prefix it starts with, so participant ``ana`` does not own ``ana-b``'s resources.

The class's progress table is the one shared resource: a participant may write and read only the
items keyed by their own prefix.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote
from xml.etree import ElementTree

from workshop.core.naming import PROGRESS_TABLE_PURPOSE

__all__ = ["Decision", "Tenancy", "filter_listing"]

_ARN = re.compile(r"arn:aws[a-z-]*:([a-z0-9-]+):[a-z0-9-]*:(\d{12}|aws)?:([^\s\"'<>&,;\\]+)")
_LAMBDA_PATH = re.compile(r"^/[\d-]+/(functions|event-source-mappings|tags)/([^/?]+)")
# The services whose ARNs name a participant's resource (API Gateway's by the API's id, whose
# name is looked up).
_JUDGED_SERVICES = {"s3", "sqs", "sns", "lambda", "dynamodb", "logs", "iam", "kms", "cloudwatch", "execute-api"}
_REST_API_PATH = re.compile(r"^/restapis/([^/?]+)")
# Fields that name a resource in the JSON or query bodies of the APIs the labs use.
_NAME_FIELDS = {
    "TableName",
    "QueueName",
    "QueueUrl",
    "FunctionName",
    "logGroupName",
    "AlarmName",
    "RoleName",
    "AliasName",
    "KeyId",
    "TargetKeyId",
    "UUID",
    "logGroupIdentifier",
}
PARTICIPANTS_TTL_SECONDS = 1.0
# Operations that name their resources inside a statement or query text the gate does not parse
# (DynamoDB's PartiQL, CloudWatch Logs Insights): the labs do not use them; on a shared emulator
# they are the instructor's.
_UNPARSED = {"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction", "StartQuery"}
# Operations that only the instructor may call: identities are the class's, not a participant's.
_INSTRUCTOR_ONLY = re.compile(r"^(Create|Delete|Update|Tag|Untag|List|Get)(User|AccessKey|LoginProfile|Group)")


@dataclass(frozen=True)
class Decision:
    """``refusal``: AWS's error message for an AccessDenied; ``listing``: filter the answer."""

    refusal: str | None = None
    listing: str | None = None


class Tenancy:
    """Judges one participant's request; lookups reach moto's state through the given callables."""

    def __init__(
        self,
        prefixes: Callable[[], Iterable[str]],
        mapping_function: Callable[[str, str], str | None],
        key_owner: Callable[[str, str], str | None],
        api_name: Callable[[str], str | None] = lambda api_id: None,
    ) -> None:
        self._prefixes = prefixes
        self._mapping_function = mapping_function
        self._key_owner = key_owner
        self._api_name = api_name
        self._known: tuple[float, list[str]] = (float("-inf"), [])

    def owner(self, name: str) -> str | None:
        """The participant whose prefix ``name`` starts with (the longest such prefix)."""
        name = name.removeprefix("/aws/lambda/").removeprefix("alias/")
        owners = [p for p in self._participants() if name.startswith(p + "-")]
        return max(owners, key=len) if owners else None

    def _participants(self) -> list[str]:
        """The class's prefixes, read again after a second: a listing asks for each of its items,
        and the class changes only when the instructor sets it up or tears it down."""
        read_at, known = self._known
        if time.monotonic() - read_at > PARTICIPANTS_TTL_SECONDS:
            known = list(self._prefixes())
            self._known = (time.monotonic(), known)
        return known

    def judge(self, prefix: str, service: str, environ: Mapping[str, Any], body: bytes) -> Decision:
        action = _action(service, environ, body)
        if action in _UNPARSED:
            return Decision(f"{action} names its resources in a text this class emulator does not read")
        if service == "iam" and _INSTRUCTOR_ONLY.match(action):
            return Decision(f"{action} belongs to the instructor: participants' identities are the class's")
        fields = _fields(service, environ, body)
        progress = _progress_refusal(prefix, action, fields)
        if progress is not None:
            return Decision(progress or None)
        region = _region(environ)
        for name in self._names(service, action, environ, body, fields, region):
            if self.owner(name) != prefix:
                return Decision(f"{name!r} is not yours: you may reach only resources named {prefix}-...")
        if action in _LISTINGS.get(service, ()) or (service == "s3" and _is_list_buckets(environ)):
            return Decision(listing=service)
        return Decision()

    def _names(
        self, service: str, action: str, environ: Mapping[str, Any], body: bytes, fields: dict[str, Any], region: str
    ) -> list[str]:
        names: list[str] = []
        text = unquote(str(environ.get("RAW_URI") or environ.get("PATH_INFO", ""))) + " " + _text(body)
        for arn_service, account, resource in _ARN.findall(text):
            if account == "aws" or arn_service not in _JUDGED_SERVICES:
                continue  # AWS managed policies; services whose resources carry ids, not names
            names.extend(self._arn_names(arn_service, resource, region))
        for field, values in fields.items():
            if field.startswith("_"):
                continue  # not names: item keys, a batch's tables (judged below)
            for value in values:
                names.extend(self._field_names(field, str(value), region))
        if service == "s3":
            bucket = _s3_bucket(environ)
            if bucket:
                names.append(bucket)
        if service == "lambda":
            matched = _LAMBDA_PATH.match(str(environ.get("PATH_INFO", "")))
            if matched and matched.group(1) != "tags":
                kind, ref = matched.groups()
                names.extend(
                    self._field_names("UUID" if kind == "event-source-mappings" else "FunctionName", ref, region)
                )
        if service == "apigateway":
            matched = _REST_API_PATH.match(str(environ.get("PATH_INFO", "")))
            if matched:
                names.append(self._api_name(matched.group(1)) or f"API {matched.group(1)}")
            elif action == "CreateRestApi":
                names.append(str(json.loads(body or b"{}").get("name", "")))
        if service == "dynamodb" and isinstance(fields.get("_RequestItems"), list):
            names.extend(fields["_RequestItems"])
        if service == "sns" and "Name" in fields and action == "CreateTopic":
            names.extend(fields["Name"])
        return names

    def _arn_names(self, service: str, resource: str, region: str) -> list[str]:
        if service == "s3":
            return [resource.split("/", 1)[0]]
        if service == "kms":
            kind, _, ref = resource.partition("/")
            return self._field_names("KeyId", ref if kind == "key" else resource, region)
        if service == "lambda" and resource.startswith("event-source-mapping:"):
            return self._field_names("UUID", resource.partition(":")[2], region)
        if service in ("sqs", "sns"):
            return [resource.split(":", 1)[0]]
        if service == "execute-api":
            api_id = resource.split("/", 1)[0]
            return [self._api_name(api_id) or f"API {api_id}"]
        kind, _, rest = resource.replace(":", "/", 1).partition("/")
        if service == "iam" and kind in ("user", "group"):
            return [f"iam {kind}s of the class"]
        name = rest.split("/")[-1] if service == "iam" else rest
        if service == "logs":
            name = name.split(":", 1)[0]
        elif service == "lambda":
            name = name.split(":", 1)[0]
        elif service == "dynamodb":
            name = name.split("/", 1)[0]
        return [name] if name else []

    def _field_names(self, field: str, value: str, region: str) -> list[str]:
        if value.startswith("arn:"):
            return []  # judged with every other ARN
        if field == "QueueUrl":
            return [value.rstrip("/").rsplit("/", 1)[-1]]
        if field == "UUID":
            function = self._mapping_function(region, value)
            return [function] if function else []
        if field in ("KeyId", "TargetKeyId") and not value.startswith("alias/"):
            owner = self._key_owner(region, value)
            return [f"{owner}-key" if owner else f"key {value}"]
        return [value]


# Listings a participant sees filtered to their own resources, per service.
_LISTINGS = {
    "dynamodb": ("ListTables",),
    "sqs": ("ListQueues",),
    "lambda": ("ListFunctions", "ListEventSourceMappings"),
    "sns": ("ListTopics", "ListSubscriptions"),
    "logs": ("DescribeLogGroups",),
    "monitoring": ("DescribeAlarms",),
    "iam": ("ListRoles",),
    "kms": ("ListAliases",),
    "apigateway": ("GetRestApis",),
}


def _region(environ: Mapping[str, Any]) -> str:
    from workshop.aws import sigv4

    scope = sigv4.credential_scope(environ)
    return scope.region if scope else "us-east-1"


def _text(body: bytes) -> str:
    try:
        return unquote(body.decode("utf-8")) if body else ""
    except UnicodeDecodeError:
        return ""  # an object's bytes: resources are named in its path, not its content


def _action(service: str, environ: Mapping[str, Any], body: bytes) -> str:
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return target.rsplit(".", 1)[-1]
    for key, value in parse_qsl(str(environ.get("QUERY_STRING", ""))) + _form(environ, body):
        if key == "Action":
            return value
    if service == "lambda":
        path = str(environ.get("PATH_INFO", ""))
        method = environ.get("REQUEST_METHOD", "GET")
        if re.fullmatch(r"/[\d-]+/functions/?", path) and method == "GET":
            return "ListFunctions"
        if re.fullmatch(r"/[\d-]+/event-source-mappings/?", path) and method == "GET":
            return "ListEventSourceMappings"
    if service == "apigateway" and environ.get("PATH_INFO") in ("/restapis", "/restapis/"):
        return "GetRestApis" if environ.get("REQUEST_METHOD") == "GET" else "CreateRestApi"
    return ""


def _form(environ: Mapping[str, Any], body: bytes) -> list[tuple[str, str]]:
    if "x-www-form-urlencoded" not in str(environ.get("CONTENT_TYPE", "")):
        return []
    return parse_qsl(body.decode("utf-8", "replace"))


def _fields(service: str, environ: Mapping[str, Any], body: bytes) -> dict[str, Any]:
    """Every value of a naming field, from a JSON body (at any depth) or a query/form body."""
    found: dict[str, Any] = {}
    pairs = parse_qsl(str(environ.get("QUERY_STRING", ""))) + _form(environ, body)
    for key, value in pairs:
        field = key.split(".", 1)[0]
        if field in _NAME_FIELDS or field in ("AlarmNames", "Name", "Key"):
            found.setdefault(field, []).append(value)
    if body[:1] == b"{":
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        _walk(document, found)
        if isinstance(document, dict) and isinstance(document.get("RequestItems"), dict):
            found["_RequestItems"] = list(document["RequestItems"])
        if isinstance(document, dict) and isinstance(document.get("AlarmNames"), list):
            found.setdefault("AlarmName", []).extend(document["AlarmNames"])
    if "AlarmNames" in found:
        found.setdefault("AlarmName", []).extend(found.pop("AlarmNames"))
    return found


def _walk(node: Any, found: dict[str, Any]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _NAME_FIELDS and isinstance(value, str):
                found.setdefault(key, []).append(value)
            elif key in ("Key", "Item") and isinstance(value, dict):
                found.setdefault("_Key", []).append(value)
            else:
                _walk(value, found)
    elif isinstance(node, list):
        for item in node:
            _walk(item, found)


def _progress_refusal(prefix: str, action: str, fields: dict[str, Any]) -> str | None:
    """For a request on a class's progress table: "" when allowed (its own items), the refusal when
    not; None for any other request."""
    tables = fields.get("TableName", [])
    if not any(str(t).endswith("-" + PROGRESS_TABLE_PURPOSE) and not str(t).startswith(prefix + "-") for t in tables):
        return None
    if action == "DescribeTable":
        return ""
    keys = fields.get("_Key", [])
    own = keys and all((k.get("participant") or {}).get("S") == prefix for k in keys)
    if action in ("UpdateItem", "PutItem", "GetItem", "DeleteItem") and own:
        return ""
    return f"{action} on the class's progress table: you may read and write your own items only"


def _s3_bucket(environ: Mapping[str, Any]) -> str | None:
    from workshop.emulator.s3_guard import bucket_and_key

    return bucket_and_key(dict(environ))[0]


def _is_list_buckets(environ: Mapping[str, Any]) -> bool:
    return environ.get("REQUEST_METHOD") == "GET" and _s3_bucket(environ) is None


def filter_listing(service: str, body: bytes, mine: Callable[[str], bool]) -> bytes:
    """The answer of a listing with only the caller's own resources in it."""
    if service == "s3":
        return _filter_xml(body, "Buckets", "Name", mine)
    if service in ("sns", "iam"):
        for container, field in (("Topics", "TopicArn"), ("Subscriptions", "TopicArn"), ("Roles", "RoleName")):
            body = _filter_xml(body, container, field, lambda v: mine(v.rsplit(":", 1)[-1] if ":" in v else v))
        return body
    try:
        document = json.loads(body)
    except ValueError:
        return body
    for field, key in (
        ("TableNames", None),
        ("QueueUrls", None),
        ("Functions", "FunctionName"),
        ("EventSourceMappings", "FunctionArn"),
        ("logGroups", "logGroupName"),
        ("MetricAlarms", "AlarmName"),
        ("CompositeAlarms", "AlarmName"),
        ("Aliases", "AliasName"),
        ("item", "name"),
    ):
        if isinstance(document.get(field), list):
            document[field] = [
                item
                for item in document[field]
                if mine(_last_name(item if key is None else str(item.get(key, "")), field))
            ]
    return json.dumps(document).encode()


def _last_name(value: str, field: str) -> str:
    if field == "QueueUrls":
        return value.rstrip("/").rsplit("/", 1)[-1]
    if field == "EventSourceMappings":
        return value.rsplit(":function:", 1)[-1].split(":", 1)[0]
    return value


def _filter_xml(body: bytes, container: str, field: str, mine: Callable[[str], bool]) -> bytes:
    if f"<{container}".encode() not in body:
        return body
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return body
    namespace = root.tag.partition("}")[0] + "}" if root.tag.startswith("{") else ""
    if namespace:
        ElementTree.register_namespace("", namespace.strip("{}"))
    for parent in root.iter(f"{namespace}{container}"):
        for item in list(parent):
            value = item.findtext(f"{namespace}{field}") or ""
            if not mine(value):
                parent.remove(item)
    return ElementTree.tostring(root, xml_declaration=True, encoding="utf-8")
