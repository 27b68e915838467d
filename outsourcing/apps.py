from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutsourcingConfig(AppConfig):
    name = "outsourcing"
    verbose_name = _("Workspaces and accounts")

    def ready(self) -> None:
        from outsourcing import limits, signals  # noqa: F401  (allauth's sign-up signal; the limits' check)
