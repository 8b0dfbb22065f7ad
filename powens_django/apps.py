from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PowensDjangoConfig(AppConfig):
    name = "powens_django"
    label = "powens_django"
    verbose_name = _("Powens bank connections")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
