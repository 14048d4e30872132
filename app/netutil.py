"""Request helpers that do not belong to any domain."""

from flask import has_request_context, request


def client_address() -> str:
    """The client's address; ProxyFix has already applied X-Forwarded-For when trusted."""
    if not has_request_context():
        return "-"
    return request.remote_addr or "-"
