"""The console script: the SDK's CLI, with errors a user can act on printed on one line."""

from __future__ import annotations

import atexit
import gc
import itertools
import json
import logging
import os
import signal
import sys
import tempfile
import traceback
import typing as t
from pathlib import Path

from singer_sdk.exceptions import FatalAPIError, InvalidStreamSortException, RetriableAPIError
from singer_sdk.singerlib import StateMessage

from tap_restgeneric import doctor
from tap_restgeneric.errors import Interrupted, RestGenericError, SourceConfigError
from tap_restgeneric.output.batches import discard_open_files
from tap_restgeneric.output.redact import REDACTOR
from tap_restgeneric.output.writer import STDOUT, BufferedSingerWriter
from tap_restgeneric.source.loading import MAX_CONFIG_DEPTH, nesting_problem
from tap_restgeneric.source.written import written_schema_text
from tap_restgeneric.tap import TapRestGeneric

#: Exit codes of a sync stopped by a signal, as a shell reports them.
SIGNAL_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


def main() -> None:
    """``tap-restgeneric``: exit 1 with one line on stderr (a traceback only at debug level);
    130/143 after SIGINT/SIGTERM, with the records produced flushed and a STATE covering them."""
    # What the imports built lives as long as the process: out of the collector's sight, Python's
    # exit does not sweep it (50 ms -> 9 ms of a 0.3 s start-up and exit, benchmarks/bench.py).
    gc.freeze()
    if sys.argv[1:] == ["--dialect-schema"]:  # the dialect's JSON Schema as users write it, for editors
        sys.stdout.write(written_schema_text())
        return
    for signum in SIGNAL_EXIT:  # until the tap installs its own handler: nothing written yet, no STATE
        signal.signal(signum, _stopped_early)
    sys.argv[1:] = _flags_as_settings(sys.argv[1:])
    try:
        _check_files(sys.argv[1:])
        if "--doctor" in sys.argv[1:]:  # probes every stream and explains (see doctor.py)
            sys.exit(doctor.main(sys.argv[1:]))
        TapRestGeneric.cli()
    except Interrupted as exc:
        _interrupted(exc)
    except (RestGenericError, FatalAPIError, RetriableAPIError) as exc:
        _fail(exc)
    except InvalidStreamSortException as exc:  # a stream declared (or asked) sorted whose records are not
        _fail(
            RestGenericError(
                f"{exc}: the records do not arrive in cursor order although incremental.row_order or a sort "
                "parameter says so (the API does not sort as asked: drop row_order: asc, or the sort parameter); "
                "the records written are covered by the last STATE"
            )
        )
    except Exception as exc:  # noqa: BLE001 - anything else still gets one line
        _fail(exc, unexpected=True)


#: The tap's own flags that stand for a setting: ``--record DIR`` is ``record_dir: DIR``.
FLAG_SETTINGS = {"--record": "record_dir", "--replay": "replay_dir"}


def _flags_as_settings(argv: list[str]) -> list[str]:
    """The SDK's CLI knows only its own flags: the tap's become one more ``--config`` file (the SDK
    merges them in order, so these win)."""
    settings: dict[str, str] = {}
    rest: list[str] = []
    words = iter(argv)
    for word in words:
        name, _, value = word.partition("=")
        if name in FLAG_SETTINGS:
            settings[FLAG_SETTINGS[name]] = value or next(words, "")
        else:
            rest.append(word)
    if not settings:
        return argv
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="tap-restgeneric-flags-", delete=False) as handle:
        json.dump(settings, handle)
    atexit.register(Path(handle.name).unlink, missing_ok=True)
    return [*rest, "--config", handle.name]


def _check_files(argv: list[str]) -> None:
    """``--config``, ``--catalog`` and ``--state`` files are JSON objects, or one line says which is not."""
    for flag, value in itertools.pairwise(argv):
        if flag in ("--config", "--catalog", "--state") and value != "ENV":
            try:
                document = json.loads(Path(value).read_text())
            except RecursionError:
                raise SourceConfigError([f"{flag} {value}: nested deeper than {MAX_CONFIG_DEPTH} levels"]) from None
            except (OSError, ValueError) as exc:
                raise SourceConfigError([f"{flag} {value}: not a readable JSON file ({type(exc).__name__}: {exc})"]) from None
            if not isinstance(document, dict):
                raise SourceConfigError([f"{flag} {value}: expected a JSON object, got {type(document).__name__}"])
            problem = nesting_problem(document)
            if problem:
                raise SourceConfigError([f"{flag} {value}: {problem}"])


def _stopped_early(signum: int, frame: t.Any) -> None:  # noqa: ARG001 - a signal handler's signature
    sys.stderr.write(f"tap-restgeneric: interrupted by {signal.Signals(signum).name} before the sync started\n")
    sys.stderr.flush()
    os._exit(SIGNAL_EXIT.get(signal.Signals(signum), 128 + signum))


def _interrupted(stop: Interrupted) -> t.NoReturn:
    """The STATE the tap's signal handler made (tap.py), after the records; one line; the exit code."""
    if stop.state is not None:
        BufferedSingerWriter().write_message(StateMessage(value=stop.state))  # flushes the RECORDs before it
    discard_open_files()  # batch files never announced: their records are read again next time
    STDOUT.flush()
    signum = stop.signum
    name = signal.Signals(signum).name
    sys.stderr.write(f"tap-restgeneric: interrupted by {name}: the records written are covered by the last STATE\n")
    sys.stderr.flush()
    # Threads still waiting on pages requested ahead would hold a normal exit up to request_timeout.
    os._exit(SIGNAL_EXIT.get(signal.Signals(signum), 128 + signum))


def _fail(exc: BaseException, *, unexpected: bool = False) -> t.NoReturn:
    STDOUT.flush()  # records already emitted are out before the error line
    if logging.getLogger().isEnabledFor(logging.DEBUG):
        logging.getLogger("tap-restgeneric").debug(REDACTOR("".join(traceback.format_exception(exc))))
    text = " ".join(REDACTOR(str(exc) or type(exc).__name__).split())  # redacted before a secret's own spaces go
    if unexpected:
        text = f"{type(exc).__name__}: {text}"
    kind = "config error" if isinstance(exc, SourceConfigError) else "error"
    sys.stderr.write(REDACTOR(f"tap-restgeneric: {kind}: {text}") + "\n")
    sys.stderr.flush()
    sys.exit(1)


if __name__ == "__main__":
    main()
