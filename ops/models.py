from django.db import models


class Heartbeat(models.Model):
    """When a process that has no requests to answer was last seen at work ("beat").

    The beat process writes its row as it sends periodic tasks; /readyz reads it,
    so a cluster whose beat died is not ready even though every web host answers.
    """

    name = models.CharField(max_length=40, primary_key=True)
    seen_at = models.DateTimeField()
    host = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.name} {self.seen_at:%Y-%m-%d %H:%M:%S}"
