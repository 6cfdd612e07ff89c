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
# The fleet's pinned WhatsApp Web version, and another a tenant may be pinned to.
WA_VERSION, WA_VERSIONS = "2.3000.1048032155-alpha", "2.3000.1047999808-alpha"


@pytest.fixture(scope="session")
def template(cdk_out: Path) -> dict[str, Any]:
    """The synthesized stack."""
    document: dict[str, Any] = json.loads((cdk_out / "Wafleet.template.json").read_text())
    return document


@pytest.fixture(scope="session")
def cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cloud assembly: the template and its asset manifest."""
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    sys.path.insert(0, str(ROOT / "infra"))
    import aws_cdk as cdk
    from wafleet_infra.stack import WafleetStack

    out = tmp_path_factory.mktemp("cdk.out")
    context = {
        "wafleet:proxySecretArn": PROXY_SECRET,
        "wafleet:waVersion": WA_VERSION,
        "wafleet:waVersions": WA_VERSIONS,
    }
    app = cdk.App(outdir=str(out), context=context)
    here = Path.cwd()
    os.chdir(out)  # chalice.cdk packages the app into ./chalice.out
    try:
        WafleetStack(app, "Wafleet", cognito_domain_prefix="wafleet-test", alarm_email="ops@x.io")
        assembly = app.synth()
    finally:
        os.chdir(here)
    document: dict[str, Any] = assembly.get_stack_by_name("Wafleet").template
    (out / "Wafleet.template.json").write_text(json.dumps(document))
    return out


def resources(template: dict[str, Any], kind: str) -> dict[str, Any]:
    """Resources of one CloudFormation type, by logical id."""
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}
