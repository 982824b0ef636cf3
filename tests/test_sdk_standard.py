"""The SDK's standard tap tests, for every preset, against the sandbox."""

from __future__ import annotations

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_restgeneric.tap import TapRestGeneric
from tests.conftest import SANDBOX
from tests.support import preset_config


def _suite(api: str) -> SuiteConfig:
    empty = [name for name, count in SANDBOX.counts()[api].items() if count == 0]
    return SuiteConfig(max_records_limit=300, ignore_no_records_for_streams=empty)


TestLearning = get_tap_test_class(TapRestGeneric, config=preset_config(SANDBOX, "learning"), suite_config=_suite("learning"))
TestCertifications = get_tap_test_class(
    TapRestGeneric, config=preset_config(SANDBOX, "certifications"), suite_config=_suite("certifications")
)
TestSocialInsights = get_tap_test_class(
    TapRestGeneric, config=preset_config(SANDBOX, "social_insights"), suite_config=_suite("social_insights")
)
TestIncidents = get_tap_test_class(TapRestGeneric, config=preset_config(SANDBOX, "incidents"), suite_config=_suite("incidents"))
TestOperations = get_tap_test_class(
    TapRestGeneric, config=preset_config(SANDBOX, "operations"), suite_config=_suite("operations")
)
