"""Blocklists set by admins: addresses, email domains, networks and phrases, and what each does.

Every block has an action: ``hold`` (the comment waits in the queue with a note naming the
rule), ``spam`` (stored as spam, no moderator mail) or ``refuse`` (422 with a neutral
sentence that does not say a block exists). Addresses are stored as keyed hashes (as
comments store them); networks as a keyed hash of the network at its own prefix length,
so the table holds no readable IP address. Adding and removing a block is audited.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from comments_service.i18n import N_, Term
from comments_service.store.database import Database
from comments_service.store.ids import storable_id
from comments_service.store.models import Block, utcnow
from comments_service.verbs.audit import Actor, AuditLog, ModerationError, NotFound
from comments_service.verbs.failed_mail import mask_address
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.urgency import fold

KINDS = ("email", "domain", "network", "phrase")
ACTIONS = ("hold", "spam", "refuse")
ACTION_WORDS = {"hold": "held for a moderator", "spam": "stored as spam",
                "refuse": "refused with a neutral message"}
# The strongest action wins when several blocks match one comment.
_STRENGTH = {"hold": 0, "spam": 1, "refuse": 2}
MAX_PHRASE = 100
MAX_NOTE = 200
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


@dataclass(frozen=True)
class Match:
    """The block a comment matched, and the note staff see in the queue."""

    block_id: int
    kind: str
    label: str
    action: str

    @property
    def note(self) -> str:
        return f"Blocklist #{self.block_id} ({self.kind} {self.label}): {ACTION_WORDS[self.action]}"


def _network_value(keyring: Keyring, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    # The prefix length stays readable so a match knows which prefixes of a client to hash.
    key = f"{network.version}/{network.prefixlen}:{network.network_address.compressed}"
    return f"{network.version}/{network.prefixlen}:{keyring.ip_hash(key)}"


def normalise(keyring: Keyring, kind: str, raw: str) -> tuple[str, str]:
    """The stored value and the label staff see for a new block; ModerationError("value")."""
    text = raw.strip()
    if kind not in KINDS:
        raise ModerationError("kind", N_("must be one of %(choices)s"), choices=", ".join(KINDS))
    if not text:
        raise ModerationError("value", N_("must not be empty"))
    if kind == "email":
        try:
            address = validate_email(text, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ModerationError("value", N_("is not an email address (%(why)s)"),
                                  why=str(exc)) from None
        return keyring.email_hash(address), mask_address(address.lower())
    if kind == "domain":
        domain = text.lower().lstrip("@").rstrip(".")
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise ModerationError("value",
                                  N_("is not a domain name such as example.net")) from None
        if not _DOMAIN.match(domain):
            raise ModerationError("value", N_("is not a domain name such as example.net"))
        return domain, domain
    if kind == "network":
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ModerationError("value", N_("is not an IP address or network such as "
                                              "192.0.2.0/24 or 2001:db8::/64")) from None
        return (_network_value(keyring, network),
                f"an IPv{network.version} /{network.prefixlen} network")
    phrase = " ".join(fold(text).split())
    if len(phrase) > MAX_PHRASE:
        raise ModerationError("value", N_("must be at most %(max)d characters"), max=MAX_PHRASE)
    return phrase, f"'{phrase}'"


class Blocklist(AuditLog):
    """The blocklist verbs over one database; changes are for admins and audited."""

    def __init__(self, database: Database, keyring: Keyring) -> None:
        self.database = database
        self.keyring = keyring

    def all(self) -> list[Block]:
        """Every block, newest first."""
        with self.database.read() as session:
            return list(session.scalars(select(Block).order_by(Block.id.desc())))

    def add(self, actor: Actor, kind: str, value: str, action: str, note: str = "") -> Block:
        """Add a block; ModerationError names the field at fault (a repeat is refused too)."""
        self._require_admin(actor)
        if action not in ACTIONS:
            raise ModerationError("action", N_("must be one of %(choices)s"),
                                  choices=", ".join(ACTIONS))
        note = " ".join(note.split())
        if len(note) > MAX_NOTE:
            raise ModerationError("note", N_("must be at most %(max)d characters"), max=MAX_NOTE)
        stored, label = normalise(self.keyring, kind, value)
        with self.database.write() as session:
            if session.scalar(select(Block.id).where(Block.kind == kind, Block.value == stored)):
                raise ModerationError("value", N_("that %(kind)s is already blocked"),
                                      kind=Term(kind))
            block = Block(kind=kind, value=stored, label=label, action=action, note=note,
                          created_by=actor.label, created_at=utcnow())
            session.add(block)
            session.flush()
            self._audit(session, actor, "block_add", None, "",
                        f"#{block.id} {kind} {label}: {action}" + (f" ({note})" if note else ""))
        return block

    def remove(self, actor: Actor, block_id: int) -> Block:
        """Remove a block; NotFound when there is none with that id."""
        self._require_admin(actor)
        with self.database.write() as session:
            block = session.get(Block, block_id) if storable_id(block_id) else None
            if block is None:
                raise NotFound(f"no block with id {block_id}")
            session.delete(block)
            self._audit(session, actor, "block_remove", None,
                        f"#{block.id} {block.kind} {block.label}: {block.action}", "")
        return block


@dataclass(frozen=True)
class Rule:
    """A block as matching needs it: plain values, so a process can keep them between posts
    (verbs/post_reads.py) without holding ORM rows from a closed session."""

    id: int
    kind: str
    value: str
    label: str
    action: str


# The columns of a Rule, in its order: what post_reads selects when it reloads the rules.
RULE_COLUMNS = (Block.id, Block.kind, Block.value, Block.label, Block.action)


def rules_in(session: Session) -> tuple[Rule, ...]:
    """Every block as a Rule, read in the caller's session."""
    return tuple(Rule(*row) for row in session.execute(select(*RULE_COLUMNS)))


def match_rules(blocks: tuple[Rule, ...], keyring: Keyring, email: str, client_ip: str,
                author: str, body: str) -> Match | None:
    """The strongest of ``blocks`` a new comment matches, or None."""
    if not blocks:
        return None
    found: list[Rule] = []
    email_hash = keyring.email_hash(email) if email else ""
    domain = email.rpartition("@")[2].lower()
    network_values = _client_networks(keyring, client_ip, {
        b.value.partition(":")[0] for b in blocks if b.kind == "network"})
    text = fold(f"{author}\n{body}")
    for block in blocks:
        if block.kind == "email":
            hit = bool(email_hash) and block.value == email_hash
        elif block.kind == "domain":
            hit = bool(domain) and (domain == block.value or domain.endswith(f".{block.value}"))
        elif block.kind == "network":
            hit = block.value in network_values
        else:
            hit = _phrase_pattern(block.value).search(text) is not None
        if hit:
            found.append(block)
    if not found:
        return None
    strongest = max(found, key=lambda b: (_STRENGTH.get(b.action, 0), -b.id))
    return Match(strongest.id, strongest.kind, strongest.label, strongest.action)


def _client_networks(keyring: Keyring, client_ip: str, prefixes: set[str]) -> set[str]:
    """The stored values the client's address would match, one per prefix length in use."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return set()
    values = set()
    for prefix in prefixes:
        version, _, length = prefix.partition("/")
        if not length.isdigit() or version != str(address.version):
            continue
        network = ipaddress.ip_network(f"{address}/{length}", strict=False)
        values.add(_network_value(keyring, network))
    return values


@lru_cache(maxsize=512)
def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in re.split(r"[\s-]+", phrase) if w]
    return re.compile(r"(?<!\w)" + r"[\s-]+".join(words) + r"(?!\w)")
