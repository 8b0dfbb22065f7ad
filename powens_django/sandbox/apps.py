from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "powens_django.sandbox"
    label = "powens_sandbox"
    verbose_name = "Powens sandbox"
    default_auto_field = "django.db.models.BigAutoField"
