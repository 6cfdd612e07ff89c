"""The worker's reactions and replies with a fake engine and the in-memory store: no browser,
no DynamoDB, an injected clock. What a tenant would notice: who gets an answer, once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from chalicelib.domain import conversation, templates
from chalicelib.domain.clock import ManualClock
from chalicelib.domain.statuses import SessionState, TenantStatus, WorkerStatus
from chalicelib.domain.transitions import Statuses
from chalicelib.domain.values import Lease
from chalicelib.domain.words import OUR_SIDE, WHATSAPP_CHANGED
from chalicelib.settings import Settings
from tests.fakes import MemoryStore
from tests.unit.test_reactions import READY
from worker_container.config import WorkerConfig
from worker_container.engine import (
    NOT_LOADED,
    Acked,
    CodeShown,
    File,
    Inbound,
    MessageArrived,
    PageEvent,
    PageLost,
    PageState,
    Sent,
    StateChanged,
)
from worker_container.ports import TenantConfig
from worker_container.reactions import reply_id
from worker_container.session import ExitCode, Session
from worker_container.wajs import parse_event

LEASE = Lease("t_1", "owner-1", 1)


@dataclass
class FakeEngine:
    """Records what the worker asks of the page."""

    ack_on_send: int = 1
    refuse_sends: int = 0
    sends: list[tuple[str, str, str]] = field(default_factory=list)
    files: dict[str, File] = field(default_factory=dict)  # message id -> the file it carried
    on_page: dict[str, int] = field(default_factory=dict)  # message id -> ack
    history: list[Inbound] = field(default_factory=list)
    took_over: int = 0
    typing: list[int] = field(default_factory=list)
    held: dict[str, asyncio.Event] = field(default_factory=dict)  # chat -> sends wait for it
    recent_failures: int = 0
    reloads: int = 0
    pages: list[Callable[[PageEvent], None]] = field(default_factory=list)  # each page's voice
    number: str | None = "+4915100000001"  # the phone that linked
    pairing_for: list[str] = field(default_factory=list)
    back_to_qr_calls: int = 0
    silent: asyncio.Event | None = None  # set: the page is hung until it is cleared
    relaunched: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(
        self, profile: Path, on_event: Callable[[PageEvent], None], pinned: Path | None = None
    ) -> None:
        self.pages.append(on_event)
        if len(self.pages) > 1:
            self.relaunched.set()

    async def reload(self) -> None:
        self.reloads += 1

    async def close(self) -> None: ...
    async def stop(self) -> None: ...
    async def probe(self) -> PageState:
        if self.silent is not None:
            await self.silent.wait()  # a hung renderer never answers
        return READY

    async def refresh_code(self) -> None: ...
    async def request_pairing_code(self, phone: str) -> None:
        self.pairing_for.append(phone)

    async def my_number(self) -> str | None:
        return self.number

    async def back_to_qr(self) -> None:
        self.back_to_qr_calls += 1

    async def take_over(self) -> None:
        self.took_over += 1

    async def send(
        self, chat: str, text: str, message_id: str, typing_ms: int = 0, file: File | None = None
    ) -> Sent:
        self.typing.append(typing_ms)
        if chat in self.held:
            await self.held[chat].wait()  # e.g. a long "typing…" in this chat
        if self.refuse_sends:
            self.refuse_sends -= 1
            raise RuntimeError("session open elsewhere")
        self.sends.append((chat, text, message_id))
        if file is not None:
            self.files[message_id] = file
        self.on_page[message_id] = self.ack_on_send
        return Sent(message_id, self.ack_on_send)

    async def ack_of(self, chat: str, message_id: str) -> int | None:
        return self.on_page.get(message_id)

    async def recent(self, since_ms: int, per_chat: int) -> list[Inbound]:
        if self.recent_failures:
            self.recent_failures -= 1
            raise TimeoutError("the page took too long")
        return [m for m in self.history if m.at_ms >= since_ms]

    async def phone_of(self, chat: str) -> str | None:
        return chat.split("@")[0] if chat.endswith("@c.us") else "15550003"


@dataclass
class Saved:
    data: bytes | None = None

    def load(self) -> bytes | None:
        return self.data

    def save(self, state: bytes, *, saved_at: int, epoch: int) -> bool:
        self.data = state
        return True

    def delete(self) -> None:
        self.data = None


@dataclass
class World:
    bot: Session
    engine: FakeEngine
    store: MemoryStore
    saved: Saved
    clock: ManualClock

    def handle(self, *events: PageEvent) -> None:
        async def run() -> None:
            for event in events:
                await self.bot._handle(event)
                await asyncio.gather(*self.bot.answering)
            if self.bot.catch_up_task is not None:
                await self.bot.catch_up_task

        asyncio.run(run())

    def sent_texts(self) -> list[str]:
        return [text for _chat, text, _id in self.engine.sends]


def world(tmp_path: Path, **engine: object) -> World:
    clock = ManualClock()
    store = MemoryStore(
        LEASE,
        TenantConfig(owner_id="owner-1", lease_epoch=1, name="Roma", phone="+4915100000001"),
        Statuses(TenantStatus.NEW, SessionState.DISCONNECTED, WorkerStatus.STARTING),
    )
    fake = FakeEngine(**engine)  # type: ignore[arg-type]
    saved = Saved()
    config = WorkerConfig(session_dir=tmp_path, rate_per_min=0, reconnect_base_s=0.01)
    bot = Session(LEASE, config, Settings(), saved, fake, store, clock=clock)
    bot._load_config(store.tenant())  # as run() does first
    return World(bot, fake, store, saved, clock)


def linked(w: World) -> None:
    w.handle(CodeShown("qr", "2@code", w.clock.now_ms()), StateChanged(READY))
    assert w.store.statuses.session is SessionState.CONNECTED


def message(mid: str, text: str = "hours", **changes: object) -> MessageArrived:
    base = Inbound(mid, "15550001@c.us", text, 0)
    return MessageArrived(replace(base, **changes))  # type: ignore[arg-type]


def test_a_code_is_published_with_the_sites_time_and_its_place_in_the_rotation(
    tmp_path: Path,
) -> None:
    w = world(tmp_path)
    made = w.clock.now_ms() - 700  # the page had it before the worker saw it
    w.handle(CodeShown("qr", "2@first", made), CodeShown("qr", "2@second", made + 60_000))
    assert w.store.qr is not None
    assert (w.store.qr.payload, w.store.qr.attempt) == ("2@second", 2)
    assert w.store.qr.expires_at_ms == made + 60_000 + 20_000  # counted from the site's time


def test_switching_link_mode_shows_only_the_chosen_kind_of_code(tmp_path: Path) -> None:
    w = world(tmp_path)
    now = w.clock.now_ms()
    w.handle(CodeShown("qr", "2@first", now))
    asyncio.run(w.bot._follow_link_request("+4915100000001"))  # "Get a code"
    assert w.engine.pairing_for == ["+4915100000001"]
    w.handle(CodeShown("qr", "2@late", now + 1), CodeShown("pairing", "ABCD1234", now + 2))
    assert w.store.qr is not None
    assert (w.store.qr.payload, w.store.qr.attempt, w.store.qr.attempts_max) == ("ABCD1234", 1, 6)
    # wa-js keeps a pairing code 3.25 min (LINK_CODE_TTL_MS), every one of them.
    assert w.store.qr.expires_at_ms == now + 2 + 195_000
    asyncio.run(w.bot._follow_link_request(None))  # "Scan a QR code instead"
    assert w.engine.back_to_qr_calls == 1
    w.handle(CodeShown("pairing", "EFGH5678", now + 3), CodeShown("qr", "2@fresh", now + 4))
    assert (w.store.qr.payload, w.store.qr.attempt) == ("2@fresh", 1)  # a fresh rotation


def test_a_phone_of_another_number_links_but_the_bot_does_not_answer_for_it(
    tmp_path: Path,
) -> None:
    w = world(tmp_path, number="+4915199999999")
    linked(w)
    assert w.store.view.other_number == "+4915199999999"
    w.handle(message("3A01"))
    assert w.engine.sends == [] and w.store.state_of("in#3A01") == "IGNORED"
    # An operator confirms that number as the business's: answers from the next message on.
    w.store.view = replace(w.store.view, phone="+4915199999999", other_number=None)
    w.handle(message("3A02"))
    assert len(w.engine.sends) == 1


def test_new_messages_are_answered_once_history_and_ciphertext_never(tmp_path: Path) -> None:
    w = world(tmp_path)
    linked(w)
    w.handle(
        message("3A00", "old", is_new=False),  # history sync
        message("3A01", "", kind="ciphertext"),  # not decrypted yet
        message("3A01", "hours"),
        message("3A01", "hours"),  # re-delivered
        message("3A02", "mine", from_me=True),
    )
    assert w.sent_texts() == [templates.reply(None, "Roma", "hours")]  # the decrypted text
    assert w.engine.sends[0][2] == reply_id("3A01")  # our own id, chosen before sending
    assert w.store.state_of("in#3A00") is None


def test_a_reply_is_sent_only_once_whatsapp_acknowledges_it(tmp_path: Path) -> None:
    w = world(tmp_path, ack_on_send=0)
    linked(w)
    w.handle(message("3A01"))
    assert w.store.state_of("out#re-3A01") == "SENDING"
    w.handle(Acked((reply_id("3A01"),), 1))
    assert w.store.state_of("out#re-3A01") == "SENT"


def test_a_refused_send_goes_again_with_the_same_id_once_connected(tmp_path: Path) -> None:
    w = world(tmp_path, refuse_sends=1)
    linked(w)
    w.handle(message("3A01"))
    assert w.engine.sends == [] and w.store.last_error is not None
    w.handle(StateChanged(READY))  # the next report (or probe) of a connected page
    assert [mid for _c, _t, mid in w.engine.sends] == [reply_id("3A01")]
    assert w.store.state_of("out#re-3A01") == "SENT"


def test_a_lid_chat_is_logged_with_the_phone_number(tmp_path: Path) -> None:
    w = world(tmp_path)
    linked(w)
    w.handle(message("3A01", chat="48874933359381995@lid"))
    logged = w.store.messages["in#3A01"].logged
    assert (logged.from_number, logged.chat) == ("+15550003", "48874933359381995@lid")
    assert w.engine.sends[0][0] == "48874933359381995@lid"  # answered by chat id


def test_after_a_restart_a_reply_on_whatsapp_is_confirmed_not_resent(tmp_path: Path) -> None:
    w = world(tmp_path, ack_on_send=0)
    linked(w)
    w.handle(message("3A01"), message("3A02", chat="15550002@c.us"))
    # A new worker on the same store: one reply reached WhatsApp, the other never left.
    w2 = world(tmp_path)
    w2.store = w.store
    w2.bot.store = w2.bot.replies.store = w.store
    w.store.statuses = Statuses(
        TenantStatus.ACTIVE, SessionState.DISCONNECTED, WorkerStatus.RUNNING
    )
    w2.engine.on_page = {reply_id("3A01"): 1}
    w2.handle(StateChanged(READY))
    assert w.store.state_of("out#re-3A01") == "SENT"
    assert [mid for _c, _t, mid in w2.engine.sends] == [reply_id("3A02")]  # same id again


def test_catch_up_answers_what_came_after_the_link_not_the_history(tmp_path: Path) -> None:
    w = world(tmp_path)
    linked(w)
    linked_at = w.store.view.linked_at
    assert linked_at is not None
    w.engine.history = [
        Inbound("3A00", "15550007@c.us", "before the link", linked_at - 60_000),
        Inbound("3A05", "15550008@c.us", "missed", linked_at + 5_000),
    ]
    # The page was away (a reload, a relaunch) and comes back ready.
    w.store.statuses = Statuses(TenantStatus.ERROR, SessionState.DISCONNECTED, WorkerStatus.RUNNING)
    w.bot.session_state = SessionState.DISCONNECTED
    w.handle(StateChanged(READY))
    assert [chat for chat, _t, _id in w.engine.sends] == ["15550008@c.us"]


def test_logout_is_an_auth_failure_and_forgets_the_login(tmp_path: Path) -> None:
    w = world(tmp_path)
    linked(w)
    assert w.saved.data is not None  # saved before CONNECTED was reported
    w.handle(StateChanged(PageState(loaded=True, logout_reason="user_initiated")))
    assert w.store.statuses.worker is WorkerStatus.ERROR
    assert "Linked devices" in (w.store.last_error or "")
    assert w.saved.data is None and w.bot.exit_code is ExitCode.FATAL


def test_conflict_is_taken_over_and_the_login_kept(tmp_path: Path) -> None:
    w = world(tmp_path)
    linked(w)
    w.handle(StateChanged(replace(READY, stream="CONFLICT")))
    assert w.engine.took_over == 1 and w.saved.data is not None


def test_a_paused_tenant_logs_but_does_not_answer(tmp_path: Path) -> None:
    w = world(tmp_path)
    linked(w)
    w.store.view = replace(w.store.view, tenant_status=TenantStatus.PAUSED.value)
    w.handle(message("3A01"))
    assert w.engine.sends == [] and w.store.state_of("in#3A01") == "IGNORED"


def test_a_replaced_worker_stops(tmp_path: Path) -> None:
    w = world(tmp_path)
    linked(w)
    w.store.replace_lease()

    async def run() -> None:
        task = asyncio.create_task(w.bot._handle_events())
        w.bot.events.put_nowait((w.bot.page_number, CodeShown("qr", "2@x", 0)))
        await asyncio.wait_for(w.bot.done.wait(), timeout=5)
        task.cancel()

    asyncio.run(run())
    assert w.bot.exit_code is ExitCode.REPLACED


def test_an_offline_page_is_reported_disconnected_with_a_cause(tmp_path: Path) -> None:
    w = world(tmp_path)
    linked(w)

    async def run() -> None:
        await w.bot._handle(StateChanged(replace(READY, stream="OFFLINE")))
        assert w.bot.reconnect_task is not None
        w.bot.reconnect_task.cancel()

    asyncio.run(run())
    assert w.store.statuses.session is SessionState.DISCONNECTED
    assert w.store.last_error


def test_a_page_stuck_resuming_is_disconnected_only_after_settle_s(tmp_path: Path) -> None:
    w = world(tmp_path)
    linked(w)
    resuming = StateChanged(replace(READY, stream_info="RESUMING"))
    w.handle(resuming)  # the socket comes back: RESUMING for a moment is normal
    w.clock.advance(int(w.bot.cfg.settle_s * 1000) - 1)
    w.handle(resuming)
    assert w.store.statuses.session is SessionState.CONNECTED

    async def run() -> None:
        w.clock.advance(2)
        await w.bot._handle(resuming)  # still resuming: stuck
        assert w.bot.reconnect_task is not None
        w.bot.reconnect_task.cancel()

    asyncio.run(run())
    assert w.store.statuses.session is SessionState.DISCONNECTED
    assert "stuck" in (w.store.last_error or "")


def test_a_page_showing_a_code_is_never_reloaded(tmp_path: Path) -> None:
    """wa-js fires conn.main_ready on the first QR screen too; the QR page is waiting for the
    owner, not disconnected (a reload would replace the code being scanned)."""
    w = world(tmp_path)
    qr_screen = parse_event(
        {
            "kind": "state",
            "data": {
                "authenticated": False,
                "mainReady": True,  # latched by the QR stream mode (registerMainReadyEvent.ts)
                "stream": {"mode": "QR", "info": "NORMAL"},
                "online": True,
            },
        }
    )
    assert qr_screen is not None
    w.handle(CodeShown("qr", "2@code", w.clock.now_ms()), qr_screen)
    assert w.bot.reconnect_task is None and w.engine.reloads == 0
    assert w.store.statuses.session is SessionState.QR_READY


def test_a_failed_catch_up_is_tried_again(tmp_path: Path) -> None:
    w = world(tmp_path, recent_failures=2)
    linked(w)
    linked_at = w.store.view.linked_at
    assert linked_at is not None
    w.engine.history = [Inbound("3A05", "15550008@c.us", "missed", linked_at + 5_000)]
    w.store.statuses = Statuses(TenantStatus.ERROR, SessionState.DISCONNECTED, WorkerStatus.RUNNING)
    w.bot.session_state = SessionState.DISCONNECTED
    w.handle(StateChanged(READY))
    assert w.engine.recent_failures == 0
    assert [chat for chat, _t, _id in w.engine.sends] == ["15550008@c.us"]


def test_a_reply_shows_typing_for_a_time_scaled_by_its_length(tmp_path: Path) -> None:
    w = world(tmp_path)
    linked(w)
    w.handle(message("3A01"))
    text = w.sent_texts()[0]
    assert w.engine.typing == [w.bot.cfg.typing_ms(text)]
    assert 0 < w.bot.cfg.typing_ms(text) <= w.bot.cfg.typing_max_ms


def test_catch_up_without_a_known_link_time_starts_from_the_newest_logged_message(
    tmp_path: Path,
) -> None:
    w = world(tmp_path)
    linked(w)
    w.handle(message("3A01"))  # logged now
    w.store.view = replace(w.store.view, linked_at=None)  # a login from before link times
    w.bot.replies.tenant = w.store.view  # as a restarted worker reads it at start
    now = w.clock.now_ms()
    w.engine.history = [
        Inbound("3A00", "15550007@c.us", "long ago", now - 3_600_000),
        Inbound("3A05", "15550008@c.us", "while away", now - 60_000),
    ]
    w.store.statuses = Statuses(TenantStatus.ERROR, SessionState.DISCONNECTED, WorkerStatus.RUNNING)
    w.bot.session_state = SessionState.DISCONNECTED
    w.handle(StateChanged(READY))
    assert [chat for chat, _t, _id in w.engine.sends][1:] == ["15550008@c.us"]


def test_chats_are_answered_side_by_side_each_chat_in_order(tmp_path: Path) -> None:
    w = world(tmp_path)
    linked(w)
    slow, quick = "15550001@c.us", "15550002@c.us"

    async def run() -> None:
        w.engine.held[slow] = asyncio.Event()
        for event in (
            message("3A01", "hours", chat=slow),
            message("3A02", "prices", chat=slow),
            message("3B01", "menu", chat=quick),
        ):
            await w.bot._handle(event)
        quick_done = [t for t in w.bot.answering if not t.done()]
        await asyncio.wait(quick_done, return_when=asyncio.FIRST_COMPLETED)
        # The other chat was answered while the first one's reply is still being typed.
        assert [chat for chat, _t, _id in w.engine.sends] == [quick]
        w.engine.held[slow].set()
        await asyncio.gather(*w.bot.answering)

    asyncio.run(run())
    sent = [(chat, text) for chat, text, _id in w.engine.sends]
    assert sent == [
        (quick, templates.reply(None, "Roma", "menu")),
        (slow, templates.reply(None, "Roma", "hours")),
        (slow, templates.reply(None, "Roma", "prices")),  # in order within the chat
    ]
    assert w.bot.chat_turns == {}  # nothing kept per chat once answered


def test_a_connected_report_during_a_reply_in_flight_does_not_send_it_again(
    tmp_path: Path,
) -> None:
    """The watchdog reports a connected page every probe; a reply still showing "typing…" is
    in flight, not refused: it goes out once."""
    w = world(tmp_path)
    linked(w)
    chat = "15550001@c.us"

    async def run() -> None:
        w.engine.held[chat] = asyncio.Event()
        await w.bot._handle(message("3A01", "hours", chat=chat))
        await asyncio.sleep(0)  # the answer starts and waits in its send
        await w.bot._handle(StateChanged(READY))  # a probe of the connected page
        w.engine.held[chat].set()
        await asyncio.gather(*w.bot.answering)

    asyncio.run(run())
    assert [mid for _c, _t, mid in w.engine.sends] == [reply_id("3A01")]
    assert w.engine.typing == [w.bot.cfg.typing_ms(w.sent_texts()[0])]  # one send attempt


async def relaunched_page_ready(w: World, handler: asyncio.Task[None]) -> None:
    """The relaunched page says it is ready; once handled, its catch-up runs to its end."""
    w.engine.pages[-1](StateChanged(READY))
    await asyncio.wait_for(w.bot.events.join(), timeout=5)
    handler.cancel()
    if w.bot.catch_up_task is not None:
        await w.bot.catch_up_task


def test_what_a_lost_page_still_said_never_reports_the_new_page_connected(
    tmp_path: Path,
) -> None:
    """The browser dies while its last reports wait their turn: the session says
    DISCONNECTED until the relaunched page itself is ready, and the saved login stays."""
    w = world(tmp_path)

    async def run() -> None:
        handler = asyncio.create_task(w.bot._handle_events())
        await w.bot._open()
        (w.bot.profile_dir / "login").write_text("keys")
        await w.bot._handle(StateChanged(READY))
        assert w.store.statuses.session is SessionState.CONNECTED
        saved = w.saved.data
        lost_page = w.engine.pages[-1]
        lost_page(StateChanged(READY))  # said just before it died, not handled yet
        w.bot._crashed("browser closed")
        assert w.bot.recovery_task is not None
        await w.bot.recovery_task
        await asyncio.wait_for(w.bot.events.join(), timeout=5)  # the queued report is taken
        assert w.store.statuses.session is SessionState.DISCONNECTED
        assert w.saved.data == saved
        await relaunched_page_ready(w, handler)

    asyncio.run(run())
    assert [event for event, _ in w.store.history][-2:] == ["disconnected", "ready"]


def test_a_relaunched_page_catches_up_even_when_the_page_before_said_ready_last(
    tmp_path: Path,
) -> None:
    """The page before is lost while its READY is being written: the statuses say CONNECTED
    when the relaunched page reports ready, and that page still answers what came meanwhile."""
    w = world(tmp_path)

    async def run() -> None:
        handler = asyncio.create_task(w.bot._handle_events())
        await w.bot._open()
        await w.bot._handle(StateChanged(READY))
        linked_at = w.store.view.linked_at
        assert linked_at is not None
        w.bot._crashed("page lost")
        assert w.bot.recovery_task is not None
        await w.bot.recovery_task
        # The lost page's READY, written after the relaunch began.
        w.store.statuses = Statuses(
            TenantStatus.ACTIVE, SessionState.CONNECTED, WorkerStatus.RUNNING
        )
        w.bot.session_state = SessionState.CONNECTED
        w.engine.history = [Inbound("3A09", "15550009@c.us", "still there?", linked_at + 5_000)]
        await relaunched_page_ready(w, handler)

    asyncio.run(run())
    assert [chat for chat, _t, _id in w.engine.sends] == ["15550009@c.us"]


def test_a_stop_while_ready_is_being_written_still_saves_the_login(tmp_path: Path) -> None:
    """SIGTERM lands while the page's READY is written: the statuses never reached CONNECTED
    in this session, but the page is linked, so the drain saves its login."""
    w = world(tmp_path)

    async def run() -> None:
        await w.bot._open()
        (w.bot.profile_dir / "login").write_text("keys")
        w.bot.page = READY  # what the page said; its READY write was cancelled by the stop
        assert w.bot.session_state is not SessionState.CONNECTED
        w.bot.finish(ExitCode.STOPPED, "moving to another server")
        await w.bot._shutdown()

    asyncio.run(run())
    assert w.saved.data is not None


def test_a_page_that_stops_answering_is_our_problem_at_once_and_relaunched_if_it_stays(
    tmp_path: Path,
) -> None:
    w = world(tmp_path)
    w.bot.cfg = replace(w.bot.cfg, probe_s=0.05, hang_s=3600)

    def session_is(state: SessionState) -> Callable[[], bool]:
        return lambda: w.store.statuses.session is state

    async def run() -> None:
        tasks = [asyncio.create_task(w.bot._handle_events())]
        await w.bot._open()
        await w.bot._handle(StateChanged(READY))
        w.engine.silent = asyncio.Event()  # the renderer hangs
        tasks.append(asyncio.create_task(w.bot._watchdog()))
        assert await asyncio.to_thread(w.store.wait_for, session_is(SessionState.DISCONNECTED), 5)
        assert (w.store.last_error or "").startswith(OUR_SIDE)
        assert len(w.engine.pages) == 1  # busy is not dead: no relaunch yet
        w.engine.silent.set()  # it answers again: connected, still the same browser
        w.engine.silent = None
        assert await asyncio.to_thread(w.store.wait_for, session_is(SessionState.CONNECTED), 5)
        assert len(w.engine.pages) == 1
        w.bot.cfg = replace(w.bot.cfg, hang_s=0.2)
        w.engine.silent = asyncio.Event()  # hung for good: relaunched from the saved login
        await asyncio.wait_for(w.engine.relaunched.wait(), timeout=5)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())
    events = [event for event, _ in w.store.history]
    assert events[-3:] == ["disconnected", "ready", "disconnected"]


def test_a_site_wa_js_cannot_load_is_a_cause_of_its_own_not_a_relaunch_loop(
    tmp_path: Path,
) -> None:
    w = world(tmp_path)
    w.bot.cfg = replace(w.bot.cfg, not_loaded_tries=3, not_loaded_retry_s=3600)
    lost = PageLost(f"{NOT_LOADED} (wa-js never became ready)")

    async def run() -> None:
        await w.bot._open()
        for _ in range(2):  # relaunched: maybe a bad moment of the site
            await w.bot._handle(lost)
            assert w.bot.recovery_task is not None
            await w.bot.recovery_task
        assert len(w.engine.pages) == 3
        await w.bot._handle(lost)  # the third in a row: wait for an update
        assert await asyncio.to_thread(
            w.store.wait_for, lambda: (w.store.last_error or "").startswith(WHATSAPP_CHANGED), 5
        )
        assert len(w.engine.pages) == 3  # no relaunch until the slow retry
        assert w.bot.recovery_task is not None and not w.bot.recovery_task.done()
        w.bot.finish(ExitCode.STOPPED, "test over")
        await w.bot.recovery_task

    asyncio.run(run())
    assert w.store.reconnect == (3, w.clock.now_ms() + 3_600_000)


def test_a_relaunch_on_the_same_host_keeps_the_newer_profile_on_disk(tmp_path: Path) -> None:
    """The saved copy can be a save interval old; WhatsApp's keys must not roll back."""
    from worker_container import profile

    w = world(tmp_path)
    keys = w.bot.profile_dir / "Default/IndexedDB/keys"

    async def run() -> None:
        await w.bot._open()
        keys.parent.mkdir(parents=True)
        keys.write_text("older")
        w.saved.data = profile.pack(w.bot.profile_dir)  # the last periodic save
        keys.write_text("newer")  # WhatsApp wrote since
        w.bot._crashed("page crashed")
        assert w.bot.recovery_task is not None
        await w.bot.recovery_task

    asyncio.run(run())
    assert len(w.engine.pages) == 2 and keys.read_text() == "newer"
    # A new session (another host) has nothing on disk: it restores the saved copy.
    fresh = world(tmp_path / "other")
    fresh.saved.data = w.saved.data
    asyncio.run(fresh.bot._open())
    assert (fresh.bot.profile_dir / "Default/IndexedDB/keys").read_text() == "older"


def test_the_owner_writing_from_the_phone_silences_the_bot_in_that_chat_only(
    tmp_path: Path,
) -> None:
    w = world(tmp_path)
    linked(w)
    w.handle(message("3A01", "hours"))  # the bot answers; its own message comes back
    ours = w.engine.sends[0][2]
    w.handle(message(ours, "reply", from_me=True))
    w.handle(message("3A02", "menu"))
    assert len(w.engine.sends) == 2  # its own reply is no takeover
    w.handle(message("3EB0" + "AB" * 9, "I'll call you", from_me=True))  # the owner's phone
    w.handle(message("3A03", "thanks"))
    assert len(w.engine.sends) == 2
    assert w.store.why["3A03"] == "you took over this chat"
    w.handle(message("3A04", "hours", chat="15550002@c.us"))  # another chat: answered
    assert len(w.engine.sends) == 3


def test_stop_is_confirmed_once_then_silence_until_start(tmp_path: Path) -> None:
    w = world(tmp_path)
    linked(w)
    w.handle(message("3A01", "STOP"), message("3A02", "menu"), message("3A03", "start"))
    assert w.sent_texts() == [conversation.STOPPED_TEXT, conversation.STARTED_TEXT]
    assert w.store.why["3A02"] == "opted out of automatic replies"


def test_a_number_on_the_never_answer_list_is_logged_and_never_answered(tmp_path: Path) -> None:
    import json

    w = world(tmp_path)
    linked(w)
    w.store.view = replace(w.store.view, rules=json.dumps({"neverAnswer": ["+1 555 0001"]}))
    w.handle(message("3A01", "hours"), message("3A02", "hours", chat="15550002@c.us"))
    assert w.store.why["3A01"] == "on your never-answer list"
    assert len(w.engine.sends) == 1  # the other customer is answered


def test_a_topic_with_a_pdf_sends_the_file_with_the_answer_as_its_caption_even_after_a_restart(
    tmp_path: Path,
) -> None:
    import json

    pdf = b"%PDF-1.4 the menu"
    media = {"id": "m_0123456789abcdef", "name": "menu.pdf", "type": "application/pdf", "size": 17}
    rules = {"topics": [{"keywords": ["menu"], "answer": "Our menu.", "media": media}]}
    w = world(tmp_path, refuse_sends=1)  # the first send is refused: the page had a conflict
    w.store.files[media["id"]] = pdf
    w.store.view = replace(w.store.view, rules=json.dumps(rules))
    linked(w)
    with contextlib.suppress(RuntimeError):
        w.handle(message("3A01", "the menu please"))
    assert w.store.state_of("out#re-3A01") == "SENDING"  # claimed, not sent
    # A new worker on the same store sends the same reply, with its file.
    w2 = world(tmp_path)
    w2.store = w.store
    w2.bot.store = w2.bot.replies.store = w.store
    w.store.statuses = Statuses(
        TenantStatus.ACTIVE, SessionState.DISCONNECTED, WorkerStatus.RUNNING
    )
    w2.handle(StateChanged(READY))
    assert w2.engine.sends == [("15550001@c.us", "Our menu.", reply_id("3A01"))]
    sent = w2.engine.files[reply_id("3A01")]
    assert (sent.data, sent.mimetype, sent.name) == (pdf, "application/pdf", "menu.pdf")


def test_an_answer_whose_file_is_gone_is_sent_without_it(tmp_path: Path) -> None:
    import json

    media = {"id": "m_0123456789abcdef", "name": "menu.pdf", "type": "application/pdf", "size": 9}
    rules = {"topics": [{"keywords": ["menu"], "answer": "Our menu.", "media": media}]}
    w = world(tmp_path)
    w.store.view = replace(w.store.view, rules=json.dumps(rules))
    linked(w)
    w.handle(message("3A01", "menu"))
    assert w.sent_texts() == ["Our menu."] and w.engine.files == {}
    assert w.store.state_of("out#re-3A01") == "SENT"


def test_a_takeover_lasts_as_long_as_the_owner_set(tmp_path: Path) -> None:
    import json

    w = world(tmp_path)
    w.store.view = replace(w.store.view, rules=json.dumps({"takeoverHours": 1}))
    linked(w)
    w.handle(message("3EB0" + "AB" * 9, "I'll call you", from_me=True))  # the owner's phone
    w.handle(message("3A01", "hours"))
    assert w.store.why["3A01"] == "you took over this chat" and not w.engine.sends
    w.clock.advance(3_600_001)  # an hour later the bot answers there again
    w.handle(message("3A02", "hours"))
    assert len(w.engine.sends) == 1


def test_a_message_still_unanswered_after_two_minutes_is_counted(tmp_path: Path) -> None:
    w = world(tmp_path, refuse_sends=1)
    linked(w)
    w.handle(message("3A01", "hours"))  # claimed, its send refused: still logged, answered later
    w.store.record_inbound(
        "3A02",
        from_number="+1555",
        to_number=None,
        text="hi",
        at_ms=w.clock.now_ms(),
        chat="1555@c.us",
    )
    assert asyncio.run(w.bot.replies.unanswered(older_than_ms=120_000)) == 0
    w.clock.advance(120_001)
    assert asyncio.run(w.bot.replies.unanswered(older_than_ms=120_000)) == 1  # 3A02 only
