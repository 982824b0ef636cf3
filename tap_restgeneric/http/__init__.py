"""The HTTP side of a stream: sending requests, retries, auth, paging and record selection."""
