"""The provider's answer page: a personal, signed link in each mail sent from the app (issue 17)."""
