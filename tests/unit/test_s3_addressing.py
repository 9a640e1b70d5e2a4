"""A request's host names a bucket only in S3's virtual-hosted forms, never a class's host name."""

from __future__ import annotations

import pytest

from workshop.aws.s3_addressing import virtual_hosted_bucket
from workshop.emulator.s3_guard import bucket_and_key


@pytest.mark.parametrize(
    "host, bucket",
    [
        ("ana-incoming.s3.amazonaws.com", "ana-incoming"),
        ("ana-incoming.s3.eu-west-1.amazonaws.com", "ana-incoming"),
        ("ana-incoming.s3-eu-west-1.amazonaws.com", "ana-incoming"),
        ("ana-incoming.localhost:4566", "ana-incoming"),
        ("ana-incoming.s3.localhost:4566", "ana-incoming"),
        ("lab-pc.local:4751", None),  # a class served by name: path-style
        ("lab-pc.example.org", None),
        ("10.0.0.5:4751", None),
        ("127.0.0.1:4566", None),
        ("[::1]:4566", None),
        ("localhost:4566", None),
        ("s3.amazonaws.com", None),
    ],
)
def test_the_host_names_a_bucket_only_in_s3s_own_forms(host, bucket):
    assert virtual_hosted_bucket(host) == bucket


def test_a_class_served_by_host_name_reads_the_bucket_from_the_path():
    environ = {"HTTP_HOST": "lab-pc.local:4751", "PATH_INFO": "/ana-incoming/orders/day.csv"}
    assert bucket_and_key(environ) == ("ana-incoming", "orders/day.csv")
