"""The worker's pure parts: templates, token bucket, backoff, configuration."""

from __future__ import annotations

import pytest

from chalicelib.domain import templates
from chalicelib.domain.clock import ManualClock
from chalicelib.domain.errors import ConfigError
from chalicelib.domain.statuses import TemplateType
from chalicelib.settings import write_env
from worker_container.config import HostConfig, WorkerConfig
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


HOST_ENV = {"WAFLEET_SESSION_DIR": "/tmp/s"}


def test_worker_config_defaults_and_a_round_trip_through_the_task_environment() -> None:
    config = WorkerConfig.from_env(HOST_ENV)
    assert config.conflict == "takeover" and config.reconnect_max == 10
    changed = WorkerConfig.from_env(
        {**HOST_ENV, "WAFLEET_QR_FIRST_S": "1.5", "WAFLEET_RATE_BURST": "3"}
    )
    assert (changed.qr_first_s, changed.rate_burst) == (1.5, 3)
    assert WorkerConfig.from_env(write_env(changed)) == changed


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"WAFLEET_QR_FIRST_S": "soon"}, "WAFLEET_QR_FIRST_S"),
        ({"WAFLEET_RECONNECT_MAX": "0"}, "WAFLEET_RECONNECT_MAX"),
        ({"WAFLEET_RECONNECT_MAX": "2.5"}, "WAFLEET_RECONNECT_MAX"),
        ({"WAFLEET_CONFLICT": "fight"}, "WAFLEET_CONFLICT"),
        ({"WAFLEET_RATE_PER_MIN": "-1"}, "WAFLEET_RATE_PER_MIN"),
        ({"WAFLEET_PAGE_PROBE_S": "inf"}, "WAFLEET_PAGE_PROBE_S"),
        ({"WAFLEET_WA_VERSION": "latest"}, "WAFLEET_WA_VERSION"),
        (
            {"WAFLEET_WA_VERSION": "2.3000.1-alpha", "WAFLEET_WA_CATALOG": "/nowhere"},
            "WAFLEET_WA_VERSION",
        ),
        ({"WAFLEET_WAJS_BUNDLE": "/no/such/wa.js"}, "WAFLEET_WAJS_BUNDLE"),
        ({"WAFLEET_SESSION_DIR": ""}, "WAFLEET_SESSION_BUCKET"),
    ],
)
def test_worker_config_errors_name_the_variable(change: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        WorkerConfig.from_env({**HOST_ENV, **change})


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({}, "WAFLEET_HOST_ID"),
        ({"WAFLEET_HOST_ID": "h_1", "WAFLEET_HOST_MEMORY_MB": "lots"}, "WAFLEET_HOST_MEMORY_MB"),
        ({"WAFLEET_HOST_ID": "h_1", "WAFLEET_HOST_POLL_S": "0"}, "WAFLEET_HOST_POLL_S"),
    ],
)
def test_host_config_errors_name_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        HostConfig.from_env(env)


def test_host_config_memory_is_megabytes_not_seconds() -> None:
    with pytest.raises(ConfigError, match="megabytes"):
        HostConfig.from_env({"WAFLEET_HOST_ID": "h_1", "WAFLEET_HOST_MEMORY_MB": "x"})
    assert (
        HostConfig.from_env({"WAFLEET_HOST_ID": "h_1", "WAFLEET_HOST_MEMORY_MB": "4096"}).memory_mb
        == 4096
    )
