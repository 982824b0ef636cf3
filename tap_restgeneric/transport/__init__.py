"""Sending one request: origin and credentials per origin, redirects, deadlines, bounded bodies, the retry
policy, the rate limiter and rate budgets, the auth types (OAuth2, session login, JWT, selective) with the
token store, and recording/replay."""
