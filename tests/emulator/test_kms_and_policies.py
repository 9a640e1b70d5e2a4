"""SSE-KMS with customer-managed keys, and bucket policies judged on the request's condition keys."""

import json

import pytest
from botocore.exceptions import ClientError

from tests.lambda_helpers import ready_names


@pytest.fixture
def vault(backend, prefix):
    names = ready_names(backend, prefix)
    bucket = names.bucket("processed")
    kms = backend.client("kms")
    key = kms.create_key(Description="workshop vault key")["KeyMetadata"]
    kms.create_alias(AliasName=names.key_alias("vault"), TargetKeyId=key["KeyId"])
    return backend.client("s3"), kms, bucket, key["Arn"], names


def _error(call):
    with pytest.raises(ClientError) as error:
        call()
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


def _policy(s3, bucket, *statements):
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


def test_default_encryption_with_a_customer_managed_key(vault):
    s3, _, bucket, key_arn, _ = vault
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    s3.put_object(Bucket=bucket, Key="card.json", Body=b'{"pan": "4111"}')
    head = s3.head_object(Bucket=bucket, Key="card.json")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn
    assert s3.get_object(Bucket=bucket, Key="card.json")["Body"].read() == b'{"pan": "4111"}'


def test_policy_refusing_unencrypted_uploads(vault):
    s3, _, bucket, key_arn, _ = vault
    _policy(
        s3,
        bucket,
        {
            "Sid": "DenyUnencrypted",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}},
        },
    )
    assert _error(lambda: s3.put_object(Bucket=bucket, Key="plain.txt", Body=b"x")) == ("AccessDenied", "Access Denied")
    s3.put_object(Bucket=bucket, Key="sealed.txt", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
    assert s3.get_object(Bucket=bucket, Key="sealed.txt")["Body"].read() == b"x", "reads are not affected"


def test_null_condition_and_key_condition(vault):
    s3, kms, bucket, key_arn, _ = vault
    other = kms.create_key()["KeyMetadata"]["Arn"]
    _policy(
        s3,
        bucket,
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}},
        },
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn}},
        },
    )
    assert _error(lambda: s3.put_object(Bucket=bucket, Key="a", Body=b"x"))[0] == "AccessDenied"
    assert (
        _error(
            lambda: s3.put_object(Bucket=bucket, Key="a", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=other)
        )[0]
        == "AccessDenied"
    )
    s3.put_object(Bucket=bucket, Key="a", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)


def test_a_policy_without_condition_blocks_encrypted_uploads_too(vault):
    s3, _, bucket, key_arn, _ = vault
    _policy(
        s3,
        bucket,
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
    )
    assert (
        _error(
            lambda: s3.put_object(
                Bucket=bucket, Key="a", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn
            )
        )[0]
        == "AccessDenied"
    )


def test_secure_transport_condition_sees_plain_http(vault):
    s3, _, bucket, _, _ = vault
    s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    _policy(
        s3,
        bucket,
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )
    assert _error(lambda: s3.get_object(Bucket=bucket, Key="a"))[0] == "AccessDenied"


def test_unusable_keys_are_refused(vault):
    s3, kms, bucket, key_arn, names = vault
    code, message = _error(
        lambda: s3.put_object(
            Bucket=bucket,
            Key="a",
            Body=b"x",
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId="arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000",
        )
    )
    assert code == "KMS.NotFoundException" and "Invalid keyId" in message
    s3.put_object(
        Bucket=bucket, Key="a", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=names.key_alias("vault")
    )
    kms.disable_key(KeyId=key_arn)
    assert _error(lambda: s3.get_object(Bucket=bucket, Key="a")) == ("KMS.DisabledException", f"{key_arn} is disabled.")
    assert (
        _error(
            lambda: s3.put_object(
                Bucket=bucket, Key="b", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn
            )
        )[0]
        == "KMS.DisabledException"
    )
    kms.enable_key(KeyId=key_arn)
    assert s3.get_object(Bucket=bucket, Key="a")["Body"].read() == b"x"
    kms.schedule_key_deletion(KeyId=key_arn, PendingWindowInDays=7)
    assert _error(lambda: s3.get_object(Bucket=bucket, Key="a"))[0] == "KMS.KMSInvalidStateException"
