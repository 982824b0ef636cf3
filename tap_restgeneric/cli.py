"""The console script: the SDK's CLI, with errors a user can act on printed on one line."""

from __future__ import annotations

import logging
import sys
import traceback
import typing as t

from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tap_restgeneric.errors import RestGenericError, SourceConfigError
from tap_restgeneric.output.redact import REDACTOR
from tap_restgeneric.output.writer import STDOUT
from tap_restgeneric.tap import TapRestGeneric


def main() -> None:
    """``tap-restgeneric``: exit 1 with one line on stderr (a traceback only at debug level)."""
    try:
        TapRestGeneric.cli()
    except (RestGenericError, FatalAPIError, RetriableAPIError) as exc:
        _fail(exc)
    except Exception as exc:  # noqa: BLE001 - anything else still gets one line
        _fail(exc, unexpected=True)


def _fail(exc: BaseException, *, unexpected: bool = False) -> t.NoReturn:
    STDOUT.flush()  # records already emitted are out before the error line
    if logging.getLogger().isEnabledFor(logging.DEBUG):
        logging.getLogger("tap-restgeneric").debug(REDACTOR("".join(traceback.format_exception(exc))))
    text = " ".join((str(exc) or type(exc).__name__).split())
    if unexpected:
        text = f"{type(exc).__name__}: {text}"
    kind = "config error" if isinstance(exc, SourceConfigError) else "error"
    sys.stderr.write(REDACTOR(f"tap-restgeneric: {kind}: {text}") + "\n")
    sys.stderr.flush()
    sys.exit(1)


if __name__ == "__main__":
    main()
