"""The REST API (the ``[drf]`` extra): the pages' bank linking over JSON.

Mount it with ``path("api/banks/", include("powens_django.api.urls"))``; its OpenAPI 3
schema is served at ``schema/`` beside the endpoints. Every endpoint is a thin shell
over :mod:`powens_django.services`, as the pages are: it parses input (validating
credential values with the pages' own :class:`~powens_django.forms.ConnectorFieldsForm`),
calls one service and renders the result. Authentication, permissions and throttling
come from the host's ``REST_FRAMEWORK`` settings; every endpoint also requires an
authenticated user. docs/api.md describes it.
"""
