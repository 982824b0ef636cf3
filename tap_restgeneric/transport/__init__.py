"""Sending one request: origin and credentials per origin, redirects, deadlines, bounded bodies, the retry
policy, the rate limiter, the auth types and recording/replay."""
