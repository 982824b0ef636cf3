"""The ``tracker`` API (not a preset): a GitHub-like tree of issues -> comments -> reactions.

For parent/child resources. Bearer auth; JSON arrays paged by a ``Link: <…>; rel="next"`` header.

- ``GET /issues?page=&per_page=`` (default 5 per page): ``ISSUE_COUNT`` issues (or as many as the
  ``Tracker`` is made with), numbered 1…N.
- ``GET /issues/{number}/comments?since=&page=&per_page=`` (default 2 per page): issue ``n`` has
  ``n % 5`` comments, ids ``n*100+j``; ``since`` keeps comments updated at or after it (GitHub's).
  An unknown or deleted issue answers 404.
- ``GET /comments/{id}/reactions``: comment ``id`` has ``id % 3`` reactions, ids ``id*10+k``; one page.

:meth:`Tracker.comment_on` adds a comment to one issue, later than every other (an incremental
child's new data under one parent); :meth:`Tracker.delete_issue` makes an issue's comments 404.
"""

from __future__ import annotations

import re
import threading
import typing as t
from collections.abc import Callable, Sequence
from urllib.parse import urlencode

from tap_restgeneric.sandbox.fields import EPOCH_2024, ApiSpec, full_name, iso, title
from tap_restgeneric.sandbox.protocol import BadRequest, Response, error_response, int_param, json_body, last_param

ISSUE_COUNT = 12
ISSUES_PER_PAGE = 5
COMMENTS_PER_PAGE = 2
_COMMENTS = re.compile(r"^/issues/(\d+)/comments$")
_REACTIONS = re.compile(r"^/comments/(\d+)/reactions$")
REACTIONS = ("+1", "heart", "rocket", "eyes")
#: How requests authenticate: a bearer token (the sandbox's secret).
TRACKER_AUTH = ApiSpec("tracker", ("bearer", ""), "tracker", "$")


def issue(n: int) -> dict:
    return {
        "id": 1000 + n,
        "number": n,
        "title": title(n),
        "state": "open" if n % 3 else "closed",
        "user": {"login": f"user{n % 4}", "id": 500 + n % 4},
        "updated_at": iso(EPOCH_2024 + n * 86400),
    }


def comment(n: int, j: int, updated: int | None = None) -> dict:
    cid = n * 100 + j
    return {
        "id": cid,
        "body": f"comment {j} on issue {n}",
        "user": {"login": full_name(cid)},
        "created_at": iso(EPOCH_2024 + n * 3600 + j * 60),
        "updated_at": iso(updated if updated is not None else EPOCH_2024 + n * 3600 + j * 60),
    }


def reactions(comment_id: int) -> list[dict]:
    return [{"id": comment_id * 10 + k, "content": REACTIONS[k % 4]} for k in range(comment_id % 3)]


class Tracker:
    """The tracker's data (mutable through :meth:`comment_on`, :meth:`delete_issue`) and its answers."""

    def __init__(self, issue_count: int = ISSUE_COUNT) -> None:
        self._lock = threading.Lock()
        self.issue_count = issue_count
        self.comments: dict[int, list[dict]] = {
            n: [comment(n, j) for j in range(1, n % 5 + 1)] for n in range(1, issue_count + 1)
        }
        self.deleted: set[int] = set()
        self._clock = EPOCH_2024 + 400 * 86400

    def issues(self) -> list[dict]:
        return [issue(n) for n in range(1, self.issue_count + 1)]

    def counts(self) -> dict[str, int]:
        with self._lock:
            comments = [c for number, found in self.comments.items() if number not in self.deleted for c in found]
        return {
            "issues": self.issue_count,
            "comments": len(comments),
            "reactions": sum(len(reactions(c["id"])) for c in comments),
        }

    def comment_on(self, number: int) -> dict:
        """A new comment on issue ``number``, updated later than any comment so far."""
        with self._lock:
            self._clock += 60
            new = comment(number, len(self.comments[number]) + 1, updated=self._clock)
            self.comments[number].append(new)
            return new

    def delete_issue(self, number: int) -> None:
        with self._lock:
            self.deleted.add(number)

    def answer(self, rest: str, query: dict, page_url: str) -> Response:
        """Answer ``GET /tracker<rest>``; ``page_url`` is this request's URL without its query."""
        rest = "/" + rest.strip("/")
        try:
            if rest == "/issues":
                return _paged(range(1, self.issue_count + 1), query, ISSUES_PER_PAGE, page_url, issue)
            match = _COMMENTS.match(rest)
            if match:
                number = int(match.group(1))
                with self._lock:
                    if number not in self.comments or number in self.deleted:
                        return error_response(404, "Not Found")
                    found = list(self.comments[number])
                since = last_param(query, "since")
                if since:
                    found = [c for c in found if c["updated_at"] >= since]
                return _paged(found, query, COMMENTS_PER_PAGE, page_url)
            match = _REACTIONS.match(rest)
            if match:
                return Response(200, json_body(reactions(int(match.group(1)))))
        except BadRequest as exc:
            return error_response(400, str(exc))
        return error_response(404, "Not Found")


def _paged(
    items: Sequence[t.Any], query: dict, default_per_page: int, page_url: str, build: Callable[[t.Any], dict] = dict
) -> Response:
    page = int_param(query, "page", 1, 1)
    per_page = int_param(query, "per_page", default_per_page, 1)
    chunk = [build(item) for item in items[(page - 1) * per_page : page * per_page]]
    headers: tuple[tuple[str, str], ...] = ()
    if page * per_page < len(items):
        params = {k: v[-1] for k, v in query.items() if k not in ("page", "access_token")}
        headers = (("Link", f'<{page_url}?{urlencode({**params, "page": page + 1})}>; rel="next"'),)
    return Response(200, json_body(chunk), headers=headers)
