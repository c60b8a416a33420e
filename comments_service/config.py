"""Settings: every knob of the service, read once from COMMENTS_* environment variables."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from comments_service.i18n import N_

# A catalogue message (N_): the packaged text reads in the service's language.
DEFAULT_CRISIS_MESSAGE = N_(
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
    stale_if_error_seconds: float = Field(
        300.0,
        description="While the database is unreachable, a comment thread a worker has cached "
        "is still served for this many seconds after it was last known current; then 503.",
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
    site_name: str = Field(
        "Open Minds Library",
        description="The site's name (mkdocs.yml site_name), in the header of the service's "
        "no-JavaScript pages, linking to site_url.",
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
    rate_limit_count: int = Field(
        5, ge=1, description="Comments allowed per address and email together in the window.")
    rate_limit_address_count: int = Field(
        30, ge=1, description="Comments allowed per address in the window, whatever the email "
        "(higher, for readers sharing one address: a clinic, a library).")
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
    spam_min_decisions: int = Field(
        30, ge=1, description="The local spam classifier stays silent until staff have "
        "approved at least this many comments and marked this many spam or rejected them.")
    spam_threshold: float = Field(
        0.9, gt=0, le=1, description="Pending comments scoring at least this (0-1) are listed "
        "under Likely spam in the queue; never deleted or marked automatically.")
    trusted_after: int = Field(
        0, ge=0, description="Publish a commenter's comments at once after this many of their "
        "comments were approved and none rejected or marked spam (by email); urgent, blocked "
        "and likely-spam ones still wait. 0 turns it off.")
    max_body_bytes: int = Field(
        65536, description="Largest request body accepted on comment posts (413 above)."
    )
    urgent_terms: CommaList = Field(
        default_factory=list,
        description="Phrases that flag a comment as urgent besides the built-in crisis detector "
        "(case and accent blind); 'plans_means:phrase' files one under a category.",
    )
    urgent_terms_removed: CommaList = Field(
        default_factory=list,
        description="Built-in detector phrases that no longer flag a comment, by their text; "
        "'category:*' turns a whole category off.",
    )
    crisis_message: str = Field(
        DEFAULT_CRISIS_MESSAGE,
        description="Shown at once to a reader whose comment was flagged urgent.",
    )
    crisis_resources: str = Field(
        "",
        description="Crisis lines shown beside the form, in the urgent alert and while "
        "paused: a YAML or JSON file path, or inline JSON. Empty uses the packaged fictional "
        "sample, which operators must replace with real services for their region.",
    )
    crisis_region: str = Field(
        "",
        description="Language or region tag (e.g. en-GB) choosing the crisis resources list: "
        "exact tag, then its language, then the file's default_region (also when empty).",
    )
    language: str = Field(
        "",
        description="Language of the staff pages, the service's own pages and every mail "
        "(e.g. es, pt-BR). Empty: the built site's <html lang> (Material's theme.language), "
        "else en. Set it to the site's theme.language.",
    )
    staffed_hours: str = Field(
        "",
        description="When the team reads comments, e.g. Mon-Fri 09:00-17:00, Sat 10:00-13:00. "
        "Empty: always staffed (no off-hours notice, no on-call mail).",
    )
    staffed_timezone: str = Field(
        "UTC", description="IANA time zone of staffed_hours, e.g. Europe/London."
    )
    oncall_email: str = Field(
        "",
        description="Address mailed at once about an urgent comment posted outside staffed "
        "hours (a link into the staff queue only). Empty: no on-call mail.",
    )
    report_rate_limit_count: int = Field(
        5, description="Reports of comments allowed per IP in the report window.")
    report_rate_limit_window_seconds: int = Field(
        3600, description="Window for counting reports per IP, in seconds.")
    report_hide: bool = Field(
        False,
        description="Take a published comment off the page pending review when a reader "
        "reports it as harmful or unsafe, or when report_hide_threshold readers report it.",
    )
    report_hide_threshold: int = Field(
        3, ge=1, description="Open reports that hide a comment pending review (with "
        "report_hide on).")
    close_after_days: int = Field(
        0, ge=0,
        description="Close an article's comments this many days after its last update (its "
        "updated date): the API, the no-JavaScript form and the baked page. 0: never.",
    )
    read_only: bool = Field(
        False,
        description="Close every comment form site-wide with a neutral notice (no crisis "
        "resources, unlike the pause); comments stay visible and staff can still moderate.",
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
    mail_retry_hours: float = Field(
        72.0,
        description="A mail the server will not take yet is retried (at most hourly) for this "
        "many hours after it was queued, then marked failed; permanent refusals fail at once.",
    )
    webhooks: str = Field(
        "",
        description="Endpoints told about moderation events (comment pending, urgent, "
        "approved, reader report): inline JSON or a YAML or JSON file path, a list of "
        "{name, url, format: slack|matrix|json, secret, events}. Sent through the outbox "
        "with the mail's retries. Empty: none.",
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
    page_size: int = Field(
        50, ge=1, le=1000, description="Top-level comments (each with all its replies) per "
        "page: baked into the article, per API page and per page of the full thread.")
    static_threads: bool = Field(
        True,
        description="The bake also writes each article's thread JSON (the API's bytes) and "
        "the counts to {site_dir}/comments-data/, which pages read from the static host "
        "before asking the API. Off: the bake removes those files and pages use the API.",
    )
    migrate_on_start: bool = Field(
        True,
        description="Run migrations when the app starts. `comments-service serve` migrates "
        "once itself and turns this off for its workers.",
    )
    serve_site: bool | None = Field(
        None, description="Serve site_dir at /. Default: on in development, off in production."
    )

    @field_validator("allowed_origins", "trusted_proxies", "urgent_terms", "urgent_terms_removed",
                     "moderator_emails", mode="before")
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
