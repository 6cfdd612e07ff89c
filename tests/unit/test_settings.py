"""Configuration: defaults for AWS, and errors that name the variable."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import ConfigError
from chalicelib.settings import Settings


def test_defaults_are_the_aws_ones() -> None:
    s = Settings.from_env({"AWS_REGION": "eu-west-1"})
    assert (s.heartbeat_s, s.stale_s, s.reaper_s) == (15.0, 45.0, 60.0)
    assert s.region == "eu-west-1"
    assert s.tenants_table == "wafleet-tenants"


def test_round_trips_through_the_environment() -> None:
    s = Settings(heartbeat_s=0.2, stale_s=1.0, dynamodb_endpoint="http://127.0.0.1:5000")
    assert Settings.from_env(s.as_env()) == s


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({}, "AWS_REGION"),
        ({"AWS_REGION": "x", "WAFLEET_HEARTBEAT_S": "soon"}, "WAFLEET_HEARTBEAT_S"),
        ({"AWS_REGION": "x", "WAFLEET_STALE_S": "-3"}, "WAFLEET_STALE_S"),
        ({"AWS_REGION": "x", "WAFLEET_STALE_S": "nan"}, "WAFLEET_STALE_S"),
        ({"AWS_REGION": "x", "WAFLEET_TENANTS_TABLE": "bad name!"}, "WAFLEET_TENANTS_TABLE"),
        (
            {"AWS_REGION": "x", "WAFLEET_DYNAMODB_ENDPOINT": "localhost:1"},
            "WAFLEET_DYNAMODB_ENDPOINT",
        ),
        ({"AWS_REGION": "x", "WAFLEET_HEARTBEAT_S": "50"}, "WAFLEET_STALE_S"),
    ],
)
def test_bad_environment_names_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        Settings.from_env(env)


def test_text_with_a_lone_surrogate_is_refused_by_name() -> None:
    import pytest

    from chalicelib.domain import validation
    from chalicelib.domain.errors import ValidationError

    with pytest.raises(ValidationError) as refused:
        validation.text("Pizza \udc00 Roma", "name", max_len=64)
    assert refused.value.field == "name"
    assert validation.text("Pizza 🍕 Roma", "name", max_len=64) == "Pizza 🍕 Roma"


def test_auto_restart_is_a_setting_read_once() -> None:
    from chalicelib.settings import Settings

    on = Settings.from_env({"AWS_REGION": "eu-west-1", "WAFLEET_AUTO_RESTART": "1"})
    off = Settings.from_env({"AWS_REGION": "eu-west-1"})
    assert on.auto_restart and not off.auto_restart
    assert Settings.from_env(on.as_env()).auto_restart


def test_the_readmes_configuration_table_is_the_declared_settings() -> None:
    """One declaration per setting: the README's table is generated from it (``wafleet
    settings``), so a setting added, renamed or re-defaulted shows there or fails here."""
    from pathlib import Path

    from chalicelib.settings import settings_table
    from worker_container.config import HostConfig, WorkerConfig

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    shown = readme.split("<!-- settings:start -->\n", 1)[1].split("\n<!-- settings:end -->", 1)[0]
    assert shown == settings_table(Settings, HostConfig, WorkerConfig)


def test_every_setting_says_what_it_means_and_names_its_variable_once() -> None:
    import dataclasses

    from worker_container.config import HostConfig, WorkerConfig

    fields = [f for cls in (Settings, HostConfig, WorkerConfig) for f in dataclasses.fields(cls)]
    # Not a setting: the sandbox follows from the process's user, nobody turns it off.
    assert [f.name for f in fields if "var" not in f.metadata] == ["sandbox"]
    names = [f.metadata["var"] for f in fields if "var" in f.metadata]
    assert all(var.what for var in names)
    envs = [var.env for var in names]
    assert len(envs) == len(set(envs))
