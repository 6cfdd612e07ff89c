"""One synthesized template for the infra tests (synth packages the Chalice app)."""

from __future__ import annotations

import json
import os
import subprocess
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
    """The cloud assembly (the template and its asset manifest), from what ``cdk synth``
    runs (cdk.json's app) in an environment that knows nothing of AWS: no credentials, no
    region, no ~/.aws. The deploy-time context comes as the CDK CLI passes it."""
    out = tmp_path_factory.mktemp("cdk.out")
    context = {
        "wafleet:cognitoDomainPrefix": "wafleet-test",
        "wafleet:alarmEmail": "ops@x.io",
        "wafleet:proxySecretArn": PROXY_SECRET,
        "wafleet:waVersion": WA_VERSION,
        "wafleet:waVersions": WA_VERSIONS,
    }
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(out),  # no ~/.aws either
        "CDK_OUTDIR": str(out),
        "CDK_CONTEXT_JSON": json.dumps(context),
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
    # chalice.cdk packages the app into ./chalice.out: the assembly's folder, not the repo.
    result = subprocess.run(
        [sys.executable, str(ROOT / "infra" / "cdk_app.py")],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def resources(template: dict[str, Any], kind: str) -> dict[str, Any]:
    """Resources of one CloudFormation type, by logical id."""
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}
