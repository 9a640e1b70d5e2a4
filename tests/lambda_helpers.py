"""Deploying small handlers in tests, through the kit's own deploy code."""

from __future__ import annotations

import json
from typing import Any

from workshop.account import deploy, environment
from workshop.core.backend import Backend
from workshop.core.naming import Names


def ready_names(backend: Backend, prefix: str) -> Names:
    names = backend.names(prefix)
    environment.provision(backend, names)
    return names


def deploy_source(backend: Backend, names: Names, purpose: str, source: str, **options: Any) -> str:
    return deploy.deploy_function(backend, names, purpose, {"app.py": source}, **options)


def invoke(backend: Backend, function: str, event: Any = None, **options: Any) -> tuple[dict[str, Any], Any]:
    response = backend.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event or {}), **options)
    body = response["Payload"].read()
    return response, json.loads(body) if body else None


def log_messages(backend: Backend, function: str) -> list[str]:
    logs = backend.client("logs")
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
    return [event["message"] for event in events]
