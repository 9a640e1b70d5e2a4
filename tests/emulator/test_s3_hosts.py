"""A class served at a host name (``--connect-host lab-pc.local``) reaches S3 path-style.

boto3 addresses buckets path-style whenever an endpoint is given; moto read the host name
``lab-pc.local`` as the bucket ``lab-pc``, so every upload of such a class went nowhere.
"""

from __future__ import annotations

import http.client

from tests.lambda_helpers import ready_names
from workshop.core import backend as backends


def test_a_request_to_the_emulators_host_name_reads_the_bucket_from_its_path(backend, prefix):
    bucket = ready_names(backend, prefix).bucket("incoming")
    port = backends.endpoint_port(backend.endpoint_url or "")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(
        "PUT",
        f"/{bucket}/orders/day.csv",
        body=b"id\n1\n",
        headers={
            "Host": f"lab-pc.local:{port}",
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20261205/us-east-1/s3/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    assert connection.getresponse().status == 200
    stored = backend.client("s3").get_object(Bucket=bucket, Key="orders/day.csv")["Body"].read()
    assert stored == b"id\n1\n"
