"""dlt's ``response_actions``: what to do with a response, by its status code and/or content.

A config can only name actions (dlt's callables are Python): ``ignore`` makes the response a
page without records and ends paging for that request (dlt's ``IgnoreResponseException``) —
a child's 404 for a deleted parent, or an API's 404 past the last page::

    response_actions:
      - {status_code: 404, action: ignore}
      - {content: "Not found", action: ignore}
      - {status_code: 200, content: "no results", action: ignore}

An action with both ``status_code`` and ``content`` matches when both do; the first matching
action wins; a response no action matches is handled as usual (errors retried or fatal).
"""

from __future__ import annotations

import dataclasses
import typing as t

if t.TYPE_CHECKING:
    import requests

#: The actions a config can name.
ACTIONS = ("ignore",)


@dataclasses.dataclass(frozen=True)
class ResponseAction:
    status_codes: frozenset[int] | None
    content: str | None
    action: str

    @classmethod
    def parse(cls, value: t.Mapping[str, t.Any]) -> ResponseAction:
        codes = value.get("status_code")
        if codes is not None:
            codes = frozenset(int(code) for code in (codes if isinstance(codes, list) else [codes]))
        return cls(codes, value.get("content"), value["action"])

    def matches(self, response: requests.Response) -> bool:
        if self.status_codes is not None and response.status_code not in self.status_codes:
            return False
        return self.content is None or self.content in response.text


def first_action(actions: t.Sequence[ResponseAction], response: requests.Response) -> str | None:
    return next((action.action for action in actions if action.matches(response)), None)
