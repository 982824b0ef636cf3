"""target-duckdb-exact: a Singer DuckDB loader that loads exactly the records it reads."""
