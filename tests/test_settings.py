"""The typed settings: one field per setting the tap declares, with the same defaults."""

from __future__ import annotations

import dataclasses

from tap_restgeneric.settings import Settings
from tap_restgeneric.tap import SETTINGS

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
    assert set(fields) - {"template_config", "batch_config"} == set(declared) - {
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
