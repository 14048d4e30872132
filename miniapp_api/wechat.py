"""The wechatpy client, adapted for a multi-process server.

- The access token lives in Redis (wechatpy's RedisStorage), shared by every process, and
  is fetched from the stable-token endpoint (`cgi-bin/stable_token`, force_refresh false),
  so processes never invalidate each other's tokens.
- wechatpy 1.8.18 refetches the token and retries recursively without limit on 40001 /
  40014 / 42001; here retries stop after WECHAT_TOKEN_RETRIES.
- The API base URL and an outbound proxy come from configuration (an intranet reaches
  WeChat through an egress gateway; tests point it at the local stand-in). The proxy is
  passed with every request: set only on the session, it would lose to HTTP(S)_PROXY from
  the environment (requests lets the environment override the session's proxies).
- `jscode2session` needs no access token; wechatpy would fetch one anyway, so it is not sent.
- Every failure becomes an AppError (4xx/503 with the error shape), never a 500; an answer
  that is not the JSON object expected (an HTML error page from a gateway) counts as one.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
import requests
from flask import current_app
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from app.errors import AppError
from app.extensions import get_redis

log = logging.getLogger(__name__)

TOKEN_ERRORS = (40001, 40014, 42001)
# errcode -> our error code
ERRCODE_MAP = {
    40029: "WX_CODE_INVALID",    # invalid code
    40163: "WX_CODE_INVALID",    # code already used
    40226: "WX_USER_BLOCKED",    # high-risk user
    45011: "WX_RATE_LIMITED",    # per-user frequency limit
    45009: "WX_RATE_LIMITED",    # daily API quota
    -1: "WX_BUSY",               # system busy
}


class AppWeChatClient(WeChatClient):
    def __init__(self, appid, secret, *, api_base, max_token_retries, proxy=None, **kwargs):
        super().__init__(appid, secret, **kwargs)
        self.api_base = api_base if api_base.endswith("/") else api_base + "/"
        self.API_BASE_URL = self.api_base + "cgi-bin/"
        self.wxa.API_BASE_URL = self.api_base
        self.max_token_retries = max_token_retries
        self._local = threading.local()
        self.proxies = {"http": proxy, "https": proxy} if proxy else None

    def fetch_access_token(self):
        res = self._http.post(
            self.api_base + "cgi-bin/stable_token",
            json={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
                  "force_refresh": False},
            timeout=self.timeout, proxies=self.proxies,
        )
        try:
            res.raise_for_status()
        except requests.RequestException as exc:
            raise WeChatClientException(None, None, client=self, request=exc.request,
                                        response=exc.response) from exc
        result = res.json()
        if result.get("errcode"):
            raise WeChatClientException(result["errcode"], result.get("errmsg"), client=self,
                                        request=res.request, response=res)
        expires_in = int(result.get("expires_in", 7200))
        # Store a little short of WeChat's expiry so no process uses a token at its edge.
        self.session.set(self.access_token_key, result["access_token"], max(expires_in - 120, 60))
        self.expires_at = int(time.time()) + expires_in
        return result

    def _request(self, method, url_or_endpoint, **kwargs):
        top = not getattr(self._local, "active", False)
        if top:
            self._local.active, self._local.retries = True, 0
        kwargs.setdefault("proxies", self.proxies)
        try:
            if "sns/jscode2session" in url_or_endpoint:
                kwargs.setdefault("params", {})["access_token"] = None  # requests drops None
            return super()._request(method, url_or_endpoint, **kwargs)
        finally:
            if top:
                self._local.active = False

    def _handle_result(self, res, method=None, url=None, result_processor=None, **kwargs):
        result = self._decode_result(res) if not isinstance(res, dict) else res
        if isinstance(result, dict) and self.auto_retry:
            try:
                errcode = int(result.get("errcode", 0) or 0)
            except (TypeError, ValueError):
                errcode = 0
            if errcode in TOKEN_ERRORS:
                if self._local.retries >= self.max_token_retries:
                    raise WeChatClientException(errcode, result.get("errmsg"), client=self,
                                                request=getattr(res, "request", None), response=res)
                self._local.retries += 1
        return super()._handle_result(res, method, url, result_processor, **kwargs)

    def code_to_session(self, js_code: str) -> dict:
        result = self.wxa.code_to_session(js_code)
        # wechatpy hands back a non-JSON answer (a gateway's HTML page) as the raw response.
        if not isinstance(result, dict) or not result.get("openid"):
            raise ValueError("jscode2session answered without an openid")
        return result

    # Endpoints wechatpy 1.8.18 lacks.
    def get_user_phone_number(self, code: str) -> str:
        result = self.post("wxa/business/getuserphonenumber", data={"code": code},
                           api_base_url=self.api_base)
        return result["phone_info"]["purePhoneNumber"]


def wechat_configured() -> bool:
    return bool(current_app.config.get("WECHAT_APPID"))


def get_client() -> AppWeChatClient:
    app = current_app
    client = app.extensions.get("wechat_client")
    if client is None:
        cfg = app.config
        if not cfg.get("WECHAT_APPID"):
            raise AppError("WX_NOT_CONFIGURED")
        client = AppWeChatClient(
            cfg["WECHAT_APPID"], cfg["WECHAT_SECRET"],
            api_base=cfg["WECHAT_API_BASE"], max_token_retries=cfg["WECHAT_TOKEN_RETRIES"],
            proxy=cfg.get("WECHAT_PROXY"), timeout=cfg["WECHAT_TIMEOUT"],
            session=RedisStorage(get_redis(), prefix="wechatpy"),
        )
        app.extensions["wechat_client"] = client
    return client


def call(fn, *args, **kwargs):
    """Call a WeChat API and turn every failure into an AppError."""
    try:
        return fn(*args, **kwargs)
    except WeChatClientException as exc:
        errcode = exc.errcode
        log.warning("WeChat error %s (%s)", errcode, exc.errmsg)
        if errcode is None:  # HTTP error status from WeChat or the gateway
            raise AppError("WX_UNAVAILABLE", details={"errcode": None}) from exc
        raise AppError(ERRCODE_MAP.get(errcode, "WX_BUSY"), details={"errcode": errcode}) from exc
    except requests.RequestException as exc:
        log.warning("WeChat unreachable: %s", type(exc).__name__)
        raise AppError("WX_UNAVAILABLE") from exc
    except redis.RedisError as exc:
        # The shared token store is down: WeChat calls need it to avoid token fights.
        log.warning("token store unavailable: %s", type(exc).__name__)
        raise AppError("WX_UNAVAILABLE", details={"reason": "token_store"}) from exc
    except (KeyError, ValueError, TypeError) as exc:  # malformed answer
        log.warning("WeChat answer malformed: %s", type(exc).__name__)
        raise AppError("WX_BUSY") from exc
