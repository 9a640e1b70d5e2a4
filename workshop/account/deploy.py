"""Package handler code and create or update a Lambda function, with standard AWS APIs only.

The same calls work on the embedded emulator and on a real account: CreateFunction or
UpdateFunctionCode/UpdateFunctionConfiguration, then boto3's waiters until the function
is Active and its last update Successful. The log group is created first, tagged, so
teardown can find it (a log group Lambda creates by itself carries no tag).
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from workshop.account.environment import EXECUTION_ROLE
from workshop.aws.python_runtime import PROVIDED_DISTRIBUTIONS
from workshop.core.backend import Backend
from workshop.core.errors import error_code
from workshop.core.naming import Names

DEFAULT_RUNTIME = "python3.12"
# A ZIP entry's date must be after 1980; a fixed one makes the same code give the same zip (and CodeSha256).
_FIXED_ZIP_DATE = (2024, 1, 1, 0, 0, 0)


def vendored_files(*distributions: str) -> dict[str, bytes]:
    """The installed files of these distributions and of what they need, as ``pip install -t``
    would put them in a deployment package (skipping what the runtime provides)."""
    files: dict[str, bytes] = {}
    pending, seen = list(distributions), set()
    while pending:
        name = canonicalize_name(pending.pop())
        if name in seen or name in PROVIDED_DISTRIBUTIONS:
            continue
        seen.add(name)
        dist = metadata.distribution(name)
        for entry in dist.files or []:
            if "__pycache__" in entry.parts or entry.suffix == ".pyc" or str(entry).startswith(".."):
                continue
            files[str(entry)] = Path(dist.locate_file(entry)).read_bytes()
        for requirement in map(Requirement, dist.requires or []):
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return files


def package(files: Mapping[str, str | bytes] | Path, vendor: tuple[str, ...] = ()) -> bytes:
    """A deployment zip from ``{"app.py": source, ...}`` or from a folder, reproducibly;
    ``vendor`` names installed distributions to bundle with it."""
    if isinstance(files, Path):
        root = files
        files = {
            str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts
        }
    if vendor:
        files = {**vendored_files(*vendor), **files}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            entry = zipfile.ZipInfo(name, _FIXED_ZIP_DATE)
            entry.external_attr = 0o644 << 16
            content = files[name]
            archive.writestr(entry, content.encode() if isinstance(content, str) else content)
    return buffer.getvalue()


def execution_role_arn(backend: Backend, names: Names) -> str:
    return backend.client("iam").get_role(RoleName=names.role(EXECUTION_ROLE))["Role"]["Arn"]


def deploy_function(
    backend: Backend,
    names: Names,
    purpose: str,
    code: Mapping[str, str | bytes] | Path | bytes,
    handler: str = "app.handler",
    environment: Mapping[str, str] | None = None,
    timeout: int = 10,
    memory_size: int = 128,
    runtime: str = DEFAULT_RUNTIME,
    role_arn: str | None = None,
    vendor: tuple[str, ...] = (),
    **options: Any,
) -> str:
    """Create the function ``<prefix>-<purpose>`` or bring it up to date; return its ARN.

    Idempotent, so a notebook cell that deploys can be run again after an edit.
    ``options`` are passed to CreateFunction/UpdateFunctionConfiguration (DeadLetterConfig, ...).
    """
    lam = backend.client("lambda")
    name = names.function(purpose)
    zipped = code if isinstance(code, bytes) else package(code, vendor)
    configuration = dict(
        Role=role_arn or execution_role_arn(backend, names),
        Handler=handler,
        Runtime=runtime,
        Timeout=timeout,
        MemorySize=memory_size,
        Environment={"Variables": dict(environment or {})},
        **options,
    )
    _ensure_log_group(backend, names, f"/aws/lambda/{name}")
    try:
        arn = lam.get_function_configuration(FunctionName=name)["FunctionArn"]
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        arn = _create(lam, name, zipped, configuration, names)
        lam.get_waiter("function_active_v2").wait(FunctionName=name)
        return arn
    lam.update_function_code(FunctionName=name, ZipFile=zipped)
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    lam.update_function_configuration(FunctionName=name, **configuration)
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    return arn


def _create(lam: Any, name: str, zipped: bytes, configuration: dict[str, Any], names: Names) -> str:
    """CreateFunction, retrying while a just-created role is not yet usable (IAM is eventually consistent)."""
    for attempt in range(10):
        try:
            return lam.create_function(FunctionName=name, Code={"ZipFile": zipped}, Tags=names.tag, **configuration)[
                "FunctionArn"
            ]
        except ClientError as error:
            if "cannot be assumed" not in str(error) or attempt == 9:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


def _ensure_log_group(backend: Backend, names: Names, group: str) -> None:
    logs = backend.client("logs")
    try:
        logs.create_log_group(logGroupName=group, tags=names.tag)
        logs.put_retention_policy(logGroupName=group, retentionInDays=7)
    except ClientError as error:
        if error_code(error) != "ResourceAlreadyExistsException":
            raise
