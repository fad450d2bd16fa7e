#!/usr/bin/env python3
"""Driver for PyPI `civicbot` (module civicbot.open311, class Open311Client).

Used as its README and docstrings describe: Open311Client(endpoint) reads with
list_services / get_service_definition / get_request / list_requests, and files
a request with create_request(..., dry_run=False, confirm="SEND", api_key=...),
validate_remote=True so the library itself checks our attributes against the
live service definition before sending.

civicbot speaks JSON only (its transport json.loads every answer) and sends
media only as a `media_url` string, so XML and photo upload are n/a.
"""
from __future__ import annotations

import traceback

from o311_common import LAT, LONG, Report, description, diagnose, fill_attributes, parse_args, truthy

LIB = "civicbot"


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    rep = Report(LIB)
    try:
        import civicbot
        from civicbot.http import HttpError
        from civicbot.open311 import Open311Client, Open311Error
        from civicbot.registry import Endpoint
    except Exception as e:  # noqa: BLE001
        rep.fail("import civicbot", f"{type(e).__name__}: {e}")
        rep.exit()
    rep.info(f"civicbot {getattr(civicbot, '__version__', '?')} against {args.base}")
    rep.na("xml", "civicbot's HttpTransport only decodes JSON (get_json/post_form call json.loads); "
                  "Open311Client(fmt='xml') would feed XML to json.loads")
    rep.na("photo upload", "civicbot's build_request sends application/x-www-form-urlencoded only; "
                           "media can be given only as a media_url string, not as a file")
    rep.na("discovery and servicerequestupdates", "civicbot.open311 has no method for either")

    base = args.base
    endpoint = Endpoint(id="cityloop-demo", name="cityloop demo", base_url=base, write=True,
                        api_key_required_for_write=True)
    client = Open311Client(endpoint, jurisdiction_id=args.jurisdiction or None, fmt="json")
    fmt = "json"

    def err(e: Exception, url: str) -> str:
        if isinstance(e, HttpError):
            return f"HTTP {e.status} body: {e.body[:800]!r}"
        return f"{type(e).__name__}: {e}; {diagnose(url)}"

    # 1. services
    url = base + "services.json"
    try:
        services = client.list_services()
    except Exception as e:  # noqa: BLE001
        rep.fail(f"{fmt} list_services()", err(e, url))
        rep.exit()
    if not rep.check(isinstance(services, list) and len(services) >= 1,
                     f"{fmt} list_services() returned {len(services)} service(s), at least 1", repr(services)[:600]):
        rep.exit()
    bad = [s for s in services if not (isinstance(s, dict) and isinstance(s.get("service_code"), str)
                                       and s.get("service_code"))]
    rep.check(not bad, f"{fmt} every service_code is a non-empty string", f"offending: {bad!r}"[:600])

    svc = next((s for s in services if isinstance(s, dict) and truthy(s.get("metadata"))), None)
    if not rep.check(svc is not None, f"{fmt} a service has metadata=true",
                     f"services: {services!r}"[:600]):
        rep.exit()
    code = str(svc["service_code"])

    # 2. definition
    url = base + f"services/{code}.json"
    try:
        definition = client.get_service_definition(code)
    except Exception as e:  # noqa: BLE001
        rep.fail(f"{fmt} get_service_definition({code!r})", err(e, url))
        rep.exit()
    attrs = definition.get("attributes") if isinstance(definition, dict) else None
    rep.check(isinstance(definition, dict) and str(definition.get("service_code")) == code,
              f"{fmt} definition.service_code == {code!r}", repr(definition)[:600])
    if not rep.check(isinstance(attrs, list) and len(attrs) >= 1,
                     f"{fmt} definition of {code!r} has attributes ({len(attrs or [])})", repr(definition)[:600]):
        rep.exit()
    values = fill_attributes(attrs, rep, fmt)
    if values is None:
        rep.exit()

    # 3. post (library validates against the live definition, then sends)
    desc = description(LIB, fmt)
    try:
        prepared = client.create_request(code, dry_run=False, confirm="SEND", api_key=args.api_key,
                                         validate_remote=True, lat=LAT, lng=LONG, description=desc,
                                         attributes=values)
    except HttpError as e:
        rep.fail(f"{fmt} create_request({code!r}) with attributes {sorted(values)}", f"HTTP {e.status} body: {e.body[:800]!r}")
        rep.exit()
    except Open311Error as e:
        rep.fail(f"{fmt} create_request({code!r}) accepted by the library's own validation", str(e))
        rep.exit()
    except Exception as e:  # noqa: BLE001
        rep.fail(f"{fmt} create_request({code!r})", f"{type(e).__name__}: {e}")
        rep.exit()
    resp = prepared.response
    first = resp[0] if isinstance(resp, list) and resp else resp
    rid = first.get("service_request_id") if isinstance(first, dict) else None
    token = first.get("token") if isinstance(first, dict) else None
    if rid is None and token:
        rep.info(f"{fmt} POST answered a token {token!r}; resolving with get_token")
        try:
            tk = client.get_token(str(token))
            tk0 = tk[0] if isinstance(tk, list) and tk else tk
            rid = tk0.get("service_request_id") if isinstance(tk0, dict) else None
        except Exception as e:  # noqa: BLE001
            rep.fail(f"{fmt} get_token({token!r})", err(e, base + f"tokens/{token}.json"))
            rep.exit()
    if not rep.check(rid not in (None, ""), f"{fmt} create_request answered a service_request_id",
                     f"response: {resp!r}"[:600]):
        rep.exit()
    rid = str(rid)
    rep.info(f"{fmt} created service_request_id={rid} with attributes {values}")

    # 4. read back by id
    url = base + f"requests/{rid}.json"
    try:
        got = client.get_request(rid)
    except Exception as e:  # noqa: BLE001
        rep.fail(f"{fmt} get_request({rid!r})", err(e, url))
        rep.exit()
    if not rep.check(isinstance(got, dict), f"{fmt} get_request({rid!r}) returned a request", repr(got)[:600]):
        rep.exit()
    rep.check(str(got.get("service_request_id")) == rid, f"{fmt} read-back service_request_id == {rid}",
              f"got {got.get('service_request_id')!r}")
    rep.check(str(got.get("service_code")) == code, f"{fmt} read-back service_code == {code!r}",
              f"got {got.get('service_code')!r}")
    rep.check(got.get("description") == desc, f"{fmt} read-back description is what was posted",
              f"posted {desc!r}, got {got.get('description')!r}")
    rep.info(f"{fmt} read-back lat={got.get('lat')!r} long={got.get('long')!r} status={got.get('status')!r}")

    # 5. the same request through GET requests.json?service_request_id=
    try:
        lst = client.list_requests(service_request_ids=[rid])
        ids = [str(r.get("service_request_id")) for r in lst if isinstance(r, dict)] if isinstance(lst, list) else []
        rep.check(rid in ids, f"{fmt} list_requests(service_request_ids=[{rid}]) contains it", repr(lst)[:600])
    except Exception as e:  # noqa: BLE001
        rep.fail(f"{fmt} list_requests(service_request_ids=[{rid}])",
                 err(e, base + f"requests.json?service_request_id={rid}"))
    rep.exit()


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception:  # noqa: BLE001
        print(f"FAIL {LIB} driver crashed: " + traceback.format_exc().replace("\n", " | "), flush=True)
        raise SystemExit(1)
