"""Logs and metrics with Powertools for AWS Lambda, for the Lambda functions and the worker.

Every log line is one JSON object (timestamp, level, service, message and the ``extra`` keys:
tenant id, epoch, request id); metrics go out as CloudWatch Embedded Metric Format. Powertools
is imported on first use, not when ``app`` is imported (cold start). Never log QR payloads,
tokens or message text.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

NAMESPACE = "wafleet"
_formatter: Any = None
_metrics: dict[str, Any] = {}


def configure_logging(service: str, level: int = logging.INFO) -> None:
    """Route every stdlib logger through Powertools' JSON formatter (idempotent)."""
    global _formatter
    if _formatter is not None:
        return
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    _formatter = LambdaPowertoolsFormatter(service=service, utc=True)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("botocore", "urllib3", "pynamodb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def set_keys(**keys: Any) -> None:
    """Keys on every following line (the Lambda request id, a tenant, an epoch)."""
    if _formatter is not None:
        _formatter.append_keys(**keys)


def clear_keys(*names: str) -> None:
    """Forget keys set by ``set_keys``."""
    if _formatter is not None:
        _formatter.remove_keys(list(names))


def count(service: str, **values: int) -> None:
    """Emit counts as one EMF line now (namespace ``wafleet``, dimension ``service``)."""
    _emit(service, "Count", dict(values))


def percent(service: str, **values: float) -> None:
    """Emit percentages as one EMF line now (namespace ``wafleet``, dimension ``service``)."""
    _emit(service, "Percent", values)


def milliseconds(service: str, **values: float) -> None:
    """Emit durations in ms as one EMF line now (namespace ``wafleet``, dimension ``service``)."""
    _emit(service, "Milliseconds", values)


def _emit(service: str, unit: str, values: dict[str, float]) -> None:
    from aws_lambda_powertools.metrics import Metrics, MetricUnit

    metrics = _metrics.get(service)
    if metrics is None:
        metrics = _metrics[service] = Metrics(namespace=NAMESPACE, service=service)
    for name, value in values.items():
        metrics.add_metric(name=name, unit=MetricUnit[unit], value=value)
    metrics.flush_metrics()


def reset() -> None:
    """Forget the configuration (tests)."""
    global _formatter
    _formatter = None
    _metrics.clear()
