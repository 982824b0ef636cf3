"""Selective auth (Airbyte's ``SelectiveAuthenticator``): the auth method chosen by a value in the config.

``authenticator_selection_path`` is a path of keys into the connector config (a list index may be given
as a number or its digits); the value found, as text, names one of ``authenticators``. The choice is made
from the config alone, before anything is built or sent, so only the chosen method's settings need to be
complete. A path with nothing at its end, or a value that names no authenticator, is one config error
naming the path, the value and the valid names (the CDK raises a bare ``ValueError``).

Config (proposed ``type: selective``, Airbyte's names): ``authenticator_selection_path``,
``authenticators: {name: <auth>}``. ``--doctor``: which one was chosen and by which value.
"""

from __future__ import annotations

import typing as t

from tap_restgeneric.errors import SourceConfigError

_T = t.TypeVar("_T")


def value_at(config: t.Any, path: t.Sequence[str | int]) -> t.Any:
    """The value at ``path`` in ``config``; ``KeyError`` when there is none."""
    value = config
    for step in path:
        if isinstance(value, t.Mapping) and step in value:
            value = value[step]
        elif isinstance(value, t.Mapping) and str(step) in value:
            value = value[str(step)]
        elif isinstance(value, list) and str(step).lstrip("-").isdigit() and -len(value) <= int(step) < len(value):
            value = value[int(step)]
        else:
            raise KeyError(step)
    return value


def select_authenticator(
    config: t.Mapping[str, t.Any],
    selection_path: t.Sequence[str | int],
    authenticators: t.Mapping[str, _T],
    where: str = "auth",
) -> tuple[str, _T]:
    """The name and the authenticator (or its config) the value at ``selection_path`` chooses."""
    shown = ".".join(str(step) for step in selection_path)
    names = ", ".join(authenticators) or "none"
    try:
        value = value_at(config, selection_path)
    except KeyError:
        raise SourceConfigError(
            [f"{where}.authenticator_selection_path: the config has no value at {shown} (it chooses one of: {names})"]
        ) from None
    chosen = str(value)
    if chosen not in authenticators:
        raise SourceConfigError([f"{where}: {shown} is {chosen!r}, which names none of the authenticators: {names}"])
    return chosen, authenticators[chosen]
