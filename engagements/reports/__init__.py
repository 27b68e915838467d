"""The provider reliability report: settings, its figures, its PDF and e-mail, and the schedule."""
