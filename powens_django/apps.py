from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PowensDjangoConfig(AppConfig):
    name = "powens_django"
    label = "powens_django"
    verbose_name = _("Powens bank connections")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import pre_delete

        from . import checks  # noqa: F401  (registers the system checks)
        from .receivers import delete_powens_user_with_user

        # Deleting a Django user deletes its Powens user at Powens (receivers.py).
        pre_delete.connect(
            delete_powens_user_with_user,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="powens_django.delete_powens_user_with_user",
        )
