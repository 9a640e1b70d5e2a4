"""Lambda functions as moto stores them: the runtime's view of a version, dead-letter and
asynchronous invocation settings, Lambda's limits on memory and package size (moto checks
neither), and deletions reported to the runtime."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from moto.awslambda import models as lambda_models
from moto.awslambda.exceptions import LambdaClientError

from workshop.aws import refusals
from workshop.emulator.functions.models import FunctionSpec
from workshop.emulator.moto_adapters.atomic import raise_refusal
from workshop.emulator.moto_adapters.server import ACCOUNT_ID


class FunctionNotFound(LookupError):
    pass


def function_spec(region: str, name_or_arn: str, qualifier: str | None = None) -> FunctionSpec:
    """The runtime's view of a function version stored by moto."""
    backend = lambda_models.lambda_backends[ACCOUNT_ID][region]
    try:
        function = backend.get_function(name_or_arn, qualifier)
    except Exception as error:  # moto raises its own UnknownFunctionException
        raise FunctionNotFound(str(name_or_arn)) from error
    if function is None:
        raise FunctionNotFound(str(name_or_arn))
    environment = dict(function.environment_vars or {})
    config_fingerprint = json.dumps(
        [
            function.code_sha_256,
            function.handler,
            function.run_time,
            function.timeout,
            function.memory_size,
            environment,
            function.role,
        ],
        sort_keys=True,
    )
    return FunctionSpec(
        name=function.function_name,
        arn=function.function_arn,
        version=str(function.version),
        handler=function.handler or "",
        runtime=function.run_time or "python3.12",
        timeout=int(function.timeout),
        memory_size=int(function.memory_size),
        environment=environment,
        code_sha256=function.code_sha_256,
        revision=hashlib.sha256(config_fingerprint.encode()).hexdigest(),
        account=ACCOUNT_ID,
        region=region,
        log_group=function.logs_group_name,
        tracing=str((getattr(function, "tracing_config", None) or {}).get("Mode") or "PassThrough"),
        code_zip=lambda: function.code_bytes,
    )


def dead_letter_target(region: str, name_or_arn: str) -> str | None:
    function = lambda_models.lambda_backends[ACCOUNT_ID][region].get_function(name_or_arn)
    return (getattr(function, "workshop_dead_letter_config", None) or {}).get("TargetArn") or None


def event_invoke_config(region: str, name_or_arn: str) -> dict[str, Any]:
    """The function's asynchronous invocation settings; {} when none were put."""
    function = lambda_models.lambda_backends[ACCOUNT_ID][region].get_function(name_or_arn)
    return dict(function.event_invoke_config[-1].config) if function.event_invoke_config else {}


def _keep_dead_letter_and_tracing_config() -> None:
    """moto keeps neither a DeadLetterConfig nor a TracingConfig given to
    UpdateFunctionConfiguration (a function switched to Active tracing stayed PassThrough)."""
    original_init = lambda_models.LambdaFunction.__init__
    original_update = lambda_models.LambdaFunction.update_configuration
    original_get = lambda_models.LambdaFunction.get_configuration

    def init(self: Any, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        self.workshop_dead_letter_config = spec.get("DeadLetterConfig") or {}

    def update(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "DeadLetterConfig" in config_updates:
            self.workshop_dead_letter_config = config_updates["DeadLetterConfig"] or {}
        if config_updates.get("TracingConfig"):
            self.tracing_config = {"Mode": config_updates["TracingConfig"].get("Mode") or "PassThrough"}
        return original_update(self, config_updates)

    def get(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original_get(self, *args, **kwargs)
        if getattr(self, "workshop_dead_letter_config", None):
            config["DeadLetterConfig"] = self.workshop_dead_letter_config
        return config

    lambda_models.LambdaFunction.__init__ = init
    lambda_models.LambdaFunction.update_configuration = update
    lambda_models.LambdaFunction.get_configuration = get


def _replace_event_invoke_config_on_put() -> None:
    def put(self: Any, function_name: str, config: dict[str, Any]) -> dict[str, Any]:
        function = self.get_function(function_name)
        event_config = lambda_models.EventInvokeConfig(function.function_arn, function.last_modified, config)
        function.event_invoke_config[:] = [event_config]
        return event_config.response()

    lambda_models.LambdaBackend.put_function_event_invoke_config = put


def _report_deleted_functions(on_function_deleted: Callable[[str], None]) -> None:
    original = lambda_models.LambdaBackend.delete_function

    def delete_function(self: Any, function_name: str, qualifier: str | None = None) -> None:
        name = self.get_function(function_name, qualifier).function_name
        original(self, function_name, qualifier)
        if qualifier is None:
            on_function_deleted(name)

    lambda_models.LambdaBackend.delete_function = delete_function


def _refuse_what_lambda_refuses() -> None:
    """MemorySize outside Lambda's range and a package over the unzipped quota are refused before
    anything is stored (:mod:`workshop.aws.refusals.functions`); moto would store both."""
    original_create = lambda_models.LambdaBackend.create_function
    original_update = lambda_models.LambdaBackend.update_function_configuration
    original_set_code = lambda_models.LambdaFunction._set_function_code

    def create_function(self: Any, spec: dict[str, Any]) -> Any:
        raise_refusal(refusals.function_memory_size(spec.get("MemorySize")), LambdaClientError)
        return original_create(self, spec)

    def update_function_configuration(self: Any, function_name: str, qualifier: str, body: dict[str, Any]) -> Any:
        raise_refusal(refusals.function_memory_size(body.get("MemorySize")), LambdaClientError)
        return original_update(self, function_name, qualifier, body)

    def set_function_code(self: Any, updated_spec: dict[str, Any]) -> None:
        # moto decodes the package (inline or from S3) as it stores it: judge what it decoded and
        # put the function back as it was when the package is refused (CreateFunction's new
        # function is never stored: the refusal ends its constructor).
        before, code_before = dict(self.__dict__), dict(getattr(self, "code", None) or {})
        original_set_code(self, updated_spec)
        refusal = refusals.function_code(getattr(self, "code_bytes", b"") or b"")
        if refusal is not None:
            self.__dict__.clear()
            self.__dict__.update(before)
            if isinstance(self.__dict__.get("code"), dict):
                self.code.clear()
                self.code.update(code_before)
            raise_refusal(refusal, LambdaClientError)

    lambda_models.LambdaBackend.create_function = create_function
    lambda_models.LambdaBackend.update_function_configuration = update_function_configuration
    lambda_models.LambdaFunction._set_function_code = set_function_code
