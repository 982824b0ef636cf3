"""tap-restgeneric with one speed lever undone, for benchmarks/levers.py only.

usage: variant_tap.py VARIANT --config FILE
  sdk-output     the SDK's own RECORD path: SDK conformance, simplejson, a flush per message
  env-proxies    requests re-reads proxy variables (and the CA bundle) from the environment on every request
  full           nothing undone
"""

import sys

from singer_sdk.plugin_base import SingerWriter

from tap_restgeneric import cli, tap
from tap_restgeneric.transport import origins as transport

variant = sys.argv.pop(1)
if variant == "sdk-output":
    tap.TapRestGeneric.message_writer_class = SingerWriter
elif variant == "env-proxies":
    transport.EnvironmentSettings.proxies = lambda self, origin: transport.get_environ_proxies(str(origin))
elif variant != "full":
    raise SystemExit(f"unknown variant {variant}")
cli.main()
