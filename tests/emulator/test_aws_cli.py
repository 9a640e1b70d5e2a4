"""The AWS CLI, a client this kit did not write, against the embedded emulator.

The CLI is pointed at the emulator only the way the README says, ``eval "$(python -m workshop env)"``:
the shell it runs in starts with no endpoint and no credentials, so every command below can only
reach the emulator through what ``python -m workshop env`` printed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lambda_helpers import deploy_source, invoke, ready_names
from workshop.core.waiting import wait_for
from workshop.lab_helpers import capstone, orders

VENV_BIN = Path(sys.executable).parent
AWS = VENV_BIN / "aws"


def shell_environment(emulator: dict[str, str]) -> dict[str, str]:
    """The learner's shell before the eval: which emulator (WORKSHOP_PORT), nothing for the CLI."""
    env = {
        k: v
        for k, v in emulator.items()
        if not k.startswith("AWS_")
        or k in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED")
    }
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env["AWS_PAGER"] = ""
    return env


def cli(emulator: dict[str, str], command: str, timeout: float = 120) -> str:
    """Run ``command`` in bash after the README's eval line; its stdout, or a failure with stderr."""
    script = f'set -euo pipefail\neval "$(python -m workshop env)"\n{command}\n'
    done = subprocess.run(
        ["bash", "-c", script], env=shell_environment(emulator), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{command!r} failed ({done.returncode}):\n{done.stderr}\n{done.stdout}"
    return done.stdout


def test_workshop_env_points_the_cli_at_this_emulator(emulator):
    printed = subprocess.run(
        [sys.executable, "-m", "workshop", "env"],
        env=shell_environment(emulator),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    exported = dict(shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in printed.splitlines())
    assert exported["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{emulator['WORKSHOP_PORT']}"
    assert exported["AWS_ACCESS_KEY_ID"] and exported["AWS_SECRET_ACCESS_KEY"] and exported["AWS_DEFAULT_REGION"]
    # Without the eval the CLI has no credentials at all: the eval is what makes the commands below work.
    bare = subprocess.run(
        [str(AWS), "s3", "ls"], env=shell_environment(emulator), capture_output=True, text=True, timeout=60
    )
    assert bare.returncode != 0 and "credentials" in bare.stderr.lower(), bare.stderr
    # The CLI after the eval answers with the emulator's account, not a real one.
    identity = json.loads(cli(emulator, "aws sts get-caller-identity --output json"))
    assert identity["Account"] == "123456789012"


def test_aws_s3_cp_runs_the_capstone_pipeline_and_aws_logs_shows_the_intake(backend, emulator, prefix, tmp_path):
    names = ready_names(backend, prefix)
    capstone.provision(backend, names)
    capstone.deploy(backend, names, [capstone.ORDERS])
    body = orders.sample_csv(first_id=7001, seed=3)
    order_ids = [row["order_id"] for row in csv.DictReader(io.StringIO(body.decode()))]
    local = tmp_path / "cli order.csv"
    local.write_bytes(body)
    key = "orders/2026 12/cli order+1.csv"  # S3 sends it form-encoded: 'orders/2026+12/cli+order%2B1.csv'
    incoming, archive, output = (names.bucket(p) for p in (capstone.INCOMING, capstone.ARCHIVE, capstone.OUTPUT))

    uploaded = cli(emulator, f"aws s3 cp {shlex.quote(str(local))} {shlex.quote(f's3://{incoming}/{key}')}")
    assert f"s3://{incoming}/{key}" in uploaded

    # The pipeline's effect: the file taken in and moved to the archive, one output per record.
    rows = wait_for(lambda: capstone.settled(backend, names, [key]), "the uploaded file to be settled", timeout=120)
    assert rows[0]["ended_in"] == "archive" and rows[0]["delivered"] == len(order_ids), rows
    # ... and seen through the CLI too.
    archived = json.loads(cli(emulator, f"aws s3api list-objects-v2 --bucket {archive} --output json"))
    assert [o["Key"] for o in archived["Contents"]] == [key]
    assert cli(emulator, f"aws s3 ls s3://{incoming}/ --recursive") == ""
    listed = cli(emulator, f"aws s3 ls s3://{output}/orders/").split()
    assert sorted(name for name in listed if name.endswith(".json")) == sorted(f"{i}.json" for i in order_ids)
    document = json.loads(cli(emulator, f"aws s3 cp s3://{output}/orders/{order_ids[0]}.json -"))
    assert document["record"]["order_id"] == order_ids[0], document

    # The intake's log: START, the handler's own line (the decoded key), END and REPORT.
    # (PyPI's CLI is v1, which reads logs with filter-log-events; v2's `aws logs tail` is tested below.)
    group = f"/aws/lambda/{names.function(capstone.ORDERS.purpose('intake'))}"
    messages = [
        e["message"]
        for e in json.loads(cli(emulator, f"aws logs filter-log-events --log-group-name {group} --output json"))[
            "events"
        ]
    ]
    handler_lines = [json.loads(m) for m in messages if m.startswith("{")]
    assert {"key": key, "records": len(order_ids)} in handler_lines, messages
    for marker in ("START RequestId: ", "END RequestId: ", "REPORT RequestId: "):
        assert any(m.startswith(marker) for m in messages), (marker, messages)
    streams = json.loads(cli(emulator, f"aws logs describe-log-streams --log-group-name {group} --output json"))
    assert streams["logStreams"] and all("[$LATEST]" in s["logStreamName"] for s in streams["logStreams"])


CLI_V2 = Path("/usr/bin/aws")  # Debian's awscli package is v2 (.ci/run installs it); PyPI's awscli is v1


@pytest.mark.skipif(not CLI_V2.exists(), reason="AWS CLI v2 is not installed (.ci/run installs Debian's awscli)")
def test_aws_logs_tail_shows_a_handlers_logs(backend, emulator, prefix):
    """`aws logs tail`, AWS CLI v2's way to read a function's logs, against the emulator."""
    names = ready_names(backend, prefix)
    deploy_source(backend, names, "tailed", 'def handler(event, context):\n    print("tail me", event["n"])\n')
    function = names.function("tailed")
    for n in (1, 2):
        invoke(backend, function, {"n": n})
    version = cli(emulator, f"{CLI_V2} --version")
    assert version.startswith("aws-cli/2."), version
    # v2 of this age reads no AWS_ENDPOINT_URL (2.13 and later do): the endpoint goes on the command line
    tailed = cli(
        emulator,
        f'{CLI_V2} logs tail /aws/lambda/{function} --since 1h --format short --endpoint-url "$AWS_ENDPOINT_URL"',
    )
    lines = tailed.splitlines()
    assert [line.split(" ", 1)[1] for line in lines if "tail me" in line] == ["tail me 1", "tail me 2"], tailed
    assert any("REPORT RequestId: " in line for line in lines), tailed
