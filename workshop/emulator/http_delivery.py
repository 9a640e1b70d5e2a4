"""SNS deliveries to HTTP endpoints, as SNS posts them, to this machine only.

The emulator runs on a laptop or a CI machine; it posts only to loopback addresses so
a subscription can never make it send traffic anywhere else.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.request
from typing import Any
from urllib.parse import urlparse

ATTEMPTS = 3


def is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
    except (socket.gaierror, ValueError):
        return False


def post_notification(url: str, notification: dict[str, Any], subscription_arn: str) -> bool:
    """POST the notification with SNS's headers; True when the endpoint answered 2xx."""
    if not is_loopback(url):
        print(f"SNS delivery to {url} skipped: the emulator only posts to this machine", flush=True)
        return False
    body = json.dumps(notification).encode()
    headers = {
        "Content-Type": "text/plain; charset=UTF-8",
        "x-amz-sns-message-type": notification.get("Type", "Notification"),
        "x-amz-sns-message-id": notification.get("MessageId", ""),
        "x-amz-sns-topic-arn": notification.get("TopicArn", ""),
        "x-amz-sns-subscription-arn": subscription_arn,
        "User-Agent": "Amazon Simple Notification Service Agent",
    }
    for _ in range(ATTEMPTS):
        try:
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            with urllib.request.urlopen(request, timeout=5) as response:
                if 200 <= response.status < 300:
                    return True
        except OSError:
            continue
    return False
