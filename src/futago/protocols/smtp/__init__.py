"""SMTP: the email notification channel."""
