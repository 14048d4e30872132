def test_ping_and_healthz(client):
    assert client.get("/ping").get_json() == {"status": "ok"}
    body = client.get("/healthz").get_json()
    assert body == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_openapi_served(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/wx/login" in spec["paths"]
