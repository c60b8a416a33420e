"""Moving out and back: the full export document, restore, and online SQLite backups."""
