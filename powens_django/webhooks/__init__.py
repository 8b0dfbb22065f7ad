"""The webhook receiver: ``include("powens_django.webhooks.urls")``.

Powens calls one URL per event type; the receiver takes the type from the URL's last
segment (``connection-synced/`` is ``CONNECTION_SYNCED``). Everything else —
authentication, recording, processing once — is :mod:`powens_django.services.webhooks`.
See docs/webhooks.md.
"""
