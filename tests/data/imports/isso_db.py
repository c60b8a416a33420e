"""Build a fictional Isso comments database with Isso's own schema, for the import tests.

The CREATE statements are those Isso itself runs (isso/db/comments.py, threads.py and
preferences.py), so the importer reads exactly what an Isso installation leaves behind.
Run it as a script to write one for trying the importer by hand:

    .venv/bin/python tests/data/imports/isso_db.py /tmp/comments.db
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS preferences (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE TABLE IF NOT EXISTS threads ("
    "    id INTEGER PRIMARY KEY, uri VARCHAR(256) UNIQUE, title VARCHAR(256))",
    "CREATE TABLE IF NOT EXISTS comments ("
    "    tid REFERENCES threads(id), id INTEGER PRIMARY KEY, parent INTEGER,"
    "    created FLOAT NOT NULL, modified FLOAT, mode INTEGER, remote_addr VARCHAR,"
    "    text VARCHAR, author VARCHAR, email VARCHAR, website VARCHAR,"
    "    likes INTEGER DEFAULT 0, dislikes INTEGER DEFAULT 0, voters BLOB NOT NULL,"
    "    notification INTEGER NOT NULL DEFAULT 0)",
    "CREATE TRIGGER IF NOT EXISTS remove_stale_threads AFTER DELETE ON comments BEGIN"
    "    DELETE FROM threads WHERE id NOT IN (SELECT tid FROM comments); END",
]

THREADS = [
    (1, "/coping-with-worry/", "Coping with worry"),
    # No trailing slash, unlike the article's own address: must still match.
    (2, "/guides/sleep-and-mood", None),
    (3, "/old-page/", "A page that no longer exists"),
]

# (tid, id, parent, created, mode, remote_addr, text, author, email, website)
COMMENTS = [
    (1, 1, None, 1577880000.25, 1, "198.51.100.0",
     "Hello **world**.\n\nThe [worry guide](https://example.org/worry-guide) helped.\n"
     "> a quoted line\nmine",
     "Maya", "maya@example.org", "https://maya.example.org"),
    (1, 2, 1, 1577883600.0, 1, "203.0.113.0",
     "Thank you, Maya. <em>Take care.</em>", "Mira from the team", "mira@publisher.example",
     None),
    # Same name as the staff member, different address: a reader, not staff.
    (1, 3, 1, 1577887200.0, 1, "192.0.2.0", "I am not really Mira.", "Mira from the team",
     "impostor@example.com", None),
    (1, 4, None, 1577890800.0, 2, "203.0.113.0", "Waiting in the Isso queue.", "Tariq",
     "tariq@example.org", None),
    # Deleted by its author: Isso empties it and keeps it because of the reply below.
    (1, 5, None, 1577894400.0, 4, "203.0.113.0", "", None, None, None),
    (1, 6, 5, 1577898000.0, 1, "203.0.113.0", "Answering a deleted comment.", "Zoë",
     "zoe@example.org", None),
    (2, 7, None, 1577901600.5, 1, "", "Posted without a name or address.", None, None, None),
    (3, 8, None, 1577905200.0, 1, "192.0.2.0", "On a page we do not have.", "Ira",
     "ira@example.org", None),
]


def build(path: Path) -> Path:
    """Write the fictional Isso database to ``path`` (replacing any file there)."""
    path.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    try:
        for statement in SCHEMA:
            connection.execute(statement)
        connection.execute("PRAGMA user_version = 3")
        connection.execute("INSERT INTO preferences VALUES ('session-key', 'fictional')")
        connection.executemany("INSERT INTO threads (id, uri, title) VALUES (?, ?, ?)",
                               THREADS)
        connection.executemany(
            "INSERT INTO comments (tid, id, parent, created, modified, mode, remote_addr,"
            " text, author, email, website, voters, notification)"
            " VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, 0)",
            [(*row, b"\x00" * 256) for row in COMMENTS],
        )
        connection.commit()
    finally:
        connection.close()
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "isso-comments.db")
    print(f"wrote {build(target)}")
