"""The services the routers call, one ``Depends`` provider each.

The API is given its services by whoever serves it (``create_api(services)``): the composition root's App
satisfies ``ApiServices``, and so may any object that has these attributes (a test's, a smaller server's). Routers
ask for the one service they call and never see the composition root or the store. The providers read the service
on each request, so that one replaced after the API was made (as tests do) is the one that answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from fastapi import Request

from futago.act.commands import CommandService
from futago.act.engine import AlertService
from futago.act.notify.service import NotificationService
from futago.core.errors import FutagoError, NotFound
from futago.core.events import EventBus
from futago.ingest.connections import ConnectionManager
from futago.security.audit import AuditLog
from futago.security.personal import PersonalData
from futago.security.service import SecurityService
from futago.services.catalog import CatalogService
from futago.services.dead_letters import DeadLetterService
from futago.services.health import HealthService
from futago.services.models import ModelService
from futago.services.ngsild import NgsiLdService
from futago.services.privacy_release import PrivacyReleaseService
from futago.services.telemetry import TelemetryService
from futago.services.twins import TwinService
from futago.sim.runtime import BehaviourRuntime

if TYPE_CHECKING:
    from futago.config import Settings


class ApiServices(Protocol):
    """What the API needs of a composed futago: its settings, event bus and services."""

    settings: Settings
    bus: EventBus
    models: ModelService
    twins: TwinService
    telemetry: TelemetryService
    connections: ConnectionManager
    dead_letters: DeadLetterService
    behaviours: BehaviourRuntime
    alerts: AlertService
    commands: CommandService
    notifications: NotificationService
    catalog: CatalogService
    audit: AuditLog
    security: SecurityService
    personal: PersonalData
    privacy_release: PrivacyReleaseService
    health: HealthService


def api_services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


def model_service(request: Request) -> ModelService:
    return api_services(request).models


def twin_service(request: Request) -> TwinService:
    return api_services(request).twins


def telemetry_service(request: Request) -> TelemetryService:
    return api_services(request).telemetry


def event_bus(request: Request) -> EventBus:
    return api_services(request).bus


def connection_manager(request: Request) -> ConnectionManager:
    return api_services(request).connections


def dead_letter_service(request: Request) -> DeadLetterService:
    return api_services(request).dead_letters


def behaviour_runtime(request: Request) -> BehaviourRuntime:
    return api_services(request).behaviours


def alert_service(request: Request) -> AlertService:
    # Read loosely, so that a server composed without rules answers 404 rather than 500.
    service = getattr(api_services(request), "alerts", None)
    if not isinstance(service, AlertService):
        raise NotFound("rules and alerts are not enabled on this server")
    return service


class CommandsUnavailable(FutagoError):
    status = 503
    title = "Commands unavailable"


def command_service(request: Request) -> CommandService:
    """A 503 problem rather than a 500 where no command service is wired."""
    service = getattr(api_services(request), "commands", None)
    if not isinstance(service, CommandService):
        raise CommandsUnavailable("this server has no command service; commands are not enabled")
    return service


class NotificationsOff(FutagoError):
    status = 503
    title = "Service unavailable"


def notification_service(request: Request) -> NotificationService:
    service: NotificationService | None = getattr(api_services(request), "notifications", None)
    if service is None:
        raise NotificationsOff("notifications are not set up in this server")
    return service


def catalog_service(request: Request) -> CatalogService:
    return api_services(request).catalog


def audit_log(request: Request) -> AuditLog:
    return api_services(request).audit


def security_service(request: Request) -> SecurityService:
    return api_services(request).security


def personal_data(request: Request) -> PersonalData:
    return api_services(request).personal


def privacy_release_service(request: Request) -> PrivacyReleaseService:
    return api_services(request).privacy_release


def health_service(request: Request) -> HealthService:
    return api_services(request).health


class NgsiLdOff(FutagoError):
    status = 503
    title = "Service unavailable"


def ngsild_service(request: Request) -> NgsiLdService:
    """Read loosely, like the alert service: a server composed without the NGSI-LD door answers 503, not 500."""
    service = getattr(api_services(request), "ngsild", None)
    if not isinstance(service, NgsiLdService):
        raise NgsiLdOff("the NGSI-LD API is not set up in this server")
    return service
