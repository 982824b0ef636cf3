"""What the tap writes: Singer messages on stdout (``writer``), the per-schema conformance
check that lets most records skip the SDK's conformance pass (``conformance``), and the
redaction of secrets in everything written (``redact``)."""
