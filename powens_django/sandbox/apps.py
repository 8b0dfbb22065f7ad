"""A stateful fake of the Powens API, speaking its wire format over real HTTP.

It imports nothing from the rest of ``powens_django``: it is the other side of the
wire, so it can never agree with a bug in the client.
"""

from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "powens_django.sandbox"
    label = "powens_sandbox"
    verbose_name = "Powens sandbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, webhooks  # noqa: F401  (system checks; request_finished hook)
