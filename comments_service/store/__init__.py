"""The storage layer: engine and transactions, tables, migrations, thread versions."""
