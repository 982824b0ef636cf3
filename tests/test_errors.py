"""How an error about a stream reads, made in one place."""

from __future__ import annotations

from tap_restgeneric.errors import StreamError, Subject, stream_line


def test_a_stream_error_names_its_stream_and_the_parent_record_it_was_read_for():
    error = StreamError("HTTP 404 Not Found from https://api.example.com/x", stream="comments")
    assert str(error) == "stream 'comments': HTTP 404 Not Found from https://api.example.com/x"
    named = StreamError(error.message, stream="comments", context=" (for the 'issues' record with number=3)")
    assert (
        str(named)
        == "stream 'comments' (for the 'issues' record with number=3): HTTP 404 Not Found from https://api.example.com/x"
    )
    assert (named.stream, named.context, named.message) == ("comments", " (for the 'issues' record with number=3)", error.message)


def test_an_error_about_something_else_says_what_it_is_about():
    token = Subject(other="OAuth2 token request to https://auth.example.com/token")
    assert (
        str(token.error("HTTP 401 Unauthorized"))
        == "OAuth2 token request to https://auth.example.com/token: HTTP 401 Unauthorized"
    )
    assert (
        Subject(stream="items").line("3 records so far")
        == stream_line("items", "3 records so far")
        == "stream 'items': 3 records so far"
    )
