"""The owner's decision on a due date the provider proposed, and the mail that tells the provider."""
