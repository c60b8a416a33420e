"""Installing, starting and seeding the servers under test: ours, Isso and nginx."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from . import corpus, procs

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
BENCH_DIR = Path(__file__).resolve().parents[1]
ISSO_VERSION = "0.14.0"


@dataclass
class Workspace:
    """Where one run keeps its files, and every process it started (stopped at the end)."""

    root: Path
    cache: Path
    started: list[procs.Managed] = field(default_factory=list)

    @property
    def logs(self) -> Path:
        path = self.root / "logs"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def start(self, name: str, argv: list[str], **kwargs) -> procs.Managed:  # type: ignore[no-untyped-def]
        managed = procs.start(name, argv, self.logs, **kwargs)
        self.started.append(managed)
        return managed

    def stop(self, managed: procs.Managed) -> None:
        procs.stop(managed)
        if managed in self.started:
            self.started.remove(managed)

    def stop_all(self) -> None:
        for managed in reversed(list(self.started)):
            try:
                procs.stop(managed)
            except Exception as exc:  # keep stopping the others
                print(f"could not stop {managed.name} (pid {managed.pid}): {exc}",
                      file=sys.stderr)
        self.started.clear()


# Installing -----------------------------------------------------------------------------

def ensure_debian_tools() -> None:
    """wrk and nginx from Debian when they are missing."""
    missing = [pkg for pkg, binary in (("wrk", "wrk"), ("nginx-light", "nginx"))
               if shutil.which(binary) is None and not Path(f"/usr/sbin/{binary}").exists()]
    if not missing:
        return
    print(f"installing {', '.join(missing)} with apt-get ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def nginx_binary() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def ensure_isso(cache: Path) -> Path:
    """Isso 0.14.0 and gunicorn in their own virtual environment; returns its bin folder."""
    venv = cache / f"isso-{ISSO_VERSION}-venv"
    bin_dir = venv / "bin"
    marker = venv / ".installed"
    if marker.exists():
        return bin_dir
    print(f"installing Isso {ISSO_VERSION} and gunicorn into {venv} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(bin_dir / "pip"), "install", "-q", f"isso=={ISSO_VERSION}", "gunicorn"],
                   check=True)
    marker.write_text(ISSO_VERSION)
    return bin_dir


def ensure_extra(cache: Path, name: str, package: str) -> Path | None:
    """A PyPI package installed with --target (kept out of the project's venv), or None."""
    target = cache / name
    if (target / ".installed").exists():
        return target
    print(f"installing {package} into {target} ...", flush=True)
    done = subprocess.run([str(VENV_BIN / "pip"), "install", "-q", "--target", str(target),
                           package], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"  {package} is not available: {done.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    (target / ".installed").write_text(package)
    return target


# HTTP helpers ---------------------------------------------------------------------------

def http(method: str, url: str, body: object | None = None, headers: dict[str, str] | None = None,
         opener: urllib.request.OpenerDirector | None = None, form: dict[str, str] | None = None,
         ) -> tuple[int, dict[str, str], bytes]:
    """One request; returns (status, headers, body) for any status."""
    data = None
    all_headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    open_ = opener.open if opener else urllib.request.urlopen
    try:
        with open_(request, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


# nginx ----------------------------------------------------------------------------------

NGINX_CONF = """\
# Benchmark nginx: static files from {root}, 2 workers (one per core), no access log.
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
daemon off;
user root;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    types {{
        text/html html;
        text/css css;
        application/javascript js;
        application/json json;
    }}
    default_type application/octet-stream;
    etag on;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
"""

NGINX_SETTINGS = ("nginx 1.22 (Debian), worker_processes 2, keepalive_requests 1000000, "
                  "sendfile on, access_log off, static JSON file")


def start_nginx(ws: Workspace, root: Path) -> tuple[procs.Managed, int]:
    port = procs.free_port()
    prefix = ws.root / "nginx"
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(root=root, prefix=prefix, port=port))
    managed = ws.start("nginx", [nginx_binary(), "-p", str(prefix), "-c", str(conf),
                                 "-e", str(prefix / "error.log")],
                       settings=NGINX_SETTINGS)
    procs.wait_http(f"http://127.0.0.1:{port}/index.html", managed)
    return managed, port


# Ours -----------------------------------------------------------------------------------

@dataclass
class OursConfig:
    """The environment one instance of our service runs with."""

    env: dict[str, str]
    label: str

    def settings(self):  # type: ignore[no-untyped-def]
        """Our Settings object as the service builds it from the same environment."""
        from comments_service.config import Settings

        saved = dict(os.environ)
        try:
            os.environ.update(self.env)
            return Settings()
        finally:
            os.environ.clear()
            os.environ.update(saved)


def ours_config(ws: Workspace, database_url: str, docs_dir: Path, site_dir: Path,
                label: str) -> OursConfig:
    var_dir = ws.root / "var"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = {
        "COMMENTS_MODE": "production",
        "COMMENTS_SECRET_KEY": secrets.token_urlsafe(48),
        "COMMENTS_DATABASE_URL": database_url,
        "COMMENTS_DOCS_DIR": str(docs_dir),
        "COMMENTS_SITE_DIR": str(site_dir),
        "COMMENTS_VAR_DIR": str(var_dir),
        "COMMENTS_SITE_URL": "http://127.0.0.1:9/",
        # wrk plays a reverse proxy that names a different reader per post (X-Forwarded-For,
        # see lua/post_comment.lua); the limit is raised as well, so that no pass meets 429.
        "COMMENTS_TRUSTED_PROXIES": "127.0.0.1",
        "COMMENTS_RATE_LIMIT_COUNT": "1000000000",
        "COMMENTS_RATE_LIMIT_ADDRESS_COUNT": "1000000000",
        # The benchmark measures the API; the re-bake worker would touch a copy of the site.
        "COMMENTS_BAKE_DEBOUNCE_SECONDS": "1",
    }
    return OursConfig(env=env, label=label)


def ours_env(config: OursConfig) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTS_")}
    env.update(config.env)
    return env


def migrate_ours(ws: Workspace, config: OursConfig) -> None:
    done = subprocess.run([str(VENV_BIN / "comments-service"), "migrate"], env=ours_env(config),
                          capture_output=True, text=True, check=False, cwd=ws.root)
    if done.returncode != 0:
        raise RuntimeError(f"comments-service migrate failed:\n{done.stdout}\n{done.stderr}")


SERVER_KINDS = ("serve", "uvicorn", "uvicorn-fd", "gunicorn-uvicorn", "gunicorn-preload",
                "probe", "probe-granian")


def start_ours(ws: Workspace, config: OursConfig, workers: int, name: str,
               kind: str = "serve", extra_path: Path | None = None) -> tuple[procs.Managed, int]:
    """Start our service; kind "serve" is the product's own `comments-service serve`.

    The other kinds run the same app factory under another server; extra_path is where
    gunicorn was installed (benchmarks/.cache). The database is already migrated, so they
    skip migrations in each worker as `serve` does, and compare like with like.
    """
    port = procs.free_port()
    env = ours_env(config)
    factory = "comments_service.web.app:app_from_env"
    pythonpath: list[str] = []
    if kind != "serve":
        env["COMMENTS_MIGRATE_ON_START"] = "false"
    if kind.startswith("gunicorn"):
        if extra_path is None:
            raise RuntimeError("gunicorn is not installed")
        pythonpath.append(str(extra_path))
    if kind == "serve":
        argv = [str(VENV_BIN / "comments-service"), "serve", "--host", "127.0.0.1",
                "--port", str(port), "--workers", str(workers)]
        settings = (f"comments-service serve --workers {workers} (granian, uvloop, "
                    + ("one process serving the app itself)" if workers == 1 else
                       "supervisor without the app)"))
    elif kind == "uvicorn":
        argv = [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
                "--port", str(port), "--workers", str(workers), "--loop", "uvloop",
                "--http", "httptools", "--no-access-log", "--log-level", "warning"]
        settings = (f"uvicorn --workers {workers} --loop uvloop --http httptools (spawned "
                    "workers, multiprocessing resource tracker)")
    elif kind == "uvicorn-fd":
        # Not the product: the smallest uvicorn tree (stdlib supervisor, `uvicorn --fd`).
        pythonpath.append(str(BENCH_DIR))
        argv = [sys.executable, "-m", "benchlib.uvicorn_fd", str(port), str(workers)]
        settings = (f"{workers} x uvicorn --fd (uvloop, httptools) under a stdlib supervisor "
                    "(benchlib/uvicorn_fd.py)")
    elif kind == "gunicorn-uvicorn":
        argv = [sys.executable, "-m", "gunicorn", f"{factory}()", "-b",
                f"127.0.0.1:{port}", "-w", str(workers), "-k", "uvicorn.workers.UvicornWorker",
                "--log-level", "warning"]
        settings = f"gunicorn -w {workers} -k uvicorn.workers.UvicornWorker (uvloop, httptools)"
    elif kind == "gunicorn-preload":
        pythonpath.append(str(BENCH_DIR))
        argv = [sys.executable, "-m", "gunicorn", f"{factory}()", "-b",
                f"127.0.0.1:{port}", "-w", str(workers), "-k", "uvicorn.workers.UvicornWorker",
                "--log-level", "warning", "-c", "python:benchlib.gunicorn_preload"]
        settings = (f"gunicorn --preload -w {workers} -k uvicorn.workers.UvicornWorker, "
                    "gc.freeze() before fork (benchmarks/benchlib/gunicorn_preload.py)")
    elif kind == "probe-granian":
        pythonpath.append(str(BENCH_DIR))
        argv = [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
                "--port", str(port), "--workers", str(workers), "--loop", "uvloop",
                "--no-access-log", "--log-level", "warning", "--factory",
                "benchlib.fastpath_probe:app_from_env"]
        settings = (f"granian --interface asgi --workers {workers} --loop uvloop + probe "
                    "(benchlib/fastpath_probe.py)")
    elif kind == "probe":
        # Not the product: the same app with the thread read answered in raw ASGI.
        pythonpath.append(str(BENCH_DIR))
        argv = [sys.executable, "-m", "uvicorn", "--factory",
                "benchlib.fastpath_probe:app_from_env", "--host", "127.0.0.1",
                "--port", str(port), "--workers", str(workers), "--loop", "uvloop",
                "--http", "httptools", "--no-access-log", "--log-level", "warning"]
        settings = (f"uvicorn --workers {workers} (uvloop, httptools) + probe: raw-ASGI thread "
                    "read and per-process SQLite write lock (benchlib/fastpath_probe.py)")
    else:
        raise ValueError(kind)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(pythonpath)
    managed = ws.start(name, argv, env=env, cwd=ws.root,
                       settings=f"{settings}; {config.label}")
    # Each worker reads every article's front matter at start: slow with 1,000 articles.
    procs.wait_http(f"http://127.0.0.1:{port}/healthz", managed, timeout=240)
    procs.wait_workers(managed, workers + 1)
    return managed, port


def start_floor(ws: Workspace, layer: str) -> tuple[procs.Managed, int]:
    """Serve one of benchlib/stack_floor.py's apps as `comments-service serve` serves ours."""
    port = procs.free_port()
    argv = [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
            "--port", str(port), "--workers", "2", "--loop", "uvloop", "--http", "1",
            "--no-ws", "--no-access-log", "--log-level", "warning", "--factory",
            f"benchlib.stack_floor:{layer}"]
    env = {**os.environ, "PYTHONPATH": str(BENCH_DIR)}
    managed = ws.start(f"floor-{layer}", argv, env=env, cwd=ws.root,
                       settings=f"granian --workers 2 --loop uvloop --http 1 "
                       f"benchlib.stack_floor:{layer}")
    procs.wait_http(f"http://127.0.0.1:{port}/", managed, timeout=60)
    procs.wait_workers(managed, 3)
    return managed, port


def seed_ours(base: str, config: OursConfig, article_ids: list[str]) -> dict[str, list[int]]:
    """Post the thread through the API, then approve with the moderation verb.

    Returns each article's approved comment ids. Replies are posted after their parents are
    approved, since the API only accepts replies to public comments.
    """
    thread = corpus.thread()
    posted: dict[str, list[int]] = {}

    def post(article_id: str, comment: corpus.SeedComment, parent_id: int | None) -> int:
        status, _, body = http("POST", f"{base}/api/articles/{article_id}/comments", {
            "author": comment.author, "email": comment.email, "body": comment.body,
            "parent_id": parent_id, "notify": False, "accept_terms": True, "website": "",
        })
        if status != 202:
            raise RuntimeError(f"seeding ours: POST answered {status}: {body[:300]!r}")
        return int(json.loads(body)["id"])

    main_id = article_ids[0]
    top = [post(main_id, c, None) for c in thread if c.parent is None]
    approve_ours(config, top)
    replies = [post(main_id, c, top[c.parent]) for c in thread if c.parent is not None]
    approve_ours(config, replies)
    posted[main_id] = top + replies
    for index, other in enumerate(article_ids[1:], start=2):
        ids = [post(other, c, None) for c in corpus.small_thread(index)]
        approve_ours(config, ids)
        posted[other] = ids
    return posted


def approve_ours(config: OursConfig, comment_ids: list[int]) -> None:
    """Approve with the same verb the staff pages and CLI use (one transaction)."""
    from comments_service.store.database import Database
    from comments_service.verbs.keyring import Keyring
    from comments_service.verbs.moderation import Actor, Moderation

    settings = config.settings()
    database = Database(settings)
    try:
        Moderation(database, Keyring(settings.secret())).bulk(
            "approve", comment_ids, Actor.operator("benchmark"))
    finally:
        database.dispose()
