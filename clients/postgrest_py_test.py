"""postgrest-py (the `postgrest` PyPI package), unchanged, against the WOLO REST layer.

Run by suite/tests/clients/main.rs (`cargo test -p suite --test clients`), which
serves the suite over a seeded database and sets WOLO_BASE, WOLO_ADMIN_TOKEN,
WOLO_USER_TOKEN (Moussa), WOLO_USER_ID, WOLO_USER_POT (Moussa's open public pot) and
WOLO_OTHER_POT (Fatou's funded public pot).

Prints one line per check (`ok - ...` / `FAIL - ...`), then `N passed, N failed`; exits 1
when a check failed. postgrest-py sends `Accept-Profile`/`Content-Profile: public` on every
request; the server takes `public` as the service's own schema.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
import uuid

try:
    from postgrest import APIError, SyncPostgrestClient
except ImportError:
    print(
        "the postgrest package is missing: run `make test` (or "
        "`pip install -r clients/requirements.txt`)",
        file=sys.stderr,
    )
    sys.exit(2)


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        print(f"missing environment variable {name}", file=sys.stderr)
        sys.exit(2)
    return value


BASE = env("WOLO_BASE").rstrip("/")
ADMIN_TOKEN = env("WOLO_ADMIN_TOKEN")
USER_TOKEN = env("WOLO_USER_TOKEN")
USER_ID = env("WOLO_USER_ID")
USER_POT = env("WOLO_USER_POT")
OTHER_POT = env("WOLO_OTHER_POT")

# The last exchange on the wire, shown when a check fails.
LAST: dict = {}


def _on_response(response) -> None:
    response.read()
    req = response.request
    headers = dict(req.headers)
    if "authorization" in headers:
        headers["authorization"] = headers["authorization"][:16] + "…"
    LAST.clear()
    LAST.update(
        method=req.method,
        url=str(req.url),
        headers=headers,
        body=req.content.decode("utf-8", "replace"),
        status=response.status_code,
        response_headers=dict(response.headers),
        response_body=response.text[:2000],
    )


def client(service: str, token: str) -> SyncPostgrestClient:
    c = SyncPostgrestClient(f"{BASE}/{service}").auth(token)
    # Observe only: the client's own httpx session, with a hook that records the exchange.
    c.session.event_hooks["response"].append(_on_response)
    return c


def last_status() -> int:
    return LAST.get("status", 0)


def expect_error(fn, code: str, status: int) -> APIError:
    try:
        res = fn()
    except APIError as e:
        assert e.code == code, f"code {e.code!r} != {code!r}: {e.json()}"
        assert last_status() == status, f"status {last_status()} != {status}"
        return e
    raise AssertionError(f"expected APIError {code}, got data {res.data!r}")


pots = client("pots", ADMIN_TOKEN)
admin = client("admin", ADMIN_TOKEN)
user_pots = client("pots", USER_TOKEN)
user_admin = client("admin", USER_TOKEN)
KEY = f"clients_py_{uuid.uuid4().hex[:8]}"

CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


@check
def select_filter_order():
    res = (
        pots.from_("pots")
        .select("id, target_amount_cfa")
        .gte("target_amount_cfa", 22500)
        .order("target_amount_cfa", desc=True)
        .limit(3)
        .execute()
    )
    assert [r["target_amount_cfa"] for r in res.data] == [40000, 35000, 30000], res.data
    assert last_status() == 200


@check
def select_in_ilike_or_is():
    res = pots.from_("pots").select("id").in_("id", [USER_POT, OTHER_POT]).execute()
    assert sorted(r["id"] for r in res.data) == sorted([USER_POT, OTHER_POT]), res.data
    res = pots.from_("pots").select("id").ilike("title", "%moussa%").execute()
    assert res.data == [{"id": USER_POT}], res.data
    res = (
        pots.from_("pots")
        .select("status")
        .or_("status.eq.funded,status.eq.closed")
        .order("status")
        .execute()
    )
    assert res.data == [{"status": "closed"}, {"status": "funded"}], res.data
    res = pots.from_("pots").select("title").is_("actual_opened_at", "null").execute()
    assert res.data == [{"title": "Les 16 ans de Mariama"}], res.data


@check
def embed_one_to_many_many_to_one_and_across_schemas():
    res = (
        pots.from_("pots")
        .select("id, pot_invitations(invitation_method)")
        .eq("id", USER_POT)
        .execute()
    )
    assert len(res.data) == 1 and len(res.data[0]["pot_invitations"]) == 6, res.data
    res = pots.from_("pot_invitations").select("id, pots(title)").eq("pot_id", OTHER_POT).execute()
    assert len(res.data) == 4, res.data
    assert all(r["pots"] == {"title": "Les 31 ans de Fatou"} for r in res.data), res.data
    res = pots.from_("pots").select("id, donations(amount_cfa)").eq("id", OTHER_POT).execute()
    assert sum(d["amount_cfa"] for d in res.data[0]["donations"]) == 40000, res.data


@check
def single_and_maybe_single():
    res = pots.from_("pots").select("id, status").eq("id", USER_POT).single().execute()
    assert res.data == {"id": USER_POT, "status": "open"}, res.data
    res = pots.from_("pots").select("id").eq("status", "nope").maybe_single().execute()
    assert res is None, res
    e = expect_error(lambda: pots.from_("pots").select("id").single().execute(), "PGRST116", 406)
    assert "5 rows" in str(e.details), e.json()


@check
def count_head_and_range():
    res = pots.from_("pots").select("*", count="exact", head=True).execute()
    assert res.count == 5, res.count
    assert last_status() == 200
    res = pots.from_("pots").select("id", count="exact").order("id").range(0, 1).execute()
    assert len(res.data) == 2 and res.count == 5, (res.data, res.count)
    assert last_status() == 206, last_status()
    assert LAST["response_headers"].get("content-range") == "0-1/5", LAST["response_headers"]


@check
def insert_returns_the_row():
    res = (
        admin.from_("feature_flags")
        .insert({"flag_key": KEY, "name": "postgrest-py", "rollout_percentage": 20})
        .execute()
    )
    assert last_status() == 201
    assert len(res.data) == 1 and res.data[0]["flag_key"] == KEY, res.data
    assert res.data[0]["rollout_percentage"] == 20 and res.data[0]["is_enabled"] is False, res.data


@check
def bulk_insert_with_column_defaults():
    res = (
        admin.from_("feature_flags")
        .insert(
            [
                {"flag_key": f"{KEY}_a", "name": "bulk a"},
                {"flag_key": f"{KEY}_b", "name": "bulk b", "rollout_percentage": 5},
            ],
            default_to_null=False,
            count="exact",
        )
        .execute()
    )
    assert res.count == 2, res.count
    got = sorted((r["flag_key"], r["rollout_percentage"]) for r in res.data)
    assert got == [(f"{KEY}_a", 0), (f"{KEY}_b", 5)], got


@check
def upsert_on_conflict():
    res = (
        admin.from_("feature_flags")
        .upsert(
            {"flag_key": KEY, "name": "postgrest-py upserted", "rollout_percentage": 60},
            on_conflict="flag_key",
        )
        .execute()
    )
    assert len(res.data) == 1, res.data
    assert res.data[0]["name"] == "postgrest-py upserted", res.data
    assert res.data[0]["rollout_percentage"] == 60, res.data
    # PostgREST answers 200 when a merge-duplicates upsert inserted no new row.
    assert last_status() == 200, f"status {last_status()}"


@check
def update_with_eq():
    res = (
        admin.from_("feature_flags")
        .update({"rollout_percentage": 80, "is_enabled": True})
        .eq("flag_key", KEY)
        .execute()
    )
    assert last_status() == 200
    assert [(r["rollout_percentage"], r["is_enabled"]) for r in res.data] == [(80, True)], res.data


@check
def delete_with_eq():
    res = admin.from_("feature_flags").delete().eq("flag_key", KEY).execute()
    assert last_status() == 200
    assert [r["flag_key"] for r in res.data] == [KEY], res.data
    res = admin.from_("feature_flags").delete(count="exact").like("flag_key", f"{KEY}_*").execute()
    assert res.count == 2 and len(res.data) == 2, (res.count, res.data)
    res = admin.from_("feature_flags").select("id").like("flag_key", f"{KEY}*").execute()
    assert res.data == [], res.data


@check
def errors():
    admin.from_("feature_flags").insert({"flag_key": f"{KEY}_dup", "name": "dup"}).execute()
    e = expect_error(
        lambda: admin.from_("feature_flags").insert({"flag_key": f"{KEY}_dup", "name": "dup"}).execute(),
        "23505",
        409,
    )
    assert "duplicate key" in (e.message or ""), e.json()
    admin.from_("feature_flags").delete().eq("flag_key", f"{KEY}_dup").execute()
    expect_error(lambda: pots.from_("no_such_table").select("*").execute(), "PGRST205", 404)
    expect_error(lambda: user_admin.from_("feature_flags").select("flag_key").execute(), "42501", 403)
    e = expect_error(
        lambda: user_pots.from_("pot_invitations")
        .insert(
            {
                "pot_id": OTHER_POT,
                "invited_by_user_id": USER_ID,
                "invitation_method": "sms",
                "recipient_identifier": "+221770000003",
            }
        )
        .execute(),
        "42501",
        403,
    )
    assert "row-level security" in (e.message or ""), e.json()


@check
def row_level_security_reads():
    res = user_pots.from_("pots").select("id, visibility, owner_user_id").execute()
    assert len(res.data) == 3, res.data
    assert all(r["visibility"] == "public" or r["owner_user_id"] == USER_ID for r in res.data), res.data


@check
def schema_profiles():
    res = pots.schema("pots").from_("pots").select("id").eq("id", USER_POT).execute()
    assert res.data == [{"id": USER_POT}], res.data
    expect_error(lambda: pots.schema("identity").from_("users").select("id").execute(), "PGRST106", 406)


def main() -> int:
    passed = failed = 0
    for fn in CHECKS:
        name = fn.__name__
        LAST.clear()
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - report every failure and go on
            failed += 1
            reason = f"{type(e).__name__}: {e}".replace("\n", " ")
            print(f"FAIL - {name}: {reason}")
            if not isinstance(e, AssertionError):
                traceback.print_exc(file=sys.stdout)
            print("  last exchange: " + json.dumps(LAST, ensure_ascii=False))
        else:
            passed += 1
            print(f"ok - {name}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
