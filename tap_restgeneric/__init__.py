"""tap-restgeneric: a Singer tap for REST APIs described in dlt's rest_api_source dialect."""
