"""A channel's worker: each job from the FIFO queue becomes an output object for the next system.

The record is written as it came, every property included, so a new column in tomorrow's files
reaches the output without a change here. A job that cannot be done is reported alone
(ReportBatchItemFailures); after the queue's maxReceiveCount it waits in the dead-letter queue.
On a FIFO queue the jobs after a failed one are handed back too, unprocessed: doing them now
would overtake the failed job of the same group.
"""

import json
import os

import boto3

s3 = boto3.client("s3")
OUTPUT = os.environ["OUTPUT_BUCKET"]
BOOKKEEPING = ("RecordKey", "Channel", "SourceFile")


def handler(event, context):
    failures = []
    for message in event["Records"]:
        if failures:
            failures.append({"itemIdentifier": message["messageId"]})
            continue
        try:
            job = json.loads(message["body"])
            record = {name: value for name, value in job.items() if name not in BOOKKEEPING}
            s3.put_object(Bucket=OUTPUT, Key=f"{job['Channel']}/{job['RecordKey'].split('#', 1)[1]}.json",
                          Body=json.dumps({"source": job["SourceFile"], "record": record}, sort_keys=True).encode(),
                          ContentType="application/json")
        except Exception as error:  # one bad job must not fail the jobs before it
            print(f"job {message['messageId']} failed: {type(error).__name__}: {error}")
            failures.append({"itemIdentifier": message["messageId"]})
    return {"batchItemFailures": failures}
