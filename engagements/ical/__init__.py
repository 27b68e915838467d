"""A secret, revocable iCalendar address per person and workspace (``feed``), and its page (``views``)."""
