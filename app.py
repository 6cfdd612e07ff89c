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
def reaper(event: CloudWatchEvent) -> dict[str, int]:
    """Every minute: mark stale workers ERROR (and restart crashed ones if enabled)."""
    from chalicelib import observability
    from chalicelib.control import runtime
    from chalicelib.control.reaper import reap
    from chalicelib.domain.statuses import WorkerStatus

    observability.configure_logging("wafleet-reaper")
    observability.set_keys(request_id=getattr(event.context, "aws_request_id", None))
    report = reap(auto_restart=runtime.get().settings.auto_restart)
    # The stale-workers alarm reads ReapedWorkers (EMF, namespace wafleet, service reaper).
    observability.count(
        "reaper",
        ReapedWorkers=len(report.reaped),
        RestartedWorkers=len(report.restarted),
        ReaperCandidates=report.candidates,
        **{
            f"Workers{status.title()}": report.by_worker_status.get(status.value, 0)
            for status in WorkerStatus
        },
    )
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
    from chalicelib import observability
    from chalicelib.control.ecs_events import handle_task_stopped

    observability.configure_logging("wafleet-events")
    observability.set_keys(request_id=getattr(event.context, "aws_request_id", None))
    return {"result": handle_task_stopped(event.detail)}
