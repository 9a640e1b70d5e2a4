"""API Gateway: a REST API's deployed stages and routes, for invoking it at its URL."""

from __future__ import annotations

from dataclasses import dataclass

from workshop.emulator.moto_adapters.server import ACCOUNT_ID


@dataclass(frozen=True)
class ApiRoute:
    resource_id: str
    path: str  # the resource's path template, e.g. /orders/{id}
    methods: dict[str, tuple[str, str]]  # HTTP method or ANY -> (integration type, integration URI)


def rest_api_routes(api_id: str) -> tuple[str, set[str], list[ApiRoute]] | None:
    """The region, deployed stages and resources of a REST API; None when there is no such API.
    (Requests to an API's URL are not signed, so the API is looked up in every region.)"""
    from moto.apigateway.models import apigateway_backends

    region, api = next(
        ((r, b.apis[api_id]) for r, b in apigateway_backends[ACCOUNT_ID].items() if api_id in b.apis), (None, None)
    )
    if api is None:
        return None
    routes = []
    for resource_id, resource in list(api.resources.items()):
        methods = {}
        for method_name, method in resource.resource_methods.items():
            integration = method.method_integration
            if integration is not None:
                methods[method_name] = (integration.integration_type, integration.uri)
        routes.append(ApiRoute(resource_id, resource.get_path(), methods))
    return region, set(api.stages), routes


def rest_api_name(api_id: str) -> str | None:
    """The name of a REST API by its id, in any region; None when there is no such API."""
    from moto.apigateway.models import apigateway_backends

    for backend in list(apigateway_backends[ACCOUNT_ID].values()):
        api = backend.apis.get(api_id)
        if api is not None:
            return str(api.name)
    return None
