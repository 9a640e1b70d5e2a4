"""The chat webhook receiver: Slack's answers, and a handler posting to it."""

import json
import urllib.error
import urllib.request

import pytest

from tests.lambda_helpers import deploy_source, invoke, ready_names
from workshop.lab_helpers import webhook


def _post(url, payload):
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.read().decode()


def test_receiver_answers_like_slack_and_keeps_messages(in_process_backend, prefix):
    channel = f"{prefix}-alerts"
    url = webhook.url(channel)
    assert _post(url, {"text": "queue backlog: 12 jobs"}) == (200, "ok")
    for bad, answer in (({"username": "x"}, "no_text"), ([1, 2], "invalid_payload")):
        with pytest.raises(urllib.error.HTTPError) as error:
            _post(url, bad)
        assert error.value.code == 400 and error.value.read().decode() == answer
    assert [m["text"] for m in webhook.messages(channel)] == ["queue backlog: 12 jobs"]
    webhook.clear(channel)
    assert webhook.messages(channel) == []


def test_a_lambda_handler_posts_to_the_webhook(in_process_backend, backend, prefix):
    names = ready_names(backend, prefix)
    deploy_source(
        backend,
        names,
        "notifier",
        (
            "import json, os, urllib.request\n"
            "def handler(event, context):\n"
            "    body = json.dumps({'text': f\"ALARM {event['alarm']}\"}).encode()\n"
            "    request = urllib.request.Request(os.environ['WEBHOOK_URL'], data=body, method='POST',\n"
            "                                     headers={'Content-Type': 'application/json'})\n"
            "    return urllib.request.urlopen(request, timeout=5).read().decode()\n"
        ),
        environment={"WEBHOOK_URL": webhook.url(f"{prefix}-ops")},
    )
    assert invoke(backend, names.function("notifier"), {"alarm": "backlog"})[1] == "ok"
    assert [m["text"] for m in webhook.messages(f"{prefix}-ops")] == ["ALARM backlog"]


def test_real_aws_needs_a_webhook_url(monkeypatch):
    from workshop.core import backend as backends
    from workshop.core.errors import WorkshopError

    monkeypatch.setenv("WORKSHOP_BACKEND", "aws")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("WORKSHOP_WEBHOOK_URL", raising=False)
    backends.current.cache_clear()
    try:
        with pytest.raises(WorkshopError, match="WORKSHOP_WEBHOOK_URL"):
            webhook.url()
        monkeypatch.setenv("WORKSHOP_WEBHOOK_URL", "https://hooks.example.invalid/T000/B000/XXXX")
        assert webhook.url() == "https://hooks.example.invalid/T000/B000/XXXX"
    finally:
        backends.current.cache_clear()
