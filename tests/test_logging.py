"""powens_django.logging.RedactURLSecrets keeps callback states and bank page ids out of
access logs."""

from __future__ import annotations

import logging

from powens_django.logging import RedactURLSecrets, redact_url_secrets

STATE = "Zm9vYmFyLXN0YXRlLXRoYXQtaXMtc2VjcmV0"
BANK = "k3Jx9v2QpLr8s7Tz1yWb4n6m0cHd5fGhJkLqRsTuVwX"


def record(msg: str, args: object) -> logging.LogRecord:
    return logging.LogRecord("django.server", logging.INFO, __file__, 1, msg, args, None)


def test_a_django_server_line_loses_the_state_and_the_bank_page_id():
    line = record(
        '"%s" %s %s', (f"GET /banks/callback/?state={STATE}&id_connection=7 HTTP/1.1", "302", "0")
    )
    page = record('"%s" %s %s', (f"POST /sandbox/2.0/bank/{BANK} HTTP/1.1", "303", "0"))

    assert RedactURLSecrets().filter(line) and RedactURLSecrets().filter(page)

    assert line.getMessage() == '"GET /banks/callback/?[redacted] HTTP/1.1" 302 0'
    assert page.getMessage() == '"POST /sandbox/2.0/bank/[redacted] HTTP/1.1" 303 0'


def test_a_sandbox_webview_visit_id_is_redacted():
    page = record('"%s" %s %s', (f"POST /sandbox/webview/v/{BANK}/linked/ HTTP/1.1", "303", "0"))

    assert RedactURLSecrets().filter(page)

    assert page.getMessage() == '"POST /sandbox/webview/v/[redacted]/linked/ HTTP/1.1" 303 0'


def test_a_gunicorn_access_line_loses_them_in_every_atom():
    atoms = {
        "r": f"GET /banks/callback/?state={STATE} HTTP/1.1",
        "q": f"state={STATE}",
        "U": f"/sandbox/2.0/bank/{BANK}",
        "f": f"http://127.0.0.1:8000/sandbox/2.0/bank/{BANK}",
        "s": "302",
    }
    line = record('"%(r)s" %(s)s q=%(q)s %(U)s "%(f)s"', atoms)

    RedactURLSecrets().filter(line)

    message = line.getMessage()
    assert STATE not in message and BANK not in message
    assert message.startswith('"GET /banks/callback/?[redacted] HTTP/1.1" 302 q=[redacted]')


def test_a_line_without_secrets_is_unchanged():
    line = record('"%s" %s %s', ("GET /banks/ HTTP/1.1", "200", "512"))

    RedactURLSecrets().filter(line)

    assert line.getMessage() == '"GET /banks/ HTTP/1.1" 200 512'
    assert redact_url_secrets("/banks/bank/7/") == "/banks/bank/7/"


def test_it_works_from_a_logging_configuration(caplog):
    logger = logging.getLogger("powens_django.tests.access")
    logger.addFilter(RedactURLSecrets())
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info('"%s" %s', f"GET /banks/callback/?state={STATE} HTTP/1.1", "302")
    finally:
        logger.filters.clear()

    assert STATE not in caplog.text
    assert "?[redacted]" in caplog.text
