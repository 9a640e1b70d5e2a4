import pytest

from workshop.core import backend as backends
from workshop.core.errors import WorkshopError


def test_embedded_is_the_default():
    backend = backends.from_environment({})
    assert backend.kind == "embedded"
    assert backend.endpoint_url == "http://127.0.0.1:4566"
    assert backend.region == "us-east-1"


def test_port_and_region_are_configurable():
    backend = backends.from_environment({"WORKSHOP_PORT": "5001", "AWS_DEFAULT_REGION": "eu-west-1"})
    assert backend.endpoint_url == "http://127.0.0.1:5001"
    assert backend.region == "eu-west-1"


def test_an_endpoint_url_selects_the_endpoint_backend():
    backend = backends.from_environment({"AWS_ENDPOINT_URL": "http://localhost:4567/"})
    assert (backend.kind, backend.endpoint_url) == ("endpoint", "http://localhost:4567")


def test_real_aws_needs_an_explicit_choice():
    for environ in ({}, {"AWS_PROFILE": "prod"}, {"AWS_ACCESS_KEY_ID": "AKIA...", "AWS_SECRET_ACCESS_KEY": "x"}):
        assert backends.from_environment(environ).kind != "aws"
    backend = backends.from_environment({"WORKSHOP_BACKEND": "aws", "AWS_DEFAULT_REGION": "eu-central-1"})
    assert (backend.kind, backend.endpoint_url, backend.region) == ("aws", None, "eu-central-1")


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"WORKSHOP_BACKEND": "cloud"}, "not one of"),
        ({"WORKSHOP_BACKEND": "endpoint"}, "needs AWS_ENDPOINT_URL"),
        ({"WORKSHOP_PORT": "http"}, "not a port"),
    ],
)
def test_bad_settings_get_clear_errors(environ, message):
    with pytest.raises(WorkshopError, match=message):
        backends.from_environment(environ)


def test_local_backends_never_use_real_credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-secret")
    backend = backends.from_environment({})
    credentials = backend.session().get_credentials()
    assert credentials.access_key == "test"
    client = backend.client("s3")
    assert client.meta.endpoint_url == "http://127.0.0.1:4566"


def test_clients_are_cached_per_thread():
    import threading

    backend = backends.from_environment({})
    first = backend.client("sqs")
    assert backend.client("sqs") is first
    other = []
    thread = threading.Thread(target=lambda: other.append(backend.client("sqs")))
    thread.start()
    thread.join()
    assert other[0] is not first


def test_environment_variables_point_other_tools_here():
    variables = backends.from_environment({"WORKSHOP_PORT": "5002"}).environment_variables()
    assert variables["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5002"
    assert variables["AWS_ACCESS_KEY_ID"] == "test"
    aws = backends.from_environment({"WORKSHOP_BACKEND": "aws", "AWS_DEFAULT_REGION": "us-west-2"})
    assert "AWS_ENDPOINT_URL" not in aws.environment_variables()


def test_names_on_local_backends_have_no_account_suffix():
    assert backends.from_environment({}).names("ana").bucket("incoming") == "ana-incoming"
