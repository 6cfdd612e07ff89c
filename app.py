"""wafleet control plane: creates the Chalice app and registers its parts. Nothing else."""

from __future__ import annotations

from chalice.app import Chalice, CloudWatchEvent, Rate

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


@app.schedule(Rate(1, unit=Rate.MINUTES), name="reaper")
def reaper(event: object) -> dict[str, int]:
    """Every minute: mark stale workers ERROR (and restart crashed ones if enabled)."""
    from chalicelib.control import runtime
    from chalicelib.control.reaper import reap

    report = reap(auto_restart=runtime.get().settings.auto_restart)
    print(report.metric_line())  # CloudWatch Embedded Metric Format: drives the alarm
    return {
        "scanned": report.scanned,
        "reaped": len(report.reaped),
        "restarted": len(report.restarted),
    }


@app.on_cw_event(
    {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        "detail": {"lastStatus": ["STOPPED"]},
    },
    name="task_stopped",
)
def task_stopped(event: CloudWatchEvent) -> dict[str, str]:
    """A worker's Fargate task stopped: record it at once (idempotent per epoch)."""
    from chalicelib.control.ecs_events import handle_task_stopped

    return {"result": handle_task_stopped(event.detail)}
