"""Sending one request: credentials per origin, auth (OAuth2, session login, JWT), rate budgets, token store."""
