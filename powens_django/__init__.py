"""powens-django: bank linking for Django sites through the Powens API."""

__version__ = "0.1.0.dev0"
