"""One folder per wire protocol (mqtt, opcua, http, smtp, nats): its settings, client, inbound connector, command
transport and notification channel, whichever apply. The only place a protocol library is imported.

A protocol plugs into the interfaces its stages declare (``futago.ingest.connector.Connector``,
``futago.act.transport.CommandTransportType``, ``futago.act.notify.channel.Channel``); the composition root
(``futago.app``) registers each implementation by its type name. The package ``__init__`` modules import nothing,
so a protocol's library loads only where that protocol is used.
"""
