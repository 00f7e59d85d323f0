"""Result records: the schema and the append-only store."""
