"""The delivery queue (SQS) and the mailer (SES), through boto3 with botocore's retries."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from chalicelib.control import runtime


@cache
def aws_client(service: str, endpoint: str | None, region: str) -> Any:
    """A boto3 client with botocore's standard retries, one per service and endpoint."""
    import boto3
    from botocore.config import Config

    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint,
        region_name=region,
        config=Config(retries={"mode": "standard", "max_attempts": 5}),
    )


def client(service: str) -> Any:
    """An SQS, SES or S3 client for the configured endpoint (moto in ``make dev``)."""
    settings = runtime.get().settings
    return aws_client(service, settings.aws_endpoint, settings.region)


MAX_DELAY_S = 900  # SQS's longest per-message delay


def enqueue(message: dict[str, Any], *, delay_s: float = 0.0, dead: bool = False) -> None:
    """Put a delivery on the queue (or the dead-letter queue), at most 15 min ahead."""
    settings = runtime.get().settings
    url = settings.webhook_dlq_url if dead else settings.webhook_queue_url
    if not url:
        raise RuntimeError("WAFLEET_WEBHOOK_QUEUE_URL / _DLQ_URL are not set")
    client("sqs").send_message(
        QueueUrl=url,
        MessageBody=json.dumps(message),
        DelaySeconds=max(0, min(MAX_DELAY_S, int(delay_s))),
        # A fair queue (a standard queue with message groups): SQS hands out other tenants'
        # messages first while one tenant's backlog is in flight.
        MessageGroupId=str(message["tenant"]),
    )


def send_mail(to: list[str], subject: str, text: str) -> None:
    """One plain-text e-mail through SES from the configured sender."""
    settings = runtime.get().settings
    client("ses").send_email(
        Source=settings.alert_from,
        Destination={"ToAddresses": to},
        Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": text}}},
    )
