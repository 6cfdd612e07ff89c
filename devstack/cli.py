"""``wafleet``: the one command-line entry point (local stack, workers, admin scripting)."""

from __future__ import annotations

import datetime as dt
import json
import sys

import click

from chalicelib.domain.clock import SystemClock
from chalicelib.domain.errors import ConfigError, WafleetError
from chalicelib.settings import Settings, env_for

DEV_DIR = "var/dev"  # local stack state: issuer key, saved logins, moto endpoint


def running_stack(folder: str = DEV_DIR) -> dict[str, str] | None:
    """What a running ``make dev`` in ``folder`` wrote about itself (ports, folder), if any."""
    import os
    from pathlib import Path

    path = Path(folder) / "stack.json"
    try:
        stack: dict[str, str] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if "dynamodb" not in stack:
        return None  # still starting
    try:
        os.kill(int(stack.get("pid", 0)), 0)  # still running?
    except (OSError, ValueError):
        return None
    return stack


def _store(settings: Settings | None = None) -> Settings:
    import os

    from chalicelib.store import models

    stack = running_stack(os.environ.get("WAFLEET_DEV_FOLDER", DEV_DIR))
    if settings is None and stack and not os.environ.get("WAFLEET_DYNAMODB_ENDPOINT"):
        # No AWS configured here: talk to the running make dev, as it printed.
        from devstack.local_aws import fake_credentials

        os.environ.update(fake_credentials())
        settings = Settings(dynamodb_endpoint=stack["dynamodb"])
    try:
        settings = settings or Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(
            f"{exc}: no make dev is running here (start one), nor is AWS configured"
        ) from exc
    models.bind(settings)
    return settings


@click.group()
def main() -> None:
    """wafleet: multi-tenant WhatsApp auto-reply bots on AWS serverless."""


@main.command("status-table")
def status_table() -> None:
    """Print the transition table as Markdown (the README embeds this output)."""
    from chalicelib.domain.transitions import table_rows

    click.echo("| event | caused by | from worker | worker | session | tenant | effects |")
    click.echo("|---|---|---|---|---|---|---|")
    for row in table_rows():
        click.echo("| " + " | ".join(row) + " |")


@main.group()
def tables() -> None:
    """DynamoDB tables (local stack; AWS creates them from infra/)."""


@tables.command("create")
def tables_create() -> None:
    """Create every table that is missing."""
    from chalicelib.store import models

    _store()
    models.create_tables()
    click.echo("tables ready")


@main.group()
def tenant() -> None:
    """Tenants."""


@tenant.command("create")
@click.option("--name", required=True, help="Business name shown in the portal.")
@click.option("--phone", default=None, help="WhatsApp number, E.164 (+4915112345678).")
@click.option("--id", "tenant_id", default=None, help="Tenant id (random if omitted).")
def tenant_create(name: str, phone: str | None, tenant_id: str | None) -> None:
    """Create a tenant in status NEW and print it as JSON."""
    from chalicelib.domain import validation
    from chalicelib.store import tenants

    _store()
    try:
        clean_name = validation.text(name, "name", max_len=64, required=True)
        number = validation.whatsapp_number(phone, "phone") if phone else None
        item = tenants.create_tenant(
            clean_name or name, now_ms=SystemClock().now_ms(), phone=number, tenant_id=tenant_id
        )
    except WafleetError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps({"tenantId": item.tenant_id, "name": item.name, "phone": item.phone}))


@main.group()
def replies() -> None:
    """A tenant's replies: what the bot answers (the portal's Replies page, for scripts)."""


@replies.command("show")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--version", type=int, default=None, help="A kept version instead of the current.")
def replies_show(tenant_id: str, version: int | None) -> None:
    """Print the replies as JSON: version, rules (null until saved), starting point, versions."""
    from chalicelib.services import portal
    from chalicelib.store import replies as store

    _store()
    try:
        doc = portal.replies_doc(tenant_id)
        if version is not None:
            doc = {**doc, "version": version, "rules": store.saved(tenant_id, version)[1]}
    except WafleetError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(doc, indent=2, ensure_ascii=False))


@replies.command("set")
@click.option("--tenant", "tenant_id", required=True)
@click.option(
    "--file",
    "source",
    type=click.File("r"),
    required=True,
    help="The rules as JSON, or the output of `show`, edited; - reads stdin.",
)
@click.option("--base", type=int, default=None, help="Refuse if a version after this was saved.")
def replies_set(tenant_id: str, source: click.utils.LazyFile, base: int | None) -> None:
    """Validate and save the rules as the next version; print the version saved. A mistake is
    refused with the field it is in, and nothing is saved."""
    from chalicelib.services import portal
    from chalicelib.store import replies as store

    _store()
    try:
        doc = json.loads(source.read())
    except ValueError as exc:
        raise click.ClickException(f"not JSON: {exc}") from exc
    if isinstance(doc, dict) and isinstance(doc.get("rules"), dict):
        doc = doc["rules"]  # the output of `show`, edited
    try:
        current = store.versions(tenant_id)[0] if base is None else base
        version = portal.save_replies(tenant_id, "cli", doc, base=current)
    except WafleetError as exc:  # a ValidationError names its field
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps({"tenantId": tenant_id, "version": version}))


@main.group()
def canary() -> None:
    """Canary tenants: one writes to another every few minutes (WAFLEET_CANARY_S)."""


@canary.command("enable")
@click.argument("tenant_id")
@click.option("--peer", required=True, help="The tenant it writes to (its id or number).")
def canary_enable(tenant_id: str, peer: str) -> None:
    """Make TENANT_ID a canary probing PEER (both linked tenants of this platform)."""
    from chalicelib.store import portal_events, tenants

    _store()
    try:
        peer_id = peer if not peer.startswith("+") else _tenant_of_number(peer)
        now = SystemClock().now_ms()
        number, peer_number = tenants.pair_canary(tenant_id, peer_id, now_ms=now)
        portal_events.record(
            tenant_id, "cli", "tenant.canary_enabled", now_ms=now, peer=peer_number
        )
    except WafleetError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps({"canary": tenant_id, "number": number, "peer": peer_number}))


@canary.command("disable")
@click.argument("tenant_id")
def canary_disable(tenant_id: str) -> None:
    """Stop the canary of TENANT_ID."""
    from chalicelib.store import portal_events, tenants

    _store()
    try:
        now = SystemClock().now_ms()
        tenants.unpair_canary(tenant_id, now_ms=now)
        portal_events.record(tenant_id, "cli", "tenant.canary_disabled", now_ms=now)
    except WafleetError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps({"canary": tenant_id, "enabled": False}))


@main.group("wa-version")
def wa_version_group() -> None:
    """Pinned WhatsApp Web versions (@wppconnect/wa-version's pages)."""


@wa_version_group.command("list")
@click.option("--all", "everything", is_flag=True, help="Expired versions too.")
def wa_version_list(everything: bool) -> None:
    """The versions the installed catalog holds, newest last, with when each expires."""
    from worker_container.wa_pages import DEFAULT_CATALOG, Catalog

    now = SystemClock().now_ms()
    known = sorted(Catalog(DEFAULT_CATALOG).known().values(), key=lambda k: k.released_ms)
    if not known:
        raise click.ClickException(f"no catalog at {DEFAULT_CATALOG}: run 'make wajs' (npm ci)")
    shown = [k for k in known if everything or k.expire_ms > now]
    for k in shown:
        expires = dt.datetime.fromtimestamp(k.expire_ms / 1000, dt.UTC).date()
        state = "expired" if k.expire_ms <= now else "expires"
        click.echo(f"{k.version}  {state} {expires}")
    if not shown:
        newest = dt.datetime.fromtimestamp(known[-1].expire_ms / 1000, dt.UTC).date()
        click.echo(
            f"all {len(known)} versions have expired (the newest on {newest}): update"
            " @wppconnect/wa-version (npm install @wppconnect/wa-version@latest)",
            err=True,
        )


@wa_version_group.command("pin")
@click.argument("tenant_id")
@click.argument("version")
def wa_version_pin(tenant_id: str, version: str) -> None:
    """Serve TENANT_ID's browser this WhatsApp Web VERSION from its next launch."""
    from chalicelib.domain import wa_version
    from chalicelib.store import portal_events, tenants
    from worker_container.wa_pages import DEFAULT_CATALOG, Catalog

    try:
        wa_version.check(version)
        _store()
        now = SystemClock().now_ms()
        tenants.pin_wa_version(tenant_id, version, now_ms=now)
        portal_events.record(
            tenant_id, "cli", "tenant.wa_version_pinned", now_ms=now, version=version
        )
    except WafleetError as exc:
        raise click.ClickException(str(exc)) from exc
    chosen = Catalog(DEFAULT_CATALOG).choose(version, SystemClock().now_ms())
    if chosen.refused:
        click.echo(f"warning: {chosen.refused}; its browser opens the live site", err=True)
    click.echo(json.dumps({"tenant": tenant_id, "whatsappWeb": version}))


@wa_version_group.command("unpin")
@click.argument("tenant_id")
def wa_version_unpin(tenant_id: str) -> None:
    """TENANT_ID follows the fleet's version (or the live site) from its next launch."""
    from chalicelib.store import portal_events, tenants

    _store()
    try:
        now = SystemClock().now_ms()
        tenants.pin_wa_version(tenant_id, None, now_ms=now)
        portal_events.record(tenant_id, "cli", "tenant.wa_version_unpinned", now_ms=now)
    except WafleetError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps({"tenant": tenant_id, "whatsappWeb": None}))


def _tenant_of_number(number: str) -> str:
    from chalicelib.store.models import TenantModel

    for item in TenantModel.scan(TenantModel.phone == number):
        return str(item.tenant_id)
    raise click.ClickException(f"no tenant has the number {number}")


@main.group()
def user() -> None:
    """Portal users and their membership."""


@user.command("add")
@click.option("--email", required=True)
@click.option("--tenant", "tenant_id", default=None, help="Tenant the user belongs to.")
@click.option("--admin", is_flag=True, help="An operator: approves requests, runs workers.")
def user_add(email: str, tenant_id: str | None, admin: bool) -> None:
    """Add a user; a tenant user belongs to exactly one tenant."""
    from chalicelib.domain import validation
    from chalicelib.store import tenants, users

    _store()
    try:
        address = validation.email(email)
        if not admin:
            if not tenant_id:
                raise click.UsageError("a tenant user needs --tenant (or pass --admin)")
            tenants.get_tenant(tenant_id)
        item = users.add_user(
            address,
            role="admin" if admin else "tenant",
            tenant_id=tenant_id,
            now_ms=SystemClock().now_ms(),
        )
    except WafleetError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        json.dumps(
            {
                "userId": item.user_id,
                "email": item.email,
                "role": item.role,
                "tenantId": item.tenant_id,
            }
        )
    )


def _user_json(item: object) -> str:
    return json.dumps(
        {
            "userId": getattr(item, "user_id", None),
            "email": getattr(item, "email", None),
            "role": getattr(item, "role", None),
            "tenantId": getattr(item, "tenant_id", None),
        }
    )


def _find_user(email: str) -> object:
    from chalicelib.store import users

    found = users.find_by_email(email.strip().lower())
    if found is None:
        raise click.ClickException(f"no user {email}")
    return found


def _audit(event_type: str, item: object, **payload: object) -> None:
    from chalicelib.services.admin import ADMIN_EVENTS
    from chalicelib.store import portal_events

    portal_events.record(
        getattr(item, "tenant_id", None) or ADMIN_EVENTS,
        "cli",
        event_type,
        now_ms=SystemClock().now_ms(),
        target=getattr(item, "user_id", None),
        **payload,
    )


@user.command("list")
def user_list() -> None:
    """Every user, one JSON object a line."""
    from chalicelib.store import users

    _store()
    cursor: str | None = None
    while True:
        items, cursor = users.list_users(limit=200, cursor_token=cursor)
        for item in sorted(items, key=lambda u: u.email):
            click.echo(_user_json(item))
        if cursor is None:
            return


@user.command("set-role")
@click.option("--email", required=True)
@click.option("--tenant", "tenant_id", default=None, help="Make them a member of this tenant.")
@click.option("--admin", is_flag=True, help="Make them an operator.")
def user_set_role(email: str, tenant_id: str | None, admin: bool) -> None:
    """Promote to admin, or demote to a tenant's member (recorded in the portal event log)."""
    from chalicelib.store import tenants, users

    _store()
    if admin == bool(tenant_id):
        raise click.UsageError("pass exactly one of --admin or --tenant ID")
    try:
        if tenant_id:
            tenants.get_tenant(tenant_id)
        found = _find_user(email)
        before = getattr(found, "role", None)
        item = users.set_role(
            str(getattr(found, "user_id", "")),
            role="admin" if admin else "tenant",
            tenant_id=tenant_id,
        )
    except WafleetError as exc:
        raise click.ClickException(str(exc)) from exc
    _audit("user.role", item, role=item.role, was=before)
    click.echo(_user_json(item))


@user.command("remove")
@click.option("--email", required=True)
def user_remove(email: str) -> None:
    """Remove a user: their tokens stop working within 30 s."""
    from chalicelib.store import users

    _store()
    try:
        item = users.remove_user(str(getattr(_find_user(email), "user_id", "")))
    except WafleetError as exc:
        raise click.ClickException(str(exc)) from exc
    _audit("user.removed", item, email=item.email)
    click.echo(_user_json(item))


@main.command()
@click.option("--once", is_flag=True, help="One run, then exit (otherwise loop).")
@click.option("--auto-restart", is_flag=True, help="Restart crashed workers (crash-loop backoff).")
def reaper(once: bool, auto_restart: bool) -> None:
    """Mark workers with a stale heartbeat ERROR (AWS runs this every minute)."""
    import threading

    from chalicelib.control import runtime
    from chalicelib.control.reaper import reap

    settings = _store()
    runtime.configure(settings)
    stop = threading.Event()
    while True:
        report = reap(auto_restart=auto_restart)
        click.echo(
            json.dumps(
                {"scanned": report.scanned, "reaped": report.reaped, "restarted": report.restarted}
            )
        )
        if once or stop.wait(settings.reaper_s):
            return


@main.command()
@click.option("--email", required=True, help="A user added with 'wafleet user add'.")
@click.option(
    "--hours", default=12, show_default=True, type=click.IntRange(1, 12), help="Lifetime."
)
@click.option("--folder", default=DEV_DIR, show_default=True, help="The running make dev's.")
def token(email: str, hours: int, folder: str) -> None:
    """Print a token from the local issuer of the running make dev (AWS tokens come from
    Cognito); refuses when no make dev runs there, rather than mint one it would not accept."""
    import os
    from pathlib import Path

    from chalicelib.store import users
    from devstack.issuer import LocalIssuer

    stack = running_stack(folder)
    if stack is None:
        raise click.ClickException(
            f"no running 'make dev' in {folder} (start it, or pass --folder)"
        )
    os.environ["WAFLEET_DEV_FOLDER"] = folder
    _store()
    folder = stack["folder"]
    user = users.find_by_email(email.strip().lower())
    if user is None:
        raise click.ClickException(f"no user {email}; add one with 'wafleet user add'")
    issuer = LocalIssuer.load_or_create(Path(folder) / "issuer")
    click.echo(issuer.token(user.user_id, email=user.email, ttl_s=hours * 3600))


@main.command()
def mail() -> None:
    """The e-mails make dev's SES (moto) has sent, newest last."""
    import os

    import requests

    from devstack.moto_server import MAILBOX_PATH

    stack = running_stack(os.environ.get("WAFLEET_DEV_FOLDER", DEV_DIR))
    if stack is None:
        raise click.ClickException("no running 'make dev' (start it, or set WAFLEET_DEV_FOLDER)")
    response = requests.get(stack["dynamodb"] + MAILBOX_PATH, timeout=10)
    response.raise_for_status()
    for m in response.json():
        click.echo(f"To: {', '.join(m['to'])}\nSubject: {m['subject']}\n\n{m['body']}\n---")


@main.command()
@click.option("--port", default=8000, show_default=True, help="Portal and API (one origin).")
@click.option("--simulator-port", default=7000, show_default=True)
@click.option("--moto-port", default=5005, show_default=True, help="0 picks a free port.")
@click.option("--folder", default=DEV_DIR, show_default=True, help="Keys and saved logins.")
@click.option("--qr-first-s", default=60.0, show_default=True, help="First code's lifetime.")
@click.option("--qr-next-s", default=20.0, show_default=True, help="Each next code's lifetime.")
@click.option("--qr-count", default=6, show_default=True, help="Codes in one rotation.")
@click.option(
    "--reset", is_flag=True, help="Start clean: forget tables, linked devices and saved logins."
)
@click.option("--receiver-port", default=7100, show_default=True, help="Demo webhook receiver.")
def dev(
    port: int,
    simulator_port: int,
    moto_port: int,
    folder: str,
    qr_first_s: float,
    qr_next_s: float,
    qr_count: int,
    reset: bool,
    receiver_port: int,
) -> None:
    """Run the whole platform on 127.0.0.1: moto, API + portal, simulator, workers, reaper.

    Its data (tables, the simulated phones, saved logins) stays in the folder across restarts.
    """
    from devstack.dev import run
    from devstack.leftovers import AlreadyRunningError
    from devstack.simulator.state import QrTiming

    timing = QrTiming(int(qr_first_s * 1000), int(qr_next_s * 1000), qr_count)
    try:
        run(
            port=port,
            simulator_port=simulator_port,
            folder=folder,
            moto_port=moto_port,
            qr=timing,
            reset=reset,
            receiver_port=receiver_port,
        )
    except AlreadyRunningError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.option(
    "--tenants", "max_tenants", default=10, show_default=True, type=click.IntRange(1, 100)
)
def host(max_tenants: int) -> None:
    """Run a worker host (up to --tenants tenants) in this process.

    Under the placer the host id arrives in the environment; run by hand, this command
    registers a new host first. Tenants started while it has room are placed on it; Ctrl-C
    drains it (each login saved, each tenant moved or left for the next start).
    """
    import dataclasses
    import os

    from chalicelib.launch.ecs import HOST_ENV
    from chalicelib.store import hosts
    from worker_container import host as worker_host

    settings = dataclasses.replace(_store(), host_tenants=max_tenants)
    for var, value in settings.as_env().items():  # e.g. the running make dev's moto
        os.environ.setdefault(var, value)
    os.environ.update(env_for(Settings, host_tenants=max_tenants))
    if not os.environ.get(HOST_ENV):
        item = hosts.new_host(capacity=max_tenants, now_ms=SystemClock().now_ms())
        hosts.set_task_ref(item.host_id, f"local:{os.getpid()}")
        os.environ[HOST_ENV] = item.host_id
        click.echo(f"host {item.host_id} registered", err=True)
    sys.exit(worker_host.run())


@main.command("settings")
def settings_command() -> None:
    """Every setting, as the README's Configuration table (declared once in the code)."""
    from chalicelib.settings import settings_table
    from worker_container.config import HostConfig, WorkerConfig

    click.echo(settings_table(Settings, HostConfig, WorkerConfig))


@main.command()
@click.option("--port", default=7000, show_default=True)
@click.option("--qr-first-s", default=60.0, show_default=True)
@click.option("--qr-next-s", default=20.0, show_default=True)
@click.option("--qr-count", default=6, show_default=True)
def simulator(port: int, qr_first_s: float, qr_next_s: float, qr_count: int) -> None:
    """Serve the WhatsApp Web simulator on 127.0.0.1 (its control API is in the README)."""
    from devstack.simulator.server import make_server
    from devstack.simulator.state import QrTiming, Simulator

    timing = QrTiming(int(qr_first_s * 1000), int(qr_next_s * 1000), qr_count)
    server = make_server(Simulator(SystemClock().now_ms, timing), "127.0.0.1", port)
    click.echo(f"simulator on http://127.0.0.1:{server.server_address[1]}")
    server.serve_forever()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
