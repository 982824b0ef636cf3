"""From a request to records: the ``Page`` everything passes around, request building, reading a response
(response actions, selectors, decoders: JSON, JSON Lines, CSV, XML, gzip and zip payloads), the paginators and
the page loop with its look-ahead."""
