"""The console script: the SDK's CLI and the tap's own flags, with errors a user can act on printed on one line."""

from __future__ import annotations

import ctypes
import dataclasses
import gc
import itertools
import json
import logging
import os
import signal
import sys
import traceback
import typing as t
from pathlib import Path

import click
from singer_sdk.exceptions import FatalAPIError, InvalidStreamSortException, RetriableAPIError
from singer_sdk.singerlib import StateMessage
from typing_extensions import override

from tap_restgeneric.doctor import main as run_doctor
from tap_restgeneric.errors import Interrupted, NoSourceError, RestGenericError, SourceConfigError, StateError
from tap_restgeneric.output.batches import discard_open_files
from tap_restgeneric.output.redact import REDACTOR
from tap_restgeneric.output.writer import STDOUT, BufferedSingerWriter
from tap_restgeneric.source.loading import MAX_CONFIG_DEPTH, nesting_problem
from tap_restgeneric.source.written import written_schema_text
from tap_restgeneric.tap import TapRestGeneric

#: Exit codes of a sync stopped by a signal, as a shell reports them.
SIGNAL_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


def main() -> None:
    """``tap-restgeneric``: exit 1 with one line on stderr (a traceback only at debug level), 2 for
    a misused flag; 130/143 after SIGINT/SIGTERM, with the records produced flushed and a STATE
    covering them."""
    # What the imports built lives as long as the process: out of the collector's sight, Python's
    # exit does not sweep it (50 ms -> 9 ms of a 0.3 s start-up and exit, benchmarks/bench.py).
    gc.freeze()
    _fewer_malloc_arenas()
    for signum in SIGNAL_EXIT:  # until the tap installs its own handler: nothing written yet, no STATE
        signal.signal(signum, _stopped_early)
    argv = sys.argv[1:]
    try:
        _check_files(argv)
        sys.exit(_run(singer_command(), argv))
    except click.ClickException as exc:  # a flag without its value, an unknown flag
        sys.stderr.write(f"tap-restgeneric: error: {exc.format_message().rstrip('.')} (see tap-restgeneric --help)\n")
        sys.exit(exc.exit_code)
    except Interrupted as exc:
        _interrupted(exc)
    except NoSourceError as exc:
        if "--discover" in argv and os.environ.get("MELTANO_PROJECT_ROOT"):
            _no_streams(exc)
        _fail(exc)
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


def singer_command() -> click.Command:
    """The SDK's command (its options, and the console logging it sets up) with the tap's own
    flags, which ``--help`` lists alongside; one callback runs whichever the flags ask for."""
    command = TapRestGeneric.cli
    sdk_params = [OUTPUT_FORMAT if param.name == "about_format" else param for param in command.params]
    command.params = [*sdk_params, *OWN_FLAGS]
    command.callback = _invoke
    command.help = "Sync a REST API described in dlt's rest_api_source dialect: SCHEMA, RECORD and STATE messages on stdout."
    command.epilog = (
        "Settings go in the --config file (or, with --config ENV, in TAP_RESTGENERIC_<SETTING> variables): "
        "`tap-restgeneric --about` lists each one with its description and default. Under Meltano every flag "
        "works through `meltano invoke tap-restgeneric ...`; the --catalog and --state files Meltano adds are "
        "read (the doctor ignores --state)."
    )
    return command


class _Folder(click.ParamType):
    """``--record DIR`` / ``--replay DIR``: a folder, not the next flag taken for one."""

    name = "folder"

    @override
    def convert(self, value: t.Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if not text or text.startswith("-"):
            self.fail(f"a folder is needed, not {text!r}" if text else "a folder is needed", param, ctx)
        return text


def _print_dialect_schema(ctx: click.Context, param: click.Parameter, value: bool) -> None:  # noqa: ARG001 - click's callback signature
    if value:
        sys.stdout.write(written_schema_text())
        ctx.exit(0)


#: One ``--format`` for both: the SDK's --about formats (text is its default) and the doctor's text or json.
OUTPUT_FORMAT = click.Option(
    ["--format", "output_format"],
    type=click.Choice(["text", "json", "markdown"], case_sensitive=False),
    metavar="FORMAT",
    help="--about: text, json or markdown; --doctor: text, json.",
)
#: The tap's own flags (each help text fits one line of --help at 80 columns).
OWN_FLAGS = [
    click.Option(["--doctor"], is_flag=True, help="Probe each selected stream, explain problems."),
    click.Option(["--record"], metavar="DIR", type=_Folder(), help="Save every response in DIR, secrets redacted."),
    click.Option(["--replay"], metavar="DIR", type=_Folder(), help="Answer every request from the recording in DIR."),
    click.Option(
        ["--dialect-schema"],
        is_flag=True,
        is_eager=True,
        expose_value=False,
        callback=_print_dialect_schema,
        help="Print the source dialect's JSON Schema.",
    ),
]


#: glibc's mallopt parameter for the number of malloc arenas.
_M_ARENA_MAX = -8


def _fewer_malloc_arenas() -> None:
    """glibc gives each thread that allocates its own malloc arena (up to eight per core) and keeps
    the freed pages of each: the threads that fetch pages ahead then left peak RSS growing with the
    number of streams (123 -> 163 MB from 20 to 180 streams of 2 MiB pages, benchmarks/memory.py)
    although the pages waiting are bounded. One arena keeps it flat (97 -> 113 MB); the threads
    hold the interpreter's lock while they allocate anyway. MALLOC_ARENA_MAX, if set, wins."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_ARENA_MAX, 1)
    except (OSError, AttributeError):  # not glibc (musl has no arenas to tune)
        return


#: The tap's own flags that stand for a setting: ``--record DIR`` is ``record_dir: DIR``.
FLAG_SETTINGS = {"record": "record_dir", "replay": "replay_dir"}


def _run(command: click.Command, argv: list[str]) -> int:
    """Parse and invoke as click's ``main`` does, with the context entered before parsing: the
    ``--state`` and ``--catalog`` files click opens are closed whatever happens next, also when a
    flag's callback fails during parsing (the SDK runs ``--discover`` there)."""
    context = click.Context(command, info_name=command.name, **command.context_settings)
    try:
        with context:
            command.parse_args(context, list(argv))  # click consumes the list it parses
            result = command.invoke(context)
    except click.exceptions.Exit as stop:
        return stop.exit_code
    return result if isinstance(result, int) else 0


def _invoke(
    *,
    about: bool,
    output_format: str | None,
    config: t.Any,
    catalog: t.IO[str] | None,
    state: t.IO[str] | None,
    doctor: bool,
    record: str | None,
    replay: str | None,
) -> int | None:
    """What the flags ask for: --about, the doctor, or a sync (the SDK's)."""
    flags = {FLAG_SETTINGS[name]: value for name, value in (("record", record), ("replay", replay)) if value}
    # Over the --config files, as the flags' settings file used to be (with --config ENV, the SDK
    # merges TAP_RESTGENERIC_RECORD_DIR and the like last).
    config = dataclasses.replace(config, config={**config.config, **flags})
    if doctor and not about:
        if output_format == "markdown":
            raise click.UsageError("--format markdown is for --about; the doctor prints text or json")
        return run_doctor(
            config=config.config,
            parse_env=config.parse_env,
            catalog=json.load(catalog) if catalog is not None else None,  # --state: ignored, see doctor.py
            output_format=output_format or "text",
        )
    TapRestGeneric.invoke(about=about, about_format=output_format, config=config, state=state, catalog=catalog)
    return None


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


def _no_streams(missing: NoSourceError) -> t.NoReturn:
    """Discovery by Meltano (``meltano select --list``, the discovery before ``meltano run``) of the
    base plugin without a source: an empty catalog and the one line, exit 0. On a non-zero exit Meltano
    prints its own traceback around the line; the sync that follows still fails with it."""
    sys.stdout.write('{"streams": []}\n')
    sys.stdout.flush()
    sys.stderr.write(f"tap-restgeneric: config error: {missing}\n")
    sys.stderr.flush()
    sys.exit(0)


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
    kind = "config error" if isinstance(exc, SourceConfigError) else "state error" if isinstance(exc, StateError) else "error"
    sys.stderr.write(REDACTOR(f"tap-restgeneric: {kind}: {text}") + "\n")
    sys.stderr.flush()
    sys.exit(1)


if __name__ == "__main__":
    main()
