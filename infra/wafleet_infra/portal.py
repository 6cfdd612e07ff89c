"""The portal: static pages in S3 behind CloudFront, one origin with the API under /api/*."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "portal_static"


def csp(upload_origins: tuple[str, ...] = ()) -> str:
    """The portal's policy; its pages also send files to ``upload_origins`` (the media
    bucket: a presigned POST)."""
    connect = " ".join(("'self'", "https://*.amazoncognito.com", *upload_origins))
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


def portal_paths() -> list[str]:
    """Every path the bucket serves (the deployed files, config.json among them)."""
    return sorted("/" + p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*") if p.is_file())


# A portal path that is not a file is answered with 404.html (and the status 404) by the
# portal's own behavior only: a distribution-wide error page would also replace the API's
# 403/404 answers under /api/*. S3 itself says 403 for a missing key (the bucket is private).
MISSING_TO_404 = """function handler(event) {
  var request = event.request;
  if (request.uri !== "/" && !KNOWN[request.uri]) request.uri = "/404.html";
  return request;
}
var KNOWN = %s;"""
STATUS_404 = """function handler(event) {
  var response = event.response;
  if (event.request.uri === "/404.html") {
    response.statusCode = 404;
    response.statusDescription = "Not Found";
  }
  return response;
}"""


class Portal(Construct):
    """The bucket, the CDN with security headers, and the deployed files + config.json."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api_domain: str | None,
        config: dict[str, str],
        upload_origins: tuple[str, ...] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=csp(upload_origins), override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365),
                    include_subdomains=True,
                    override=True,
                ),
            ),
        )
        behaviors = {}
        if api_domain is not None:
            behaviors["/api/*"] = cloudfront.BehaviorOptions(
                origin=origins.HttpOrigin(api_domain),
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=(
                    cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                response_headers_policy=headers,
            )
        known = json.dumps(dict.fromkeys(portal_paths(), True))
        missing = cloudfront.Function(
            self,
            "MissingPage",
            code=cloudfront.FunctionCode.from_inline(MISSING_TO_404 % known),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
        )
        status = cloudfront.Function(
            self,
            "NotFoundStatus",
            code=cloudfront.FunctionCode.from_inline(STATUS_404),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Cdn",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                response_headers_policy=headers,
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=missing, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                    ),
                    cloudfront.FunctionAssociation(
                        function=status, event_type=cloudfront.FunctionEventType.VIEWER_RESPONSE
                    ),
                ],
            ),
            additional_behaviors=behaviors,
            default_root_object="index.html",
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
        )
        s3deploy.BucketDeployment(
            self,
            "Files",
            sources=[
                s3deploy.Source.asset(str(STATIC), exclude=["config.json"]),
                s3deploy.Source.json_data("config.json", config),
            ],
            destination_bucket=bucket,
            distribution=self.distribution,
        )
