"""Running the service: liveness and readiness, Prometheus metrics, structured logs."""
