from .fixtures import es_server, kibana_server  # noqa: F401
