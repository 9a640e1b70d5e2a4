"""API Gateway: a REST API's deployed stages and routes, for invoking it at its URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workshop.emulator.moto_adapters.server import ACCOUNT_ID


@dataclass(frozen=True)
class ApiRoute:
    resource_id: str
    path: str  # the resource's path template, e.g. /orders/{id}
    methods: dict[str, tuple[str, str]]  # HTTP method or ANY -> (integration type, integration URI)


@dataclass(frozen=True)
class RestApi:
    region: str
    stages: dict[str, str]  # stage name -> the id of the deployment it serves
    routes: list[ApiRoute]
    binary_media_types: tuple[str, ...]


def rest_api_routes(api_id: str) -> RestApi | None:
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
    stages = {name: str(stage.deployment_id or "") for name, stage in list(api.stages.items())}
    return RestApi(str(region), stages, routes, tuple(api.binaryMediaTypes or ()))


def rest_api_name(api_id: str) -> str | None:
    """The name of a REST API by its id, in any region; None when there is no such API."""
    from moto.apigateway.models import apigateway_backends

    for backend in list(apigateway_backends[ACCOUNT_ID].values()):
        api = backend.apis.get(api_id)
        if api is not None:
            return str(api.name)
    return None


def _keep_binary_media_types() -> None:
    """moto's CreateRestApi drops binaryMediaTypes, which decide whether a proxy answer's base64
    body is decoded (https://docs.aws.amazon.com/apigateway/latest/api/API_CreateRestApi.html)."""
    import json

    from moto.apigateway.models import apigateway_backends
    from moto.apigateway.responses import APIGatewayResponse

    original = APIGatewayResponse.create_rest_api

    def create_rest_api(self: APIGatewayResponse) -> Any:
        status, headers, body = original(self)
        media_types = self._get_param("binaryMediaTypes")
        if status == 200 and media_types:
            api = apigateway_backends[self.current_account][self.region].apis[json.loads(body)["id"]]
            api.binaryMediaTypes = list(media_types)
            body = json.dumps(api.to_dict())
        return status, headers, body

    APIGatewayResponse.create_rest_api = create_rest_api
