"""CDK entry point: ``cd infra && cdk deploy`` (see the README, "Deploy to AWS")."""

from __future__ import annotations

import aws_cdk as cdk
from wafleet_infra.stack import WafleetStack

app = cdk.App()
WafleetStack(
    app,
    "Wafleet",
    cognito_domain_prefix=app.node.try_get_context("wafleet:cognitoDomainPrefix")
    or "wafleet-portal",
    alarm_email=app.node.try_get_context("wafleet:alarmEmail") or None,
)
app.synth()
