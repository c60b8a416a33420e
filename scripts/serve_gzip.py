"""Serve a built site on 127.0.0.1 with gzip, the way a static host would, for the checks.

Usage: python scripts/serve_gzip.py SITE_DIR [--port N] [--proxy http://127.0.0.1:M]
Port 0 (the default) picks a free one; the chosen address is printed as the first line of
output, "serving http://127.0.0.1:N/". With --proxy, a request for a path that is not a file
of the site (the comments API, the form post, staff pages) is passed to the comments service
at that address, as a production host's reverse proxy would.

Text responses (HTML, CSS, JS, JSON, SVG, XML) are gzipped when the client accepts it, and
long-lived cache headers are sent for fingerprinted theme assets, as a production host
would: Lighthouse's performance score depends on both.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gzip
import http.client
import http.server
import io
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

COMPRESSIBLE = re.compile(r"^(text/|application/(javascript|json|xml|manifest\+json)|image/svg)")
FINGERPRINTED = re.compile(r"\.[0-9a-f]{8}\.min\.(js|css)$")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade", "host"}


class GzipHandler(http.server.SimpleHTTPRequestHandler):
    """SimpleHTTPRequestHandler that gzips text and sets cache headers."""

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "application/javascript",
        ".json": "application/json",
        ".svg": "image/svg+xml",
        ".xml": "application/xml",
    }

    proxy: str = ""  # the comments service, e.g. http://127.0.0.1:8001

    def do_GET(self) -> None:
        if self._wants_proxy():
            self._forward()
        else:
            super().do_GET()

    def do_HEAD(self) -> None:
        if self._wants_proxy():
            self._forward()
        else:
            super().do_HEAD()

    def do_POST(self) -> None:
        if self.proxy:
            self._forward()
        else:
            self.send_error(405)

    def _wants_proxy(self) -> bool:
        return bool(self.proxy) and not os.path.exists(self.translate_path(self.path))

    def _forward(self) -> None:
        target = urlsplit(self.proxy)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            upstream = conn.getresponse()
            payload = upstream.read()
            self.send_response(upstream.status, upstream.reason)
            for key, value in upstream.getheaders():
                if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except OSError as exc:
            self.send_error(502, f"comments service unreachable: {exc}")
        finally:
            conn.close()

    def send_head(self):  # type: ignore[override]
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            if not self.path.split("?", 1)[0].endswith("/"):
                return super().send_head()  # the stock handler redirects to the slash URL
            path = os.path.join(path, "index.html")
        ctype = self.guess_type(path)
        accepts = "gzip" in self.headers.get("Accept-Encoding", "")
        if not os.path.isfile(path) or not accepts or not COMPRESSIBLE.match(ctype):
            return super().send_head()
        body = gzip.compress(Path(path).read_bytes(), compresslevel=6)
        self.send_response(200)
        charset = "; charset=utf-8" if ctype.startswith("text/") else ""
        self.send_header("Content-Type", ctype + charset)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(len(body)))
        self._cache_header(path)
        self.end_headers()
        return io.BytesIO(body)

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def _cache_header(self, path: str) -> None:
        if FINGERPRINTED.search(path):
            self.send_header("Cache-Control", "public, max-age=31536000, immutable")
        else:
            self.send_header("Cache-Control", "public, max-age=600")

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the checks' output readable


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site_dir", type=Path)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--proxy", default="", help="comments service for non-file paths")
    args = parser.parse_args()
    if not (args.site_dir / "index.html").is_file():
        print(f"serve_gzip: {args.site_dir} has no index.html; build the site first",
              file=sys.stderr)
        return 2
    GzipHandler.proxy = args.proxy.rstrip("/")
    handler = functools.partial(GzipHandler, directory=str(args.site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    print(f"serving http://127.0.0.1:{server.server_address[1]}/", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
