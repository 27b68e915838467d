from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutsourcingConfig(AppConfig):
    name = "outsourcing"
    verbose_name = _("Workspaces and accounts")

    def ready(self) -> None:
        from outsourcing import signals  # noqa: F401  (connects allauth's sign-up signal)
