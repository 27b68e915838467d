from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementsConfig(AppConfig):
    name = "engagements"
    verbose_name = _("Engagements")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from engagements import (
            provider_panels,  # noqa: F401 - registers the provider page panel
            receivers,  # noqa: F401 - recomputes when a provider's calendar changes
            tasks,  # noqa: F401 - registers the tasks that engagements.jobs queues by name
        )
        from engagements.search import index

        # SQLite drops a table's triggers when Django rebuilds it to alter it: put the search index's back.
        post_migrate.connect(index.after_migrate, sender=self, dispatch_uid="search_index_after_migrate")
