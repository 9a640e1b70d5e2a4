"""Lab 8's checks: the solution is correct, and each typical mistake is caught by name."""

from __future__ import annotations

import json
import time

import nbformat
import pytest

from workshop.account import environment, inventory
from workshop.core import backend as backends
from workshop.core.paths import PROJECT_ROOT as ROOT
from workshop.teaching import grading

TAG = "workshop:env"


def verdict(ctx, exercise_id):
    found = grading.evaluate(exercise_id, ctx)
    return found.outcome, found.message


def assert_incorrect(ctx, exercise_id, *expected):
    status, message = verdict(ctx, exercise_id)
    assert status is grading.Outcome.INCORRECT, message
    for part in expected:
        assert part in message, message
    return message


@pytest.fixture
def lab(ctx):
    """What the lab's first cell gives: the tagged bucket for sensitive files."""
    environment.ensure_bucket(ctx.aws, ctx.names, "sensitive")
    return ctx


def bucket(ctx):
    return ctx.names.bucket("sensitive")


def make_key(ctx, alias=None, tagged=True, **options):
    kms = ctx.client("kms")
    tags = [{"TagKey": TAG, "TagValue": ctx.names.prefix}] if tagged else []
    key = kms.create_key(Description="lab 8 test", Tags=tags, **options)["KeyMetadata"]
    if alias:
        kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    return key


def solve_key(ctx):
    return make_key(ctx, ctx.names.key_alias("sensitive"))


def encrypt_by_default(ctx, key_id="", bucket_key=True, algorithm="aws:kms"):
    default = {"SSEAlgorithm": algorithm, **({"KMSMasterKeyID": key_id} if key_id else {})}
    ctx.client("s3").put_bucket_encryption(
        Bucket=bucket(ctx),
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": bucket_key}]
        },
    )


def deny(ctx, condition=None, resource=None, effect="Deny"):
    statement = {
        "Sid": "EncryptionRule",
        "Effect": effect,
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": resource or f"arn:aws:s3:::{bucket(ctx)}/*",
    }
    if condition is not None:
        statement["Condition"] = condition
    ctx.client("s3").put_bucket_policy(
        Bucket=bucket(ctx), Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )


OTHER_ENCRYPTION = {
    "Null": {"s3:x-amz-server-side-encryption": "false"},
    "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
}
REQUIRE_HEADER = {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}


def objects(ctx):
    return [o["Key"] for o in ctx.client("s3").list_objects_v2(Bucket=bucket(ctx)).get("Contents", [])]


def test_untouched_then_solved(lab):
    for exercise_id in ("8.1", "8.2", "8.3"):
        assert verdict(lab, exercise_id)[0] is grading.Outcome.NOT_ATTEMPTED, verdict(lab, exercise_id)
    key = solve_key(lab)
    encrypt_by_default(lab, key["Arn"])
    deny(lab, OTHER_ENCRYPTION)
    for exercise_id in ("8.1", "8.2", "8.3"):
        assert verdict(lab, exercise_id)[0] is grading.Outcome.CORRECT, verdict(lab, exercise_id)
    assert objects(lab) == [], "the checks remove their own test uploads"


def test_the_policy_that_requires_the_header_is_correct_too(lab):
    key = solve_key(lab)
    encrypt_by_default(lab, key["Arn"])
    deny(lab, REQUIRE_HEADER)
    for exercise_id in ("8.1", "8.2", "8.3"):
        status, message = verdict(lab, exercise_id)
        assert status is grading.Outcome.CORRECT, message
    assert "refuses an upload without the header" in verdict(lab, "8.3")[1]
    assert objects(lab) == []


def test_teardown_finds_the_key_by_its_alias_and_schedules_its_deletion(lab):
    key = solve_key(lab)
    found = [f for f in inventory.find(lab.aws, lab.names) if f.kind == "key"]
    assert [(f.name, f.identifier) for f in found] == [(lab.names.key_alias("sensitive"), key["KeyId"])]
    inventory.delete(lab.aws, found[0])
    kms = lab.client("kms")
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert lab.names.key_alias("sensitive") not in [a["AliasName"] for a in kms.list_aliases()["Aliases"]]


# ---- 8.1 -----------------------------------------------------------------------------


def test_a_key_without_an_alias_is_named(lab):
    key = make_key(lab)
    message = assert_incorrect(lab, "8.1", "no alias points to it", lab.names.key_alias("sensitive"))
    assert key["KeyId"] in message


def test_an_alias_that_is_not_the_participants_is_named(lab):
    make_key(lab, alias="alias/sensitive")
    try:
        assert_incorrect(lab, "8.1", "alias/sensitive", f"the lab looks for {lab.names.key_alias('sensitive')}")
    finally:
        lab.client("kms").delete_alias(AliasName="alias/sensitive")  # a name no participant owns


def test_an_alias_without_the_alias_prefix_is_refused_by_kms(lab):
    """KMS itself refuses it, in the learner's cell; the check then still sees no alias."""
    kms = lab.client("kms")
    key = make_key(lab, tagged=False)
    with pytest.raises(kms.exceptions.ClientError):
        kms.create_alias(AliasName=f"{lab.names.prefix}-sensitive", TargetKeyId=key["KeyId"])
    assert verdict(lab, "8.1")[0] is grading.Outcome.NOT_ATTEMPTED


def test_an_untagged_key_is_named(lab):
    make_key(lab, lab.names.key_alias("sensitive"), tagged=False)
    assert_incorrect(lab, "8.1", "has no workshop:env tag", "teardown")


def test_a_disabled_key_is_named(lab):
    key = solve_key(lab)
    lab.client("kms").disable_key(KeyId=key["KeyId"])
    assert_incorrect(lab, "8.1", "is disabled", "enable_key")


def test_a_key_pending_deletion_is_named(lab):
    key = solve_key(lab)
    lab.client("kms").schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert_incorrect(lab, "8.1", "pending deletion", "cancel_key_deletion")


@pytest.mark.parametrize("spec, usage", [("RSA_2048", "ENCRYPT_DECRYPT"), ("HMAC_256", "GENERATE_VERIFY_MAC")])
def test_a_key_of_the_wrong_spec_or_usage_is_named(lab, spec, usage):
    make_key(lab, lab.names.key_alias("sensitive"), KeySpec=spec, KeyUsage=usage)
    assert_incorrect(lab, "8.1", f"is {spec} for {usage}", "SYMMETRIC_DEFAULT", "update_alias")


# ---- 8.2 -----------------------------------------------------------------------------


def test_sse_s3_is_explained_and_not_yet_attempted(lab):
    """AES256 without a bucket key is every bucket's default on AWS: not attempted, but said plainly."""
    solve_key(lab)
    encrypt_by_default(lab, algorithm="AES256", bucket_key=False)
    status, message = verdict(lab, "8.2")
    assert status is grading.Outcome.NOT_ATTEMPTED and "SSE-S3 (AES256)" in message and "aws:kms" in message


def test_sse_s3_written_by_hand_is_incorrect(lab):
    solve_key(lab)
    encrypt_by_default(lab, algorithm="AES256", bucket_key=True)
    assert_incorrect(lab, "8.2", "SSE-S3 (AES256)", "'aws:kms'")


def test_sse_kms_without_a_key_id_is_the_aws_managed_key(lab):
    solve_key(lab)
    encrypt_by_default(lab)
    assert_incorrect(lab, "8.2", "without a KMSMasterKeyID", "aws/s3", lab.names.key_alias("sensitive"))


def test_the_aws_managed_key_by_name_is_named(lab):
    solve_key(lab)
    encrypt_by_default(lab, "alias/aws/s3")
    assert_incorrect(lab, "8.2", "AWS managed key aws/s3")


def test_another_key_is_named(lab):
    solve_key(lab)
    other = make_key(lab)
    encrypt_by_default(lab, other["Arn"])
    assert_incorrect(lab, "8.2", "another key than the one behind", lab.names.key_alias("sensitive"))


def test_no_bucket_key_is_named(lab):
    key = solve_key(lab)
    encrypt_by_default(lab, key["Arn"], bucket_key=False)
    assert_incorrect(lab, "8.2", "no S3 Bucket Key", "BucketKeyEnabled=True")


def test_the_alias_as_key_id_is_accepted(lab):
    solve_key(lab)
    encrypt_by_default(lab, lab.names.key_alias("sensitive"))
    assert verdict(lab, "8.2")[0] is grading.Outcome.CORRECT, verdict(lab, "8.2")


def test_default_encryption_before_the_key_says_to_do_8_1(lab):
    encrypt_by_default(lab, "alias/aws/s3")
    assert_incorrect(lab, "8.2", "do exercise 8.1 first")


# ---- 8.3 -----------------------------------------------------------------------------


@pytest.fixture
def encrypted(lab):
    key = solve_key(lab)
    encrypt_by_default(lab, key["Arn"])
    return lab


def test_a_deny_without_condition_blocks_encrypted_uploads_too(encrypted):
    deny(encrypted)
    assert_incorrect(encrypted, "8.3", "also refuses an upload encrypted with your key", "without a Condition")
    assert objects(encrypted) == []


def test_a_condition_that_refuses_kms_is_named(encrypted):
    deny(encrypted, {"StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}})
    assert_incorrect(encrypted, "8.3", "also refuses an upload encrypted with your key", "not aws:kms")
    assert objects(encrypted) == [], "the uploads that got in are removed again"


def test_a_policy_that_blocks_nothing_is_named(encrypted):
    deny(encrypted, {"StringEquals": {"s3:x-amz-server-side-encryption": "none"}})
    assert_incorrect(encrypted, "8.3", "took an upload that asked for AES256", "does not match")
    assert objects(encrypted) == []


def test_a_deny_on_the_bucket_arn_is_named(encrypted):
    deny(encrypted, OTHER_ENCRYPTION, resource=f"arn:aws:s3:::{bucket(encrypted)}")
    assert_incorrect(
        encrypted, "8.3", "took an upload that asked for AES256", f"Resource must be arn:aws:s3:::{bucket(encrypted)}/*"
    )


def test_an_allow_instead_of_a_deny_is_named(encrypted):
    deny(encrypted, {"StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}, effect="Allow")
    assert_incorrect(encrypted, "8.3", "its statement is an Allow", "use Effect 'Deny'")


def test_letting_headerless_uploads_in_without_the_default_is_named(lab):
    solve_key(lab)
    deny(lab, OTHER_ENCRYPTION)
    assert_incorrect(lab, "8.3", "took an upload without an encryption header", "8.2")
    assert objects(lab) == []


def test_a_policy_before_the_key_says_to_do_8_1(lab):
    deny(lab, OTHER_ENCRYPTION)
    assert_incorrect(lab, "8.3", "do exercise 8.1 first")


# ---- every fault at once -----------------------------------------------------------------


def test_an_untagged_disabled_key_hears_of_both(lab):
    key = make_key(lab, lab.names.key_alias("sensitive"), tagged=False)
    lab.client("kms").disable_key(KeyId=key["KeyId"])
    found = grading.evaluate("8.1", lab)
    assert found.outcome is grading.Outcome.INCORRECT and len(found.faults) == 2, found.message
    assert "is disabled" in found.faults[0].message and "has no workshop:env tag" in found.faults[1].message
    assert "enable_key" in found.faults[0].hint and "tag_resource" in found.faults[1].hint


def test_another_key_without_a_bucket_key_hears_of_both(lab):
    solve_key(lab)
    encrypt_by_default(lab, make_key(lab)["Arn"], bucket_key=False)
    found = grading.evaluate("8.2", lab)
    assert found.outcome is grading.Outcome.INCORRECT and len(found.faults) == 2, found.message
    assert (
        "another key than the one behind" in found.faults[0].message and "no S3 Bucket Key" in found.faults[1].message
    )


# ---- the lab's own cells, as a learner runs them ------------------------------------------


def lab_cell(start: str) -> str:
    cells = nbformat.read(ROOT / "labs" / "08_kms_bucket.ipynb", as_version=4).cells
    return next(c.source for c in cells if c.cell_type == "code" and c.source.startswith(start))


@pytest.fixture
def learner(lab, in_process_backend, monkeypatch, capsys):
    """The lab's first cell run in this process as the lab's participant; returns its namespace."""
    monkeypatch.setenv("WORKSHOP_PREFIX", lab.names.prefix)
    backends.current.cache_clear()
    namespace: dict = {}
    exec(lab_cell("import json"), namespace)
    capsys.readouterr()
    return namespace


def test_try_it_works_when_the_learner_kept_only_key_arn(learner, capsys):
    """The TODO of 8.1 asks for key_arn alone: the 'Try it' cell must not need anything else."""
    exec(
        """key_arn = kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT", Policy=key_policy,
                         Tags=[{"TagKey": k, "TagValue": v} for k, v in names.tag.items()])["KeyMetadata"]["Arn"]
kms.create_alias(AliasName=key_alias, TargetKeyId=key_arn)
s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
    "BucketKeyEnabled": True}]})""",
        learner,
    )
    exec(
        lab_cell("sensitive_policy = None").replace(
            "\npass\n",
            "\nsensitive_policy = "
            + repr(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:PutObject",
                            "Resource": f"arn:aws:s3:::{learner['bucket']}/*",
                            "Condition": OTHER_ENCRYPTION,
                        }
                    ],
                }
            )
            + "\n",
        ),
        learner,
    )
    assert "key" not in learner
    exec(lab_cell('if ready("8.1", "8.2", "8.3"):'), learner)
    shown = capsys.readouterr().out
    assert "SSEKMSKeyId is your key: True" in shown and "is refused: True" in shown, shown


@pytest.mark.parametrize(
    "statement, expected",
    [
        (
            {"Effect": "Allow", "Condition": OTHER_ENCRYPTION},
            "This policy can refuse no upload: its statement is an Allow",
        ),
        ({"Effect": "Deny", "Resource": "BUCKET", "Condition": OTHER_ENCRYPTION}, "PutObject acts on objects"),
        (
            {"Effect": "Deny", "Condition": {"StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms:dsse"}}},
            "still gets in: the Deny's condition does not match it",
        ),
    ],
    ids=["allow", "bucket arn", "condition"],
)
def test_a_wrong_policy_is_named_at_once_not_after_a_silent_wait(learner, capsys, statement, expected):
    bucket_name = learner["bucket"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket_name}/*", **statement}
        ],
    }
    if policy["Statement"][0]["Resource"] == "BUCKET":
        policy["Statement"][0]["Resource"] = f"arn:aws:s3:::{bucket_name}"
    started = time.monotonic()
    exec(lab_cell("sensitive_policy = None").replace("\npass\n", f"\nsensitive_policy = {policy!r}\n"), learner)
    shown = capsys.readouterr().out
    assert expected in shown, shown
    assert time.monotonic() - started < 10, "a wrong policy is reported within seconds on the emulator"
