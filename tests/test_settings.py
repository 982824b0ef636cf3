"""The typed settings: one field per setting the tap declares, with the same defaults."""

from __future__ import annotations

import dataclasses
import datetime

from tap_restgeneric.setting_declarations import SETTINGS
from tap_restgeneric.settings import NOW_ENV, Settings, check_settings

#: Settings the SDK adds to the tap's config schema itself (stream maps, flattening): it reads them, the tap does not.
SDK_SETTINGS = {
    "stream_maps",
    "stream_map_config",
    "faker_config",
    "flattening_enabled",
    "flattening_max_depth",
    "flattening_separator",
    "flattening_max_key_length",
}


def test_every_setting_is_a_field_with_the_declared_default():
    fields = {field.name: field for field in dataclasses.fields(Settings)}
    declared = {name: prop for name, prop in SETTINGS["properties"].items() if name not in SDK_SETTINGS}
    assert set(fields) - {"template_config", "batch_config", "now"} == set(declared) - {
        "batch_config"
    }  # (batch_config: the SDK adds it with BATCH)
    for name, prop in declared.items():
        if "default" in prop:
            assert fields[name].default == prop["default"], name


def test_settings_are_read_once_from_the_config():
    settings = Settings.of({"api": "learning", "max_concurrency": 4, "secrets": {"api_key": "k3y-value"}, "region": "eu"})
    assert (settings.api, settings.max_concurrency, settings.stream_concurrency) == ("learning", 4, 8)
    assert settings.max_buffer_bytes == 32 * 1024 * 1024
    assert settings.template_config == {"api": "learning", "max_concurrency": 4, "region": "eu"}  # no secrets
    assert dict(settings.secrets) == {"api_key": "k3y-value"}


def test_a_sync_takes_now_once_and_the_test_variable_fixes_it(monkeypatch):
    monkeypatch.setenv(NOW_ENV, "2026-01-15T13:34:56+01:00")
    settings = Settings.of({"api": "learning"})
    assert settings.now == datetime.datetime(2026, 1, 15, 12, 34, 56, tzinfo=datetime.timezone.utc)
    assert settings.now == settings.now  # one instant, read once
    monkeypatch.delenv(NOW_ENV)
    before = datetime.datetime.now(datetime.timezone.utc)
    assert before <= Settings.of({"api": "learning"}).now <= datetime.datetime.now(datetime.timezone.utc)


def test_a_test_now_that_is_not_a_date_time_with_its_offset_is_one_line(monkeypatch):
    for value in ("tomorrow", "2026-01-15T12:34:56"):
        monkeypatch.setenv(NOW_ENV, value)
        assert check_settings({"api": "learning"}, {"properties": {}})[1] == [
            f"{NOW_ENV}: {value!r} is not an ISO 8601 date-time with its offset (e.g. 2026-01-15T12:34:56Z)"
        ]
