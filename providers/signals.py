"""Signals other apps listen to; providers itself knows nothing of them."""

from django.dispatch import Signal

# Sent with ``provider`` when something that moves its business calendar
# changed (an absence, its response policy).
calendar_changed = Signal()
