"""Translations: complete catalogues, plurals, a Spanish site, Spanish staff pages and mail,
and right-to-left pages."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup
from conftest import make_settings
from fastapi.testclient import TestClient
from service_support import app_client, post, with_docs
from site_support import copy_project, mkdocs_build, soup
from sqlalchemy import select
from staff_support import (  # noqa: F401 - fast_hashing is an autouse fixture
    ARTICLE,
    AuthActions,
    add_comment,
    fast_hashing,
    make_staff,
)

from comments_service import i18n
from comments_service.config import Settings
from comments_service.site import script_messages
from comments_service.site.bake import SiteBaker, count_text, display_time
from comments_service.store.database import Database
from comments_service.store.migrate import upgrade
from comments_service.store.models import CommentStatus, OutboxMail
from comments_service.verbs import outcome_mail
from comments_service.verbs.keyring import Keyring
from comments_service.verbs.notifications import Notifier
from comments_service.web.app import create_app

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "comments_service" / "site" / "static" / "comments.js"
SHIPPED = ("en", "es")


def _catalogue(language: str):  # type: ignore[no-untyped-def]
    po = i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as handle:
        return read_po(handle, locale=language)


def _extracted() -> set[tuple[str | None, str]]:
    """(context, message id) of every message the source uses, as Babel extracts them."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("catalogues", REPO / "scripts" / "catalogues.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    template = module.template()
    return {(m.context, m.id[0] if isinstance(m.id, tuple) else m.id) for m in template if m.id}


@pytest.mark.parametrize("language", SHIPPED)
def test_every_message_in_the_source_has_a_translation_and_none_is_fuzzy(language: str) -> None:
    catalogue = _catalogue(language)
    assert not catalogue.fuzzy, f"{language}: the catalogue header is marked fuzzy"
    translated = {}
    for message in catalogue:
        if not message.id:
            continue
        key = (message.context, message.id[0] if isinstance(message.id, tuple) else message.id)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert "fuzzy" not in message.flags, f"{language}: fuzzy entry {key}"
        translated[key] = all(forms)
    used = _extracted()
    assert len(used) > 100  # the extraction found the templates and Python files
    missing = sorted(str(k) for k in used if not translated.get(k))
    assert missing == [], f"{language} lacks translations for: {missing}"


def test_every_key_the_script_uses_is_in_its_catalogue() -> None:
    script = SCRIPT.read_text(encoding="utf-8")
    used = set(re.findall(r'\bt\("(\w+)"', script))
    for pair in re.findall(r'\bt\(\w+ \? "(\w+)" : "(\w+)"\)', script):
        used.update(pair)
    known = set(script_messages.MESSAGES) | set(script_messages.PLURALS)
    assert len(used) > 25
    assert used - known == set(), "comments.js uses keys with no message"
    # The Spanish block the page carries holds every key, with plural forms per category.
    spanish = script_messages.catalogue("es")
    assert spanish["sending"] == "Enviando tu comentario…"
    assert spanish["count"] == {"one": "{n} comentario", "other": "{n} comentarios"}


@pytest.mark.parametrize(("language", "counts"), [
    ("en", {0: "No comments yet.", 1: "1 comment", 2: "2 comments", 21: "21 comments"}),
    ("es", {0: "Todavía no hay comentarios.", 1: "1 comentario", 2: "2 comentarios",
            21: "21 comentarios"}),
])
def test_counts_take_the_plural_of_the_language(language: str, counts: dict[int, str]) -> None:
    assert {n: count_text(n, language) for n in counts} == counts


def test_dates_are_written_for_the_language_and_english_keeps_its_wording() -> None:
    assert display_time("2026-03-05T17:04:00Z") == "5 March 2026, 17:04 UTC"
    assert display_time("2026-03-05T17:04:00Z", "es") == "5 de marzo de 2026, 17:04 UTC"


def test_a_language_without_a_catalogue_falls_back_to_english_but_keeps_its_direction() -> None:
    assert i18n.Translator("ar").gettext("Post comment") == "Post comment"
    assert (i18n.direction("ar"), i18n.direction("he"), i18n.direction("es")) == \
        ("rtl", "rtl", "ltr")
    assert i18n.normalise("pt-BR") == "pt_BR"
    assert i18n.normalise("not a language") == "en"


def _spanish_project(tmp_path: Path) -> Path:
    project = copy_project(tmp_path / "project")
    config = project / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    assert "  language: en\n" in text
    config.write_text(text.replace("  language: en\n", "  language: es\n"), encoding="utf-8")
    return project


def test_a_spanish_site_bakes_its_form_thread_and_script_messages_in_spanish(
        tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    database = Database(Settings(var_dir=var_dir))
    upgrade(database)
    try:
        first = add_comment(database, author="Lucía", body="Me ayudó mucho.",
                            status=CommentStatus.APPROVED)
        add_comment(database, author="Bo", body="A mí también.", parent_id=first,
                    status=CommentStatus.APPROVED)
        result = mkdocs_build(_spanish_project(tmp_path), tmp_path / "site", var_dir)
        assert result.returncode == 0, result.output
        page_file = result.site_dir / ARTICLE / "index.html"
        page = soup(page_file)
        assert page.html["lang"] == "es"
        section = page.select_one("section.cs-comments")
        assert section.select_one("#comments-heading").get_text() == "Comentarios"
        assert section.select_one(".cs-count").get_text() == "2 comentarios"
        assert section.select_one("#comment-form-heading").get_text() == "Deja un comentario"
        assert section.select_one("button[type=submit]").get_text() == "Publicar comentario"
        assert "Si ahora mismo estás en peligro" in section.select_one(".cs-danger-line").get_text()
        assert section.select_one(".cs-report").get_text() == "Denunciar"
        assert section.select_one(".cs-reply").get_text(" ", strip=True).startswith(
            "Responder a Lucía")
        # A machine-readable moment, and the date in Spanish beside it.
        stamp = section.select_one("time[datetime]")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp["datetime"])
        assert " de " in stamp.get_text() and stamp.get_text().endswith(" UTC")
        assert section.select_one("bdi.cs-author").get_text() == "Lucía"
        block = page.select_one("script#comments-i18n")
        assert block["type"] == "application/json"
        assert '"more":"Mostrar más comentarios"' in block.string

        # The service's re-bake of that page follows the page's language (its <html lang>).
        add_comment(database, author="Ana", body="Gracias.", status=CommentStatus.APPROVED)
        SiteBaker(database, result.site_dir).bake(ARTICLE)
        assert soup(page_file).select_one(".cs-count").get_text() == "3 comentarios"
    finally:
        database.dispose()


def _html_attrs(html: str) -> dict[str, str]:
    tag = BeautifulSoup(html, "html5lib").html
    return {"lang": tag.get("lang", ""), "dir": tag.get("dir", "")}


def test_staff_pages_speak_the_service_language(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, language="es", notify_interval_seconds=0))
    with TestClient(app, follow_redirects=False) as client:
        database = client.app.state.database
        make_staff(database)
        add_comment(database, author="Lucía", created_at=datetime(2026, 3, 5, 17, 4))
        auth = AuthActions(client)
        assert auth.sign_in().status_code == 303
        queue = client.get("/staff/")
        assert _html_attrs(queue.text) == {"lang": "es", "dir": "ltr"}
        nav = BeautifulSoup(queue.text, "html5lib").select_one("nav")
        assert [a.get_text() for a in nav.select("a")][:3] == [
            "Cola", "Registro de auditoría", "Plantillas de respuesta"]
        assert "Cerrar sesión" in queue.text
        assert ">Aprobar<" in queue.text
        assert "5 mar 2026, 17:04 UTC" in queue.text  # the staff date format, in Spanish


def test_the_spanish_queue_counts_and_row_actions_and_api_refusals_are_in_spanish(
        tmp_path: Path) -> None:
    settings = with_docs(make_settings(tmp_path, notify_interval_seconds=0), tmp_path,
                         language="es")
    with TestClient(create_app(settings), follow_redirects=False) as client:
        database = client.app.state.database
        make_staff(database)
        first = add_comment(database, author="Lucía")
        add_comment(database, author="Tomás", urgent=True)
        add_comment(database, author="Inés", status=CommentStatus.APPROVED)
        assert AuthActions(client).sign_in().status_code == 303
        page = BeautifulSoup(client.get("/staff/").text, "html5lib")
        counts = " ".join(page.select_one("p.counts").get_text().split())
        assert counts == ("2 pendientes, 1 urgente; aprobados: 1, rechazados: 0, spam: 0, "
                          "eliminados: 0.")
        assert page.select_one("#results-heading").get_text() == "2 comentarios"
        row = page.select_one(f"#row-{first}")
        assert f"Comentario n.º {first} de Lucía" in row.get_text()
        actions = [" ".join(b.get_text().split()) for b in row.select(".row-actions button")]
        assert actions == [f"Aprobar el comentario n.º {first}",
                           f"Rechazar el comentario n.º {first}",
                           f"Marcar como spam el comentario n.º {first}",
                           f"Eliminar el comentario n.º {first}"]
        links = [" ".join(a.get_text().split()) for a in row.select(".row-actions a")]
        assert f"Detalles del comentario n.º {first}" in links
        legend = page.select_one("#bulk legend").get_text()
        assert legend == "Con los comentarios seleccionados"

        refused = post(client, author="   ", email="not an address")
        assert refused.status_code == 422
        answer = refused.json()
        assert answer["detail"] == "Corrige: Nombre, Correo electrónico."
        assert answer["errors"] == {
            "author": "El nombre no puede estar en blanco.",
            "email": "El correo no es una dirección válida (por ejemplo, nombre@example.org)."}


@pytest.mark.parametrize("language", ["ar", "he"])
def test_the_services_own_pages_are_right_to_left_for_rtl_languages(
        tmp_path: Path, language: str) -> None:
    app = create_app(make_settings(tmp_path, language=language, notify_interval_seconds=0))
    with TestClient(app, follow_redirects=False) as client:
        page = client.get("/staff/sign-in")
        assert _html_attrs(page.text) == {"lang": language, "dir": "rtl"}
        # Without a catalogue the words stay English: a page that reads, not a blank one.
        assert "Skip to main content" in page.text


def test_mail_is_written_in_the_service_language(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, language="es", smtp_host="127.0.0.1",
                             moderator_emails=["moderacion@example.org"])
    database = Database(settings)
    upgrade(database)
    try:
        comment_id = add_comment(database, urgent=True)
        add_comment(database)
        add_comment(database)
        Notifier(settings, Keyring(settings.secret())).scan_submissions(database)
        with database.read() as session:
            mails = {m.kind: m for m in session.scalars(select(OutboxMail))}
        urgent = mails["moderator_urgent"]
        assert urgent.subject == f"Urgente: un comentario necesita moderación (#{comment_id})"
        assert "Se te pedirá que inicies sesión." in urgent.body
        assert mails["moderator_digest"].subject == "2 comentarios nuevos esperan moderación"
    finally:
        database.dispose()
    subject, body = outcome_mail.rejection_note(settings, "Lucía", "Impasse", "off_topic",
                                                "https://example.org/w")
    assert subject == "Sobre tu comentario en Impasse"
    assert body.startswith("Hola, Lucía:\n\ngracias por dedicar tu tiempo")
    assert "No trata sobre el artículo" in body
    assert body.rstrip().endswith("El equipo editorial")


def test_a_reader_posting_to_a_spanish_service_is_answered_in_spanish(tmp_path: Path) -> None:
    settings = with_docs(make_settings(tmp_path), tmp_path, language="es")
    with app_client(settings) as client:
        held = post(client)
        assert held.status_code == 202
        assert held.json()["message"].startswith("Gracias. Hemos recibido tu comentario")
        urgent = post(client, body="I have been thinking about suicide.",
                      email="otra@example.org")
        answer = urgent.json()
        # The packaged crisis message, kindly, in the reader's language; the alert follows it.
        assert answer["crisis_message"].startswith("Si estás pensando en hacerte daño")
        assert answer["message"].startswith(answer["crisis_message"])


def test_the_spanish_dashboard_charts_dates_and_a_staff_form_error_are_in_spanish(
        tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, language="es", notify_interval_seconds=0))
    with TestClient(app, follow_redirects=False) as client:
        database = client.app.state.database
        make_staff(database, role="admin")
        posted = datetime.now() - timedelta(days=1)
        comment_id = add_comment(database, author="Lucía", urgent=True, created_at=posted)
        auth = AuthActions(client)
        assert auth.sign_in().status_code == 303
        page = BeautifulSoup(client.get("/staff/dashboard").text, "html5lib")
        titles = [t.get_text() for t in page.select("svg rect title")]
        assert any(t.startswith("semana del ") and "mediana" in t for t in titles)
        assert not any("week of" in t or "under a minute" in t for t in titles)
        spanish_months = {"ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept",
                          "oct", "nov", "dic"}
        heads = [th.get_text().split() for th in page.select("#urgent-table tbody th")]
        assert heads and all(h[1] in spanish_months for h in heads)
        labels = [t.get_text().split()[1] for t in page.select("svg text.chart-label")
                  if len(t.get_text().split()) == 2 and t.get_text().split()[0].isdigit()]
        assert labels and all(m in spanish_months for m in labels)

        refused = auth.post(f"/staff/comments/{comment_id}/reply", {"body": "   "})
        assert refused.status_code == 422
        assert "La respuesta no puede estar en blanco." in refused.text
        assert "Reply must not be blank." not in refused.text
