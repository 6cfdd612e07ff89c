"""Sign-in: the Cognito user pool, its hosted UI, and the portal's client (code flow + PKCE)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from constructs import Construct


class SignIn(Construct):
    """Who can sign in (roles live in the users table, not here)."""

    def __init__(self, scope: Construct, construct_id: str, *, domain_prefix: str, portal_url: str):
        super().__init__(scope, construct_id)
        self.pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.domain = self.pool.add_domain(
            "Domain", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=domain_prefix)
        )
        self.client = self.pool.add_client(
            "Portal",
            o_auth=cognito.OAuthSettings(
                # The code flow with PKCE only: no tokens in URLs (the implicit flow is off).
                flows=cognito.OAuthFlows(authorization_code_grant=True, implicit_code_grant=False),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
                # The portal's public URL (-c wafleet:portalUrl=https://bots.example.com): the
                # CDN's own name cannot be used, the API (which needs this client) is behind it.
                callback_urls=[f"{portal_url}/index.html"],
            ),
            generate_secret=False,
            id_token_validity=Duration.hours(1),
            prevent_user_existence_errors=True,
        )

    def issuer(self, region: str) -> str:
        """The ID tokens' issuer (its JWKS is at ``/.well-known/jwks.json``)."""
        return f"https://cognito-idp.{region}.amazonaws.com/{self.pool.user_pool_id}"
