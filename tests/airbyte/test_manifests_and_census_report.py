"""Where real manifests come from (pinned wheels, sha256-checked, cached; a checkout of Airbyte's
repository) and the corpus report over a checkout."""

from __future__ import annotations

import concurrent.futures
import hashlib
import io
import json
import runpy
import subprocess
import sys
import zipfile

import pytest

from tests.airbyte import manifests

REPORT_SCRIPT = manifests.ROOT / "scripts" / "airbyte" / "corpus_report.py"


def _wheel(member: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, text)
    return buffer.getvalue()


def _pin(data: bytes, **extra: object) -> manifests.Pin:
    fields = {
        "name": "demo",
        "package": "airbyte-source-demo",
        "version": "0.1.0",
        "url": "https://files.example/airbyte_source_demo-0.1.0-py3-none-any.whl",
        "sha256": hashlib.sha256(data).hexdigest(),
        "member": "source_demo/manifest.yaml",
        **extra,
    }
    return manifests.Pin(**fields)  # type: ignore[arg-type]


def test_a_pinned_wheel_is_downloaded_once_then_read_from_the_cache(tmp_path):
    data = _wheel("source_demo/manifest.yaml", "version: 1.0.0\nstreams: []\n")
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return data

    pin = _pin(data)
    assert manifests.manifest_text(pin, tmp_path, fetch) == "version: 1.0.0\nstreams: []\n"
    assert manifests.manifest_text(pin, tmp_path, fetch) == "version: 1.0.0\nstreams: []\n"
    assert fetched == [pin.url]
    assert (tmp_path / "airbyte_source_demo-0.1.0-py3-none-any.whl").read_bytes() == data


def test_a_wheel_whose_hash_differs_from_the_pin_is_refused_and_not_cached(tmp_path):
    pin = _pin(b"the pinned bytes")
    with pytest.raises(
        manifests.PinError, match=r"airbyte_source_demo-0\.1\.0-py3-none-any\.whl: sha256 [0-9a-f]{64} differs from the pinned"
    ):
        manifests.wheel_bytes(pin, tmp_path, lambda url: b"other bytes")
    assert list(tmp_path.iterdir()) == []


def test_a_tampered_cache_entry_is_fetched_again(tmp_path):
    data = _wheel("source_demo/manifest.yaml", "a: 1\n")
    pin = _pin(data)
    (tmp_path / pin.wheel_name).write_bytes(b"tampered")
    assert manifests.wheel_bytes(pin, tmp_path, lambda url: data) == data
    assert (tmp_path / pin.wheel_name).read_bytes() == data


def test_a_wheel_without_the_manifest_is_refused(tmp_path):
    data = _wheel("source_demo/other.yaml", "a: 1\n")
    with pytest.raises(manifests.PinError, match=r"has no source_demo/manifest\.yaml"):
        manifests.manifest_text(_pin(data), tmp_path, lambda url: data)


def test_only_https_urls_are_downloaded():
    with pytest.raises(manifests.PinError, match="https URLs only"):
        manifests._download("http://pypi.example/x.whl")


def test_the_pinned_list_names_each_connector_once_with_an_exact_pypi_wheel():
    pins = manifests.load_pins()
    assert len(pins) >= 45
    assert len({p.name for p in pins}) == len(pins)
    for pin in pins:
        assert pin.package == f"airbyte-source-{pin.name}"
        assert pin.url.startswith("https://files.pythonhosted.org/packages/")
        assert pin.wheel_name == f"airbyte_source_{pin.name.replace('-', '_')}-{pin.version}-py3-none-any.whl"
        assert len(pin.sha256) == 64
        assert pin.member == f"source_{pin.name.replace('-', '_')}/manifest.yaml"
        assert pin.components, pin.name


def test_every_pinned_wheel_downloads_with_its_hash_and_ships_its_manifest():
    """From PyPI into .cache/airbyte-manifests/ on the first run; from the cache afterwards."""
    pins = manifests.load_pins()
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        texts = list(pool.map(manifests.manifest_text, pins))
    for pin, text in zip(pins, texts):
        assert "streams" in text, pin.name
        assert hashlib.sha256((manifests.CACHE_DIR / pin.wheel_name).read_bytes()).hexdigest() == pin.sha256


MANIFEST_A = """
version: 6.0.0
type: DeclarativeSource
definitions:
  requester: {type: HttpRequester, url_base: "https://a.example", path: /x, authenticator: {type: BearerAuthenticator, api_token: t}}
streams:
  - type: DeclarativeStream
    name: x
    retriever:
      type: SimpleRetriever
      requester: {$ref: "#/definitions/requester"}
      record_selector: {type: RecordSelector, extractor: {type: DpathExtractor, field_path: []}}
    incremental_sync: {type: DatetimeBasedCursor, cursor_field: u, datetime_format: "%s", start_datetime: "{{ now_utc() }}", step: P1D}
"""
MANIFEST_B = """
version: 6.0.0
type: DeclarativeSource
streams:
  - type: DeclarativeStream
    name: y
    retriever:
      type: SimpleRetriever
      requester: {type: HttpRequester, url_base: "https://b.example", path: /y}
      record_selector: {type: RecordSelector, extractor: {type: DpathExtractor, field_path: [data]}}
      paginator: {type: DefaultPaginator, pagination_strategy: {type: PageIncrement, page_size: 5}}
"""


@pytest.fixture(scope="module")
def airbyte_checkout(tmp_path_factory):
    """A tiny stand-in for Airbyte's repository: two manifest-only connectors, one with components.py,
    one Python connector without a manifest."""
    repo = tmp_path_factory.mktemp("airbyte")
    base = repo / "airbyte-integrations" / "connectors"
    for name, text in (("source-alpha", MANIFEST_A), ("source-beta", MANIFEST_B)):
        (base / name).mkdir(parents=True)
        (base / name / "manifest.yaml").write_text(text)
    (base / "source-beta" / "components.py").write_text("class X: ...\n")
    (base / "source-gamma").mkdir()
    (base / "source-gamma" / "main.py").write_text("print()\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "fixture"], check=True)
    return repo


def test_a_checkout_is_read_from_its_work_tree_or_its_git_directory(airbyte_checkout):
    commit, found = manifests.checkout_manifests(airbyte_checkout)
    assert len(commit) == 40
    assert [(m.name, m.has_components_py) for m in found] == [("alpha", False), ("beta", True)]
    assert found[0].text == MANIFEST_A
    git_commit, from_git = manifests.checkout_manifests(airbyte_checkout / ".git")
    assert (git_commit, from_git) == (commit, found)


def test_the_corpus_report_counts_components_and_macros_and_what_the_tap_accepts(airbyte_checkout, tmp_path, capsys, monkeypatch):
    out = tmp_path / "census.json"
    monkeypatch.setattr(sys, "argv", ["corpus_report.py", "--airbyte-repo", str(airbyte_checkout), "--json", str(out)])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(REPORT_SCRIPT), run_name="__main__")
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    assert "manifest-only connectors: 2; with components.py: 1; without: 1" in printed
    assert "accepted: 0 of 1 without components.py (0.0%)" in printed
    # alpha's window has a step without cursor_granularity (the CDK refuses it too)
    assert "     1  step and cursor_granularity go together" in printed
    report = json.loads(out.read_text())
    assert report["streams_without_components_py"] == 1
    assert report["streams_all"] == 2
    assert report["components_without_components_py"]["DatetimeBasedCursor.step"] == 1
    assert report["components_without_components_py"]["BearerAuthenticator"] == 1
    assert "PageIncrement" not in report["components_without_components_py"]
    assert report["components_all"]["PageIncrement"] == 1
    assert report["components_all"]["NoPagination"] == 1
    assert report["macros_all"] == {"now_utc": 1}
