"""wafleet control plane: creates the Chalice app and registers its parts. Nothing else."""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, CloudWatchEvent, Rate, SQSEvent

from chalicelib.api.admin import admin_routes
from chalicelib.api.middleware import authenticate_request
from chalicelib.api.notifications import notification_routes
from chalicelib.api.portal import portal_routes

app = Chalice(app_name="wafleet")
app.register_middleware(authenticate_request, "http")
app.register_blueprint(portal_routes)
app.register_blueprint(admin_routes)
app.register_blueprint(notification_routes)


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    """Liveness of the API itself (no authentication, no DynamoDB)."""
    return {"status": "ok"}


@app.schedule(Rate(1, unit=Rate.MINUTES), name="reaper")
def reaper(event: CloudWatchEvent) -> dict[str, int]:
    """Every minute: mark stale workers ERROR (and restart crashed ones if enabled)."""
    from chalicelib import observability
    from chalicelib.control import runtime
    from chalicelib.control.reaper import connected_share, reap
    from chalicelib.domain.statuses import SessionState, WorkerStatus

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
        # Fleet health: sessions by state, and those waiting for a wa-js that loads again.
        **{
            f"Sessions{state.title().replace('_', '')}": report.by_session_state.get(state.value, 0)
            for state in SessionState
        },
        SessionsWaitingForUpdate=report.waiting_for_update,
    )
    # The connected-share alarm watches this drop (a WhatsApp Web change logs many out).
    observability.percent("reaper", ConnectedShare=connected_share(report))
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


WEBHOOK_QUEUE = "wafleet-webhooks"  # infra/wafleet_infra/notify.py creates it by this name


@app.lambda_function(name="webhook_fanout")
def webhook_fanout(event: dict[str, Any], context: Any) -> dict[str, int]:
    """DynamoDB Streams (history, tenants, messages, setup requests; wired in infra): events
    -> one queued delivery per subscribed endpoint, and owner alerts."""
    from chalicelib import observability
    from chalicelib.notify.fanout import handle_records

    observability.configure_logging("wafleet-webhooks")
    observability.set_keys(request_id=getattr(context, "aws_request_id", None))
    report = handle_records(event.get("Records", []))
    observability.count("webhooks", WebhookEvents=report.events, WebhooksQueued=report.queued)
    return {"events": report.events, "queued": report.queued, "mails": report.mails}


@app.on_sqs_message(queue=WEBHOOK_QUEUE, batch_size=1, name="webhook_deliver")
def webhook_deliver(event: SQSEvent) -> None:
    """One delivery per invocation, so a receiver that never answers holds up no other."""
    import json

    from chalicelib import observability
    from chalicelib.notify.delivery import handle

    observability.configure_logging("wafleet-webhooks")
    for record in event:
        outcome = handle(json.loads(record.body))
        observability.count(
            "webhooks",
            WebhooksDelivered=int(outcome == "delivered"),
            WebhookFailures=int(outcome in ("retry", "dead", "disabled")),
            WebhooksDeadLettered=int(outcome == "dead"),
        )
