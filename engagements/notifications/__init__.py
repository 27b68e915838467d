"""Notifications: the outbox a flag writes, its delivery, the in-app list and the daily digest."""
