"""wafleet control plane: creates the Chalice app and registers its parts. Nothing else."""

from __future__ import annotations

from chalice.app import Chalice

from chalicelib.api.admin import admin_routes
from chalicelib.api.middleware import authenticate_request
from chalicelib.api.portal import portal_routes

app = Chalice(app_name="wafleet")
app.register_middleware(authenticate_request, "http")
app.register_blueprint(portal_routes)
app.register_blueprint(admin_routes)


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    """Liveness of the API itself (no authentication, no DynamoDB)."""
    return {"status": "ok"}
