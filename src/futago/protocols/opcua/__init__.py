"""OPC UA (asyncua): settings, client, ingest connector (with payloads) and command transport."""
