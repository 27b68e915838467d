from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = _("API")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # drf-spectacular finds the token authentication's description here; the task is
        # registered in every process, as engagements' are (the worker also finds it by itself).
        from api import (
            schema,  # noqa: F401
            tasks,  # noqa: F401
        )
