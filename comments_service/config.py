"""Settings: every knob of the service, read once from COMMENTS_* environment variables."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_URGENT_TERMS = [
    "suicide",
    "suicidal",
    "kill myself",
    "killing myself",
    "end my life",
    "ending my life",
    "take my own life",
    "want to die",
    "better off dead",
    "self-harm",
    "self harm",
    "hurt myself",
    "hurting myself",
    "cutting myself",
    "overdose",
    "no reason to live",
    "can't go on",
    "cannot go on",
    "crisis",
]

DEFAULT_CRISIS_MESSAGE = (
    "If you are thinking about harming yourself or are in danger right now, please do not "
    "wait for a reply here: call your local emergency number, or contact a crisis line in "
    "your country. Comments are read by our team during office hours and can take a while "
    "to appear."
)

CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Configuration for the comments service, its CLI and its MkDocs plugin.

    Every field can be set with an environment variable named ``COMMENTS_`` plus the
    field name in capitals (for example ``COMMENTS_DATABASE_URL``). Lists are
    comma-separated.
    """

    model_config = SettingsConfigDict(env_prefix="COMMENTS_", extra="ignore")

    mode: Literal["development", "production"] = Field(
        "development",
        description="development generates and keeps a secret key under var/ and serves the "
        "built site; production refuses to start without COMMENTS_SECRET_KEY.",
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL. Empty means a SQLite file var/comments.db. PostgreSQL: "
        "postgresql+psycopg://user@host/db.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Secret for signing tokens, hashing IPs and emails, and encrypting "
        "emails at rest. At least 32 characters. Keep it stable: changing it makes stored "
        "emails unreadable.",
    )
    var_dir: Path = Field(Path("var"), description="Folder for the SQLite file and dev secret.")
    docs_dir: Path = Field(
        Path("docs"), description="MkDocs docs folder read for article metadata."
    )
    site_dir: Path = Field(
        Path("site"), description="Built site: baked, and served in development."
    )
    site_url: str = Field(
        "http://127.0.0.1:8000/",
        description="Public URL of the article site; return_to links must stay under it.",
    )
    allowed_origins: CommaList = Field(
        default_factory=list,
        description="Extra origins allowed by CORS (the site_url origin always is).",
    )
    trusted_proxies: CommaList = Field(
        default_factory=list,
        description="Peer IPs whose X-Forwarded-For header is believed (for example 127.0.0.1 "
        "behind a local reverse proxy).",
    )
    rate_limit_count: int = Field(5, description="Comments allowed per IP in the window.")
    rate_limit_window_seconds: int = Field(600, description="Rate limit window, in seconds.")
    min_submit_seconds: float = Field(
        3.0, description="Form posts sooner than this after the form was rendered are refused."
    )
    form_token_max_age_seconds: int = Field(
        14 * 24 * 3600,
        description="A no-JavaScript form's token is refused after this long; the reader then "
        "gets the form back with a fresh token and what they typed, and sends it again.",
    )
    max_links: int = Field(3, description="Most links a reader's comment may carry.")
    max_body_bytes: int = Field(
        65536, description="Largest request body accepted on comment posts (413 above)."
    )
    urgent_terms: CommaList = Field(
        default_factory=lambda: list(DEFAULT_URGENT_TERMS),
        description="Words and phrases that flag a comment as urgent (case and accent blind).",
    )
    crisis_message: str = Field(
        DEFAULT_CRISIS_MESSAGE,
        description="Shown at once to a reader whose comment was flagged urgent.",
    )
    ip_hash_retention_days: int = Field(30, description="IP hashes older than this are purged.")
    session_max_age_seconds: int = Field(8 * 3600, description="Staff session lifetime.")
    login_max_failures: int = Field(
        5, description="Failed sign-ins allowed per IP, and per IP on one account.")
    login_max_account_failures: int = Field(
        50, description="Failed sign-ins allowed per account from all IPs together.")
    login_window_seconds: int = Field(900, description="Window for counting failed sign-ins.")
    smtp_host: str = Field("", description="SMTP server; empty sends no mail at all.")
    smtp_port: int = Field(25, description="SMTP port.")
    smtp_username: str = Field("", description="SMTP user name, if the server wants one.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_starttls: bool = Field(False, description="Use STARTTLS on the SMTP connection.")
    mail_from: str = Field("comments@localhost", description="From address of every mail.")
    moderator_emails: CommaList = Field(
        default_factory=list, description="Addresses told about new pending comments."
    )
    digest_minutes: int = Field(10, description="Most minutes between moderator digests.")
    notify_interval_seconds: float = Field(
        15.0,
        description="How often the service's mail worker queues and sends mail; 0 turns the "
        "in-process worker off (then run `comments-service notify run-once` from cron).",
    )
    service_url: str = Field(
        "",
        description="Public URL of the service (for links in mail). Empty means site_url.",
    )
    publish_command: str = Field(
        "",
        description="Shell command run after a page is re-baked; {path} and {site_dir} are "
        "replaced. Example: rsync -a {site_dir}/ host:/srv/www/",
    )
    publish_webhook: str = Field("", description="URL POSTed to after a page is re-baked.")
    bake_debounce_seconds: float = Field(1.0, description="Wait before re-baking after a change.")
    nosnippet: bool = Field(True, description="Mark baked comments data-nosnippet.")
    migrate_on_start: bool = Field(
        True,
        description="Run migrations when the app starts. `comments-service serve` migrates "
        "once itself and turns this off for its workers.",
    )
    serve_site: bool | None = Field(
        None, description="Serve site_dir at /. Default: on in development, off in production."
    )

    @field_validator("allowed_origins", "trusted_proxies", "urgent_terms", "moderator_emails",
                     mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file under var_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'comments.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def public_service_url(self) -> str:
        return (self.service_url or self.site_url).rstrip("/")

    @property
    def should_serve_site(self) -> bool:
        if self.serve_site is not None:
            return self.serve_site
        return self.mode == "development"

    def secret(self) -> bytes:
        """The secret key bytes, creating a development key under var/ if needed.

        Raises RuntimeError in production mode without a configured key.
        """
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if len(value) < 32:
                raise RuntimeError("COMMENTS_SECRET_KEY must be at least 32 characters long")
            return value.encode()
        if self.mode == "production":
            raise RuntimeError(
                "COMMENTS_SECRET_KEY is not set: production mode refuses to start without it"
            )
        path = self.var_dir / "secret_key"
        if not path.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip().encode()
