"""Every preset completes with exact id sets under the sandbox's fault mix (one fault per endpoint)."""

from __future__ import annotations

import email.utils
import time

import pytest

from tap_restgeneric.source import PRESETS, load_source
from tests.support import preset_config, sync

#: 429 with Retry-After in seconds and as an HTTP date, the 5xx family (with Retry-After: 0, so
#: the run stays short), a reset before any byte, a reset half way through the body, a 200 with
#: its JSON cut in half, an HTML 200, and a response slower than request_timeout.
FAULT_MIX = [
    ("429", {"retry_after": 0}),
    ("cut", {}),
    ("500", {"retry_after": 0}),
    ("truncated", {}),
    ("502", {"retry_after": 0}),
    ("reset", {}),
    ("503", {"retry_after": 0}),
    ("html", {}),
    ("504", {"retry_after": 0}),
    ("slow", {"delay": 2.5}),
    ("429", {"retry_after": "date"}),
]


def endpoint_paths(api: str) -> list[str]:
    source = load_source({"api": api, "secrets": {"api_key": "x", "api_token": "x"}})
    return sorted({f"/{api}{resource['endpoint']['path']}" for resource in source.resources})


@pytest.mark.parametrize("api", PRESETS)
def test_every_preset_completes_under_the_fault_mix_with_exact_ids(sandbox, api):
    sandbox.clear_faults()
    paths = endpoint_paths(api)
    offset = PRESETS.index(api) * 3  # each preset starts elsewhere in the mix: every kind hits several APIs
    injected = []
    for i, path in enumerate(paths):
        kind, extra = FAULT_MIX[(offset + i) % len(FAULT_MIX)]
        if extra.get("retry_after") == "date":
            extra = {"retry_after": email.utils.formatdate(time.time() + 1, usegmt=True)}
        sandbox.inject_fault(path, kind, count=1, **extra)
        injected.append(kind)
    out = sync(preset_config(sandbox, api, request_timeout=1))
    assert sandbox.pending_faults() == [], "every injected fault was met"
    streams = [m["stream"] for m in out.messages if m["type"] == "SCHEMA"]
    for stream in streams:
        assert sorted(out.ids(stream), key=str) == sorted(sandbox.ids(api, stream), key=str), f"{api}.{stream} after {injected}"
