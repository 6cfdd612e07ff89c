"""One synthesized template for the infra tests (synth packages the Chalice app)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# An egress proxy's URL in Secrets Manager (the optional deploy-time context).
PROXY_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:wafleet-proxy-AbCdEf"


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    sys.path.insert(0, str(ROOT / "infra"))
    import aws_cdk as cdk
    from wafleet_infra.stack import WafleetStack

    out = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(outdir=str(out), context={"wafleet:proxySecretArn": PROXY_SECRET})
    here = Path.cwd()
    os.chdir(out)  # chalice.cdk packages the app into ./chalice.out
    try:
        WafleetStack(app, "Wafleet", cognito_domain_prefix="wafleet-test", alarm_email="ops@x.io")
        assembly = app.synth()
    finally:
        os.chdir(here)
    document: dict[str, Any] = assembly.get_stack_by_name("Wafleet").template
    (out / "Wafleet.template.json").write_text(json.dumps(document))
    return document


def resources(template: dict[str, Any], kind: str) -> dict[str, Any]:
    """Resources of one CloudFormation type, by logical id."""
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}
