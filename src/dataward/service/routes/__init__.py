"""The service's routers, one module per area; ``dataward.service.app`` includes each once."""
