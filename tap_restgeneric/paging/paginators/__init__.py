"""Paginators of the dialect, one small class per ``type``: what the next request is.

Each decides from the page just read, passed in: ``update(page)`` gets the ``Page``
(response, parsed body, records), as dlt's paginators get ``update_state(response, data)``,
and either moves ``current_value`` to the next page's token or sets ``finished``. The token
goes into the next request through ``apply(request, token)``. ``PAGINATORS`` maps ``type``
names to classes; the config keys each accepts are its ``__init__``'s keyword parameters
(``paginator_options``), the one list the dialect's validation reads.

They do not build on the SDK's ``BaseAPIPaginator``: its ``advance(response)`` sees only the
``requests.Response``, so every paginator reading the body (total, cursor, next URL, has-more)
would parse it a second time. A paginator that would request a page it already requested
raises ``PaginationLoop`` instead of looping.
"""

from __future__ import annotations

import inspect

from tap_restgeneric.paging.paginators.auto import AutoPaginator
from tap_restgeneric.paging.paginators.base import PaginationLoop, Paginator, PaginatorRefused, SinglePagePaginator
from tap_restgeneric.paging.paginators.links import (
    CursorPaginator,
    HeaderCursorPaginator,
    HeaderLinkPaginator,
    JSONLinkPaginator,
)
from tap_restgeneric.paging.paginators.ranges import OffsetPaginator, PageNumberPaginator

__all__ = ["PAGINATORS", "PAGINATOR_ALIASES", "PaginationLoop", "Paginator", "PaginatorRefused", "paginator_options"]

PAGINATORS: dict[str, type[Paginator]] = {
    cls.type_name: cls
    for cls in (
        SinglePagePaginator,
        PageNumberPaginator,
        OffsetPaginator,
        CursorPaginator,
        JSONLinkPaginator,
        HeaderLinkPaginator,
        HeaderCursorPaginator,
        AutoPaginator,
    )
}
#: dlt's older name for json_link.
PAGINATOR_ALIASES = {"json_response": "json_link"}
#: Arguments a paginator gets from the stream, not from the config.
_RUNTIME_ARGUMENTS = frozenset({"self", "context", "log", "method"})


def paginator_options(kind: str) -> frozenset[str]:
    """The config keys paginator type ``kind`` accepts: its ``__init__``'s keyword parameters."""
    parameters = inspect.signature(PAGINATORS[kind].__init__).parameters
    return frozenset(parameters) - _RUNTIME_ARGUMENTS
