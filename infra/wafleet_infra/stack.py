"""The wafleet stack: tables, sign-in, workers, API, portal and alarms, each its own construct."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct, Node

from wafleet_infra.alarms import Alarms
from wafleet_infra.api import Api
from wafleet_infra.auth import SignIn
from wafleet_infra.notify import Notify
from wafleet_infra.portal import Portal
from wafleet_infra.tables import create_tables, table_env
from wafleet_infra.workers import Workers


def wa_versions(node: Node) -> dict[str, Any]:
    """The WhatsApp Web versions of the deploy-time context: the fleet's pin
    (``wafleet:waVersion``) and those tenants may be pinned to (``wafleet:waVersions``, spaces
    or commas between them); the image carries their pages. A misspelt one stops the synth."""
    from chalicelib.domain import wa_version
    from chalicelib.domain.errors import ValidationError

    pin = node.try_get_context("wafleet:waVersion") or None
    listed = node.try_get_context("wafleet:waVersions") or ""
    if isinstance(listed, list | tuple):
        listed = " ".join(str(v) for v in listed)
    try:
        return {
            "wa_version": wa_version.check(pin, "wafleet:waVersion") if pin else None,
            "wa_versions": tuple(
                wa_version.check(v, "wafleet:waVersions")
                for v in str(listed).replace(",", " ").split()
            ),
        }
    except ValidationError as exc:
        raise ValueError(f"context {exc}") from None


class WafleetStack(Stack):
    """Everything wafleet needs in one account and region."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cognito_domain_prefix: str,
        alarm_email: str | None = None,
        alert_from: str | None = None,
        heartbeat_s: int = 15,
        stale_s: int = 45,
        package_api: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        tables = create_tables(self)
        common_env = table_env(tables) | {
            "WAFLEET_HEARTBEAT_S": str(heartbeat_s),
            "WAFLEET_STALE_S": str(stale_s),
        }
        portal_url = str(self.node.try_get_context("wafleet:portalUrl") or "https://localhost")
        sign_in = SignIn(
            self, "SignIn", domain_prefix=cognito_domain_prefix, portal_url=portal_url.rstrip("/")
        )
        workers = Workers(
            self,
            "Workers",
            tables=tables,
            env=common_env,
            portal_origin=portal_url.rstrip("/"),
            proxy_secret_arn=self.node.try_get_context("wafleet:proxySecretArn"),
            **wa_versions(self.node),
        )
        alert_from = alert_from or self.node.try_get_context("wafleet:alertFrom")
        notify = Notify(self, "Notify", tables=tables, alert_from=alert_from)
        issuer = sign_in.issuer(self.region)
        api = Api(
            self,
            "Api",
            tables=tables,
            package=package_api,
            env=common_env
            | workers.launcher_env()
            | {
                "WAFLEET_JWT_ISSUER": issuer,
                "WAFLEET_JWT_AUDIENCE": sign_in.client.user_pool_client_id,
                "WAFLEET_JWKS_URL": f"{issuer}/.well-known/jwks.json",
                "WAFLEET_AUTO_RESTART": "1",
                "WAFLEET_MEDIA_BUCKET": workers.media.bucket_name,
            }
            | notify.env(portal_url.rstrip("/")),
        )
        api.notify_role_arn = notify.role.role_arn
        notify.queue.grant_send_messages(api.role)  # the portal's "resend"
        # The files of answers: a presigned POST is signed with the API's own right to put
        # them; a save reads a file's first bytes.
        api.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:GetObject"],
                resources=[workers.media.arn_for_objects("*")],
            )
        )
        workers.grant_launch(api.role, self.partition, self.region, self.account)
        api.build()
        base = sign_in.domain.base_url()
        portal = Portal(
            self,
            "Portal",
            api_domain=api.domain,
            upload_origins=(
                f"https://{workers.media.bucket_name}.s3.amazonaws.com",
                f"https://{workers.media.bucket_regional_domain_name}",
            ),
            config={
                "auth": "cognito",
                "authorizeUrl": base + "/oauth2/authorize",
                "tokenUrl": base + "/oauth2/token",
                "clientId": sign_in.client.user_pool_client_id,
                "apiBase": "/api",
            },
        )
        if "WebhookFanout" in api.functions:
            notify.subscribe(api.functions["WebhookFanout"], tables)
        Alarms(
            self,
            "Alarms",
            functions=api.functions,
            tenants_table=tables.tenants,
            email=alarm_email,
            extra=notify.alarm_metrics(),
        )
        CfnOutput(
            self, "PortalUrl", value=f"https://{portal.distribution.distribution_domain_name}"
        )
        CfnOutput(self, "UserPoolId", value=sign_in.pool.user_pool_id)
        CfnOutput(self, "SignInDomain", value=base)
