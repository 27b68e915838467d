"""Proof at scale (issue 16): `make load` on one host and `make cluster-test` across network namespaces.

Kept out of the apps: these modules drive the deployed shape from outside (gunicorn, Celery,
locust) and read the database only to check the counts afterwards.
"""
