"""Which AWS the kit talks to, and boto3 clients for it.

Three backends, chosen by environment variables and read once per process:

- ``embedded`` (default): the kit's own emulator on ``http://127.0.0.1:$WORKSHOP_PORT`` (4566).
- ``endpoint``: any AWS-compatible endpoint named by the standard ``AWS_ENDPOINT_URL``.
- ``aws``: a real account through the standard credential chain; only with
  ``WORKSHOP_BACKEND=aws``, never by default.

Local backends never use the standard credential chain, and always an explicit endpoint, so a
machine with real AWS credentials configured can never reach a real account (nor send its keys to
an instructor's machine) by accident. They sign with fake credentials, except on a class's shared
emulator: a participant with the key class setup issued them (``WORKSHOP_ACCESS_KEY_ID``,
``WORKSHOP_SECRET_ACCESS_KEY`` in their connection line), the instructor with the emulator's admin
token (read from the state directory on the machine that serves it).
"""

from __future__ import annotations

import functools
import os
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import botocore.loaders
import botocore.session

from workshop.core.errors import WorkshopError
from workshop.core.naming import Names, resolve_prefix

EMBEDDED = "embedded"
ENDPOINT = "endpoint"
AWS = "aws"
KINDS = (EMBEDDED, ENDPOINT, AWS)

DEFAULT_PORT = 4566
LOCAL_REGION = "us-east-1"
# moto's fixed account; a documented placeholder, safe to show in outputs.
LOCAL_ACCOUNT_ID = "123456789012"
FAKE_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
# What a process the kit starts for itself (a private emulator, a notebook run, a test) must never
# inherit from the developer's shell: real credentials, or a backend chosen for something else.
SCRUBBED_VARIABLES = (
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "WORKSHOP_BACKEND",
    "WORKSHOP_PREFIX",
    "WORKSHOP_PORT",
    "WORKSHOP_STATE_DIR",
    "WORKSHOP_ACCESS_KEY_ID",
    "WORKSHOP_SECRET_ACCESS_KEY",
)
# A participant's own key on a class's shared emulator, from their connection line. Not the
# AWS_* variables: a learner's real AWS credentials must never be sent to someone's emulator.
PARTICIPANT_KEY_VARIABLES = ("WORKSHOP_ACCESS_KEY_ID", "WORKSHOP_SECRET_ACCESS_KEY")


class _DistinctPaths(list):
    """A loader's search paths: boto3 appends its own data folder for every session it builds."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


@functools.cache
def _shared_loader() -> botocore.loaders.Loader:
    """One loader of botocore's service models and endpoints for every session of this process.

    Each session would parse endpoints.json and each model again (about 6 MB of objects for the
    endpoints alone, tens of milliseconds): an emulator whose pollers, deliveries and handlers
    each take a session per thread held hundreds of MB of copies. The loader caches what it read
    and botocore treats it as read-only (boto/botocore#3078 shares it the same way)."""
    loader = botocore.loaders.create_loader(os.environ.get("AWS_DATA_PATH"))
    loader._search_paths = _DistinctPaths(loader.search_paths)
    return loader


_CLIENT_CONFIG = botocore.config.Config(
    retries={"max_attempts": 3, "mode": "standard"},
    connect_timeout=5,
    read_timeout=70,  # above SQS long polls (20 s) and the longest Lambda timeout used in labs
)


@dataclass(frozen=True)
class Backend:
    """One AWS to talk to: its kind, endpoint and region; ``signing_key`` (access key id, secret)
    is a participant's key on a class's shared emulator."""

    kind: str
    endpoint_url: str | None
    region: str
    signing_key: tuple[str, str] | None = field(default=None, repr=False)
    _local: threading.local = field(default_factory=threading.local, compare=False, repr=False)
    _memo: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_local(self) -> bool:
        return self.kind != AWS

    def session(self) -> boto3.Session:
        """A new boto3 session; sessions are not thread-safe, so threads each take their own.
        They share one loader of botocore's data (:func:`_shared_loader`)."""
        core = botocore.session.Session()
        core.register_component("data_loader", _shared_loader())
        credentials = self.local_credentials() if self.is_local else {}
        return boto3.Session(botocore_session=core, region_name=self.region, **credentials)

    def local_credentials(self) -> dict[str, str]:
        """What a local backend signs with: the participant's key when given; on the embedded
        backend the instructor's key when this user can read its shared emulator's token; else
        fake ones (a laptop emulator asks nobody who they are)."""
        if self.signing_key:
            return {"aws_access_key_id": self.signing_key[0], "aws_secret_access_key": self.signing_key[1]}
        if self.kind == EMBEDDED:
            from workshop.core import launcher

            return launcher.instructor_credentials(endpoint_port(self.endpoint_url or "")) or FAKE_CREDENTIALS
        return FAKE_CREDENTIALS

    def client(self, service: str) -> Any:
        """A boto3 client for ``service``, cached per thread."""
        return self._cached("client", service)

    def resource(self, service: str) -> Any:
        """A boto3 resource for ``service``, cached per thread."""
        return self._cached("resource", service)

    def _cached(self, kind: str, service: str) -> Any:
        cache = self._local.__dict__.setdefault("cache", {})
        key = (kind, service)
        if key not in cache:
            session = self._local.__dict__.setdefault("session", self.session())
            factory = session.client if kind == "client" else session.resource
            cache[key] = factory(service, endpoint_url=self.endpoint_url, config=_CLIENT_CONFIG)
        return cache[key]

    def account_id(self) -> str:
        """The account behind the credentials; a clear error when there are none."""
        if self.is_local:
            return LOCAL_ACCOUNT_ID
        if "account" in self._memo:
            return self._memo["account"]
        try:
            self._memo["account"] = self.client("sts").get_caller_identity()["Account"]
            return self._memo["account"]
        except (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError):
            raise WorkshopError(
                "No AWS credentials found for the 'aws' backend: run 'aws configure' or "
                "'aws sso login', or set AWS_PROFILE."
            ) from None
        except botocore.exceptions.ClientError as error:
            raise WorkshopError(f"AWS refused the credentials: {error}") from None
        except botocore.exceptions.EndpointConnectionError as error:
            raise WorkshopError(f"Cannot reach AWS: {error}") from None

    def is_kit_emulator(self) -> bool:
        """Whether this is the kit's own emulator, with its teaching switches and webhook receiver:
        the embedded backend, or an endpoint whose ``/_workshop/health`` names it (asked once)."""
        if self.kind != ENDPOINT:
            return self.kind == EMBEDDED
        if "kit" not in self._memo:
            from workshop.core import launcher  # only local use needs it

            try:
                health = launcher.probe(self.endpoint_url or "", timeout=3)
            except WorkshopError:  # something answers, and it is not the kit's emulator
                health = {}
            if health is None:  # not known yet: asked again next time
                raise WorkshopError(f"Cannot reach the endpoint {self.endpoint_url} (AWS_ENDPOINT_URL): is it running?")
            self._memo["kit"] = "yes" if health else ""
        return bool(self._memo["kit"])

    def names(self, prefix: str | None = None) -> Names:
        """Resource names for a participant; on real AWS buckets carry account and region."""
        prefix = resolve_prefix(prefix)
        if self.is_local:
            return Names(prefix)
        return Names(prefix, bucket_suffix=f"-{self.account_id()}-{self.region}")

    def environment_variables(self) -> dict[str, str]:
        """Variables that point another process (a kernel, the AWS CLI) at this backend."""
        variables = {"WORKSHOP_BACKEND": self.kind, "AWS_DEFAULT_REGION": self.region}
        if self.is_local:
            credentials = self.local_credentials()
            variables.update(
                AWS_ENDPOINT_URL=self.endpoint_url or "",
                AWS_ACCESS_KEY_ID=credentials["aws_access_key_id"],
                AWS_SECRET_ACCESS_KEY=credentials["aws_secret_access_key"],
            )
        if self.signing_key:
            variables.update(zip(PARTICIPANT_KEY_VARIABLES, self.signing_key, strict=True))
        if self.kind == EMBEDDED:  # the embedded backend is found by its port
            variables["WORKSHOP_PORT"] = str(endpoint_port(self.endpoint_url or ""))
        return variables


def local_process_environment(port: int, state_dir: str | os.PathLike[str], **extra: str) -> dict[str, str]:
    """The environment of a process the kit starts on its own embedded emulator at ``port``:
    this process's variables without :data:`SCRUBBED_VARIABLES`, and no AWS config files."""
    env = {name: value for name, value in os.environ.items() if name not in SCRUBBED_VARIABLES}
    env.update(
        WORKSHOP_BACKEND=EMBEDDED,
        WORKSHOP_PORT=str(port),
        WORKSHOP_STATE_DIR=str(state_dir),
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        **extra,
    )
    return env


def endpoint_port(endpoint_url: str) -> int:
    """The port of a local endpoint such as ``http://127.0.0.1:4566``."""
    port = urllib.parse.urlsplit(endpoint_url).port
    if port is None:
        raise WorkshopError(f"The endpoint {endpoint_url!r} names no port.")
    return port


def from_environment(environ: dict[str, str] | os._Environ = os.environ) -> Backend:
    """Build the backend the environment variables ask for (see the module docstring)."""
    kind = environ.get("WORKSHOP_BACKEND", "").strip().lower()
    if not kind:
        kind = ENDPOINT if environ.get("AWS_ENDPOINT_URL") else EMBEDDED
    if kind not in KINDS:
        raise WorkshopError(f"WORKSHOP_BACKEND={kind!r} is not one of {', '.join(KINDS)}.")
    if kind == EMBEDDED:
        port = environ.get("WORKSHOP_PORT", str(DEFAULT_PORT))
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise WorkshopError(f"WORKSHOP_PORT={port!r} is not a port number.")
        return Backend(EMBEDDED, f"http://127.0.0.1:{port}", _local_region(environ))
    if kind == ENDPOINT:
        url = environ.get("AWS_ENDPOINT_URL", "")
        if not url.startswith(("http://", "https://")):
            raise WorkshopError("The 'endpoint' backend needs AWS_ENDPOINT_URL, for example http://localhost:4566.")
        return Backend(ENDPOINT, url.rstrip("/"), _local_region(environ), participant_key(environ))
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or boto3.Session().region_name
    if not region:
        raise WorkshopError(
            "No AWS region configured for the 'aws' backend: set AWS_DEFAULT_REGION or a profile region."
        )
    return Backend(AWS, None, region)


def participant_key(environ: Mapping[str, str] | os._Environ = os.environ) -> tuple[str, str] | None:
    """The participant's own key from their connection line, when it carries one."""
    key_id, secret = (environ.get(name, "").strip() for name in PARTICIPANT_KEY_VARIABLES)
    return (key_id, secret) if key_id and secret else None


def _local_region(environ: dict[str, str] | os._Environ) -> str:
    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or LOCAL_REGION


@functools.cache
def current() -> Backend:
    """The backend of this process, read once from the environment."""
    return from_environment()


def ensure_reachable(backend: Backend) -> None:
    """Make sure the backend answers: start the embedded emulator if needed, else fail clearly."""
    if backend.kind == EMBEDDED:
        from workshop.core import launcher  # only local use needs it

        port = int(backend.endpoint_url.rsplit(":", 1)[1])
        launcher.ensure_running(backend.endpoint_url, port)
    elif backend.kind == ENDPOINT:
        try:
            backend.client("sts").get_caller_identity()
        except botocore.exceptions.EndpointConnectionError:
            raise WorkshopError(
                f"Cannot reach the endpoint {backend.endpoint_url} (AWS_ENDPOINT_URL): is it running?"
            ) from None
    else:
        backend.account_id()


def connect(prefix: str | None = None) -> Backend:
    """What a notebook calls first: the current backend, answering, and who you are on it.

    On the embedded backend this starts the local emulator when none is running, so a
    learner who opened JupyterLab by hand still gets a working kernel.
    """
    backend = current()
    ensure_reachable(backend)
    names = backend.names(prefix)
    where = {
        EMBEDDED: f"the embedded local AWS at {backend.endpoint_url}",
        ENDPOINT: f"the AWS-compatible endpoint {backend.endpoint_url}",
        AWS: "a REAL AWS account",
    }[backend.kind]
    print(f"Connected to {where} (region {backend.region}) as participant {names.prefix!r}.")
    return backend
