"""HTTP: the webhook notification channel."""
