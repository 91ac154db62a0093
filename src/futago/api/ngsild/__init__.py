"""The NGSI-LD API (ETSI GS CIM 009) at /ngsi-ld/v1, over the same twins as the twin API (docs/ngsi-ld.md).

Each part is one router included here: entities now; batch operations, types and attributes, temporal and
subscriptions join beside it.
"""

from fastapi import APIRouter

from futago.api.ngsild import batch, discovery, entities, identity, subscriptions, temporal

router = APIRouter(prefix="/ngsi-ld/v1")
router.include_router(entities.router)
router.include_router(batch.router)
router.include_router(temporal.router)
router.include_router(subscriptions.router)
router.include_router(discovery.router)
router.include_router(identity.router)
