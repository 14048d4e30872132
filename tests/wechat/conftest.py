"""Fixtures for the WeChat tests: an app with WeChat configured, and WeChat itself mocked
with `responses` (tests/support/wechat.py)."""

from __future__ import annotations

import pytest
import responses

from tests.support.wechat import FakeWeChat, wechat_app_fixtures

# wx_app for the session; wx, api and make per test.
wx_app, wx, api, make = wechat_app_fixtures(scope="session")


@pytest.fixture
def wechat():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeWeChat(rsps)
