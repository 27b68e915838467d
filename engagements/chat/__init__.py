"""Chat exports (WhatsApp, Telegram Desktop, Slack) brought into the message log."""
