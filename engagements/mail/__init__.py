"""E-mail in and out: reading raw messages, importing them into the log, sending requests."""
