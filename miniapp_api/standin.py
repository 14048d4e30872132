"""A local stand-in for WeChat's servers, for tests and for running the app as a live
server without the internet. It answers the endpoints the app uses:

- POST cgi-bin/stable_token             → an access token
- GET  sns/jscode2session?js_code=...    → openid "o" + sha1(code) (the same code, the same
                                           person), a session key, a unionid
- POST wxa/business/getuserphonenumber   → code "phone-13800001234" gives that number
- POST wxa/getwxacodeunlimit             → a PNG (a QR code of the page and scene); 40169
                                           for a scene WeChat would refuse
- POST cgi-bin/message/subscribe/send    → errcode 0, and the message is recorded as
                                           delivered (GET /_standin/delivered lists them)
- POST wxa/msg_sec_check                 → content security v2 for text ({content, version 2,
                                           scene 1-4, openid}): result.suggest "risky" (label
                                           20001) when the content contains "违禁", "review"
                                           (label 21000) when it contains "待复核", else "pass"
                                           (label 100); a fresh trace_id each time; 47001 for a
                                           body that is not such a request
- POST wxa/img_sec_check                 → multipart field `media`: errcode 87014 (risky) when
                                           the image's top-left pixel is pure red (255, 0, 0),
                                           give or take JPEG's rounding (each channel within 8),
                                           else 0; 41005 without media, 40006 over 1 MB or
                                           750 x 1334 pixels, 40113 for no readable image
                                           (these three codes are the stand-in's choice)

Control endpoints (under /_standin):
- POST /_standin/faults  {"path": "sns/jscode2session", "errcode": 40029, "times": 1}
  the next `times` calls to `path` answer that errcode (or {"status": 500}, or
  {"delay": 3} seconds before answering, for timeouts); times -1 means until cleared
- DELETE /_standin/faults  clears faults
- GET /_standin/calls  the calls seen so far (path and query, secrets masked);
  DELETE clears them
- GET /_standin/delivered  subscribe messages answered with success (a delayed answer
  counts: WeChat delivered it even though the caller gave up waiting)
- POST /_standin/expire-tokens  makes every issued token answer 40001

Run it: `python -m miniapp_api.standin --port 8900`, then WECHAT_API_BASE=http://127.0.0.1:8900/
"""

from __future__ import annotations

import argparse
import hashlib
import io
import re
import secrets
import threading
import time

import qrcode
from flask import Flask, jsonify, request
from PIL import Image
from werkzeug.serving import make_server

SCENE_RE = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]+")
RISKY_WORD, REVIEW_WORD = "违禁", "待复核"
RISKY_RED_TOLERANCE = 8


def create_standin() -> Flask:
    app = Flask("wechat_standin")
    state = {"faults": {}, "calls": [], "tokens": set(), "delivered": [], "lock": threading.Lock()}
    app.config["STATE"] = state

    def fault_for(path: str):
        with state["lock"]:
            state["calls"].append({"path": path, "args": {k: ("***" if k in ("secret", "access_token") else v)
                                                            for k, v in request.args.items()}})
            fault = state["faults"].get(path)
            if fault is None:
                return None
            if fault["times"] > 0:
                fault["times"] -= 1
                if fault["times"] == 0:
                    del state["faults"][path]
            return fault

    def answer(path: str, ok):
        fault = fault_for(path)
        if fault:
            if fault.get("delay"):
                time.sleep(fault["delay"])
            if fault.get("status"):
                return "standin failure", fault["status"]
            if fault.get("errcode") is not None:
                return jsonify(errcode=fault["errcode"], errmsg=f"standin errcode {fault['errcode']}")
        return ok()

    def needs_token(ok):
        def wrapped():
            token = request.args.get("access_token")
            if token not in state["tokens"]:
                return jsonify(errcode=40001, errmsg="invalid credential, access_token is invalid")
            return ok()
        return wrapped

    @app.post("/cgi-bin/stable_token")
    def stable_token():
        def ok():
            body = request.get_json(force=True, silent=True) or {}
            if not body.get("appid") or not body.get("secret"):
                return jsonify(errcode=40013, errmsg="invalid appid")
            token = "STANDIN_" + secrets.token_hex(16)
            state["tokens"].add(token)
            return jsonify(access_token=token, expires_in=7200)
        return answer("cgi-bin/stable_token", ok)

    @app.get("/sns/jscode2session")
    def jscode2session():
        def ok():
            code = request.args.get("js_code", "")
            if not code or code.startswith("invalid"):
                return jsonify(errcode=40029, errmsg="invalid code")
            digest = hashlib.sha1(code.encode()).hexdigest()
            return jsonify(openid="o" + digest[:27], session_key=secrets.token_hex(12),
                           unionid="u" + digest[:27])
        return answer("sns/jscode2session", ok)

    @app.post("/wxa/business/getuserphonenumber")
    def phone_number():
        def ok():
            # Like WeChat, read the JSON body whatever the Content-Type: wechatpy sends none.
            code = (request.get_json(force=True, silent=True) or {}).get("code", "")
            if not code.startswith("phone-"):
                return jsonify(errcode=40029, errmsg="invalid code")
            number = code.removeprefix("phone-")
            return jsonify(errcode=0, errmsg="ok", phone_info={
                "phoneNumber": number, "purePhoneNumber": number, "countryCode": "86"})
        return answer("wxa/business/getuserphonenumber", needs_token(ok))

    @app.post("/wxa/getwxacodeunlimit")
    def wxa_code_unlimited():
        def ok():
            body = request.get_json(force=True, silent=True) or {}
            scene = body.get("scene", "")
            if not scene or len(scene) > 32 or not SCENE_RE.fullmatch(scene):
                return jsonify(errcode=40169, errmsg="invalid length for scene")
            image = io.BytesIO()
            qrcode.make(f"standin-wxacode:{body.get('page') or ''}?scene={scene}").save(image)
            return app.response_class(image.getvalue(), mimetype="image/png")
        return answer("wxa/getwxacodeunlimit", needs_token(ok))

    @app.post("/cgi-bin/message/subscribe/send")
    def subscribe_send():
        def ok():
            body = request.get_json(force=True, silent=True) or {}
            if not body.get("touser") or not body.get("template_id") or not isinstance(body.get("data"), dict):
                return jsonify(errcode=47003, errmsg="argument invalid!")
            with state["lock"]:
                state["delivered"].append(body)
            return jsonify(errcode=0, errmsg="ok", msgid=len(state["delivered"]))
        return answer("cgi-bin/message/subscribe/send", needs_token(ok))

    @app.post("/wxa/msg_sec_check")
    def msg_sec_check():
        def ok():
            body = request.get_json(force=True, silent=True) or {}
            content = body.get("content")
            if (not isinstance(content, str) or body.get("version") != 2 or body.get("scene") not in (1, 2, 3, 4)
                    or not body.get("openid")):
                return jsonify(errcode=47001, errmsg="data format error")
            if RISKY_WORD in content:
                suggest, label = "risky", 20001
            elif REVIEW_WORD in content:
                suggest, label = "review", 21000
            else:
                suggest, label = "pass", 100
            return jsonify(errcode=0, errmsg="ok", trace_id="standin-" + secrets.token_hex(8),
                           result={"suggest": suggest, "label": label},
                           detail=[{"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label,
                                    "prob": 90 if suggest != "pass" else 0}])
        return answer("wxa/msg_sec_check", needs_token(ok))

    @app.post("/wxa/img_sec_check")
    def img_sec_check():
        def ok():
            media = request.files.get("media")
            if media is None:
                return jsonify(errcode=41005, errmsg="media data missing")
            data = media.read()
            if len(data) > 1024 * 1024:
                return jsonify(errcode=40006, errmsg="invalid media size")
            try:
                with Image.open(io.BytesIO(data)) as image:
                    if image.width > 750 or image.height > 1334:
                        return jsonify(errcode=40006, errmsg="invalid media size")
                    r, g, b = image.convert("RGB").getpixel((0, 0))
            except Exception:
                return jsonify(errcode=40113, errmsg="unsupported file type")
            if r >= 255 - RISKY_RED_TOLERANCE and g <= RISKY_RED_TOLERANCE and b <= RISKY_RED_TOLERANCE:
                return jsonify(errcode=87014, errmsg="risky content")
            return jsonify(errcode=0, errmsg="ok")
        return answer("wxa/img_sec_check", needs_token(ok))

    @app.get("/_standin/delivered")
    def delivered():
        with state["lock"]:
            return jsonify(list(state["delivered"]))

    @app.post("/_standin/faults")
    def add_fault():
        body = request.get_json(force=True)
        with state["lock"]:
            state["faults"][body["path"]] = {"times": body.get("times", 1), "errcode": body.get("errcode"),
                                             "status": body.get("status"), "delay": body.get("delay")}
        return jsonify(ok=True)

    @app.delete("/_standin/faults")
    def clear_faults():
        with state["lock"]:
            state["faults"].clear()
        return jsonify(ok=True)

    @app.get("/_standin/calls")
    def calls():
        with state["lock"]:
            return jsonify(list(state["calls"]))

    @app.delete("/_standin/calls")
    def clear_calls():
        with state["lock"]:
            state["calls"].clear()
        return jsonify(ok=True)

    @app.post("/_standin/expire-tokens")
    def expire_tokens():
        with state["lock"]:
            state["tokens"].clear()
        return jsonify(ok=True)

    return app


class StandinServer:
    """The stand-in on a background thread: `with StandinServer() as s: s.url`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.app = create_standin()
        self._server = make_server(host, port, self.app, threaded=True)
        self.url = f"http://{host}:{self._server.server_port}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> StandinServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Local WeChat stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    args = parser.parse_args()
    server = StandinServer(args.host, args.port)
    print(f"WeChat stand-in at {server.url}", flush=True)
    server._server.serve_forever()


if __name__ == "__main__":
    main()
