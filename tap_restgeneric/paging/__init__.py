"""Reading pages: response bodies decoded (JSON, JSON Lines, CSV, XML, gzip and zip payloads) into records."""
