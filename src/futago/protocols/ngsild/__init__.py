"""The NGSI-LD notification binding (GS CIM 009 clause 7 and the MQTT binding): the ``ngsild`` channel type."""
