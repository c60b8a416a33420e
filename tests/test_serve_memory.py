"""What a serving process leaves out to stay small (benchmarks/README.md, "Lean at every
scale"): the app it builds answers as usual, and stores a reader's email encrypted,
without pydantic's v1 package or the ``cryptography`` package loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from service_support import OPEN, payload, service_env, with_docs

from comments_service.config import Settings

# Runs in a fresh interpreter: the test session itself has long imported pydantic.v1.
SERVING_PROCESS = """
import json, sys
from fastapi.testclient import TestClient
from comments_service.web import serve

app = serve.single_app()
with TestClient(app) as client:
    thread = client.get("/api/articles/%(open)s/comments")
    refused = client.post("/api/articles/%(open)s/comments", json=%(bad)s)
    accepted = client.post("/api/articles/%(open)s/comments", json=%(good)s)
print(json.dumps({
    "v1_loaded": sys.modules.get("pydantic.v1") is not None,
    "cryptography_loaded": "cryptography" in sys.modules,
    "thread": [thread.status_code, thread.json()],
    "refused": [refused.status_code, refused.json()],
    "accepted": accepted.status_code,
}))
"""


def test_a_serving_process_answers_without_pydantic_v1_or_cryptography(settings: Settings,
                                                       tmp_path: Path) -> None:
    env = service_env(with_docs(settings, tmp_path), COMMENTS_MIN_SUBMIT_SECONDS="0")
    script = SERVING_PROCESS % {
        "open": OPEN,
        "bad": repr(payload(parent_id="not a number")),
        "good": repr(payload()),
    }
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])

    assert seen["v1_loaded"] is False
    # The accepted post's email was sealed through the process's own libcrypto.
    assert seen["cryptography_loaded"] is False
    assert seen["thread"] == [200, {"article_id": OPEN, "count": 0, "comments": []}]
    # Validation still answers with the service's own error shape, field by field.
    status, body = seen["refused"]
    assert status == 422
    assert "parent_id" in body["errors"]
    assert seen["accepted"] == 202
