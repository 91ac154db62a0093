"""MQTT (paho): settings, client, ingest connector, command transport and notification channel."""
