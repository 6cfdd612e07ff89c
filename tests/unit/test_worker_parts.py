"""The worker's pure parts: templates, token bucket, backoff, configuration."""

from __future__ import annotations

import pytest

from chalicelib.domain import templates
from chalicelib.domain.clock import ManualClock
from chalicelib.domain.errors import ConfigError
from chalicelib.domain.statuses import TemplateType
from worker_container.config import WorkerConfig
from worker_container.rate_limit import TokenBucket
from worker_container.reconnect import Backoff


@pytest.mark.parametrize("kind", list(TemplateType))
def test_every_template_answers_keywords_numbers_and_falls_back_to_the_menu(
    kind: TemplateType,
) -> None:
    template = templates.TEMPLATES[kind]
    assert len(template.topics) >= 3
    for number, topic in enumerate(template.topics, start=1):
        assert templates.reply(kind, "Roma", f"Hi, {topic.keywords[0].upper()}?") == topic.answer
        assert templates.reply(kind, "Roma", f"{number}") == topic.answer
    fallback = templates.reply(kind, "Roma", "lorem ipsum")
    assert fallback.startswith(template.greeting.format(name="Roma"))
    assert fallback.count("\n") == len(template.topics)


def test_template_matching_ignores_accents_and_case() -> None:
    assert templates.reply("RESTAURANT", "X", "Öffnungszeiten? HOURS") == (
        templates.TEMPLATES[TemplateType.RESTAURANT].topics[1].answer
    )


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    clock = ManualClock()
    bucket = TokenBucket(clock, rate_per_s=2, capacity=3)
    assert [bucket.take() for _ in range(3)] == [0, 0, 0]
    assert bucket.take() == pytest.approx(0.5)
    clock.advance(500)
    assert bucket.take() == 0
    clock.advance(60_000)
    assert [bucket.take() for _ in range(4)][:3] == [0, 0, 0]  # refills up to capacity only


def test_token_bucket_off_never_waits() -> None:
    bucket = TokenBucket(ManualClock(), rate_per_s=0, capacity=1)
    assert all(bucket.take() == 0 for _ in range(100))


def test_backoff_doubles_is_capped_jittered_and_gives_up() -> None:
    backoff = Backoff(base_s=1, cap_s=10, max_attempts=6)
    assert [backoff.delay(n, rand=lambda: 1.0) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert backoff.delay(3, rand=lambda: 0.5) == 2
    assert backoff.delay(7) is None


LEASE_ENV = {
    "WAFLEET_TENANT_ID": "t_1",
    "WAFLEET_LEASE_OWNER": "o",
    "WAFLEET_LEASE_EPOCH": "3",
    "WAFLEET_SESSION_DIR": "/tmp/s",
}


def test_worker_config_reads_the_lease_and_defaults() -> None:
    config = WorkerConfig.from_env(LEASE_ENV)
    assert (config.tenant_id, config.owner_id, config.epoch) == ("t_1", "o", 3)
    assert config.conflict == "takeover" and config.reconnect_max == 10


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"WAFLEET_TENANT_ID": ""}, "WAFLEET_TENANT_ID"),
        ({"WAFLEET_LEASE_EPOCH": "x"}, "WAFLEET_LEASE_EPOCH"),
        ({"WAFLEET_LEASE_EPOCH": "0"}, "WAFLEET_LEASE_EPOCH"),
        ({"WAFLEET_CONFLICT": "fight"}, "WAFLEET_CONFLICT"),
        ({"WAFLEET_RATE_PER_MIN": "-1"}, "WAFLEET_RATE_PER_MIN"),
        ({"WAFLEET_SESSION_DIR": ""}, "WAFLEET_SESSION_BUCKET"),
    ],
)
def test_worker_config_errors_name_the_variable(change: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        WorkerConfig.from_env({**LEASE_ENV, **change})
