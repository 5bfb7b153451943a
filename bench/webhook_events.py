#!/usr/bin/env python3
"""Writes the signed Wave webhook deliveries the bench replays (bench/run.sh).

usage: webhook_events.py SECRET IDS_FILE OUT_LUA

IDS_FILE holds one "donation_id|session_id|amount" line per pending donation. Each becomes one
`checkout.session.completed` event (Wave's shape, wave-api.md 2.2), signed like Wave signs:
Wave-Signature: t=<now>,v1=hex(HMAC-SHA256(secret, t + body)). The output is a Lua chunk
defining `events = { {body, signature}, ... }` for bench/webhooks.lua.
"""
import hashlib
import hmac
import json
import sys
import time

secret, ids_file, out = sys.argv[1], sys.argv[2], sys.argv[3]
t = str(int(time.time()))


def lua_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


with open(ids_file) as f, open(out, "w") as o:
    o.write("events = {\n")
    for n, line in enumerate(f):
        line = line.strip()
        if not line:
            continue
        donation, session, amount = line.split("|")
        body = json.dumps({
            "id": f"AE_bench_{n:08d}",
            "type": "checkout.session.completed",
            "data": {
                "id": session, "amount": amount, "currency": "XOF",
                "checkout_status": "complete", "payment_status": "succeeded",
                "client_reference": donation, "business_name": "WOLO bench",
                "transaction_id": f"TBENCH{n:010d}", "last_payment_error": None,
                "success_url": "https://wolo.example.sn/ok", "error_url": "https://wolo.example.sn/ko",
                "wave_launch_url": f"https://pay.wave.com/c/{session}",
                "when_created": "2026-01-01T10:00:00Z", "when_expires": "2026-01-01T10:30:00Z",
                "when_completed": "2026-01-01T10:01:00Z",
            },
        }, separators=(",", ":"))
        sig = hmac.new(secret.encode(), (t + body).encode(), hashlib.sha256).hexdigest()
        o.write("{" + lua_str(body) + "," + lua_str(f"t={t},v1={sig}") + "},\n")
    o.write("}\n")
