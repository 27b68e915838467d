"""Signals other apps listen to; providers itself knows nothing of them."""

from django.dispatch import Signal

# Sent with ``provider`` when something that moves its business calendar
# changed (an absence, its response policy, its time zone or country).
calendar_changed = Signal()

# Sent with ``policy`` when a response policy changed in a way that moves due
# times (its allowance, calendar or ladder, or it became the default). Sent
# with ``deleted=True`` just before the policy is deleted: afterwards nothing
# points at it any more, so listeners must note its users then.
policy_changed = Signal()
