#!/usr/bin/env python3
"""Driver for PyPI `georeport` (class georeport.GeoReport), in XML and in JSON.

Used as its README and docstrings describe: GeoReport(root_address,
jurisdiction=..., api_key=..., output_format='xml'|'json'), then
get_service_list, get_service_definition, get_service_requests and
get_service_request.

georeport cannot create requests (its README: "does not currently support the
creation of new 311 service requests"), so the POST is n/a for the library. To
still check that it reads a request back correctly, the driver first files one
with a plain HTTP form POST (a labelled fixture step, not the library), then
reads it with georeport and compares id, service_code and description.
"""
from __future__ import annotations

import traceback
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
import json

from o311_common import (LAT, LONG, Report, as_list, description, diagnose, fill_attributes, parse_args,
                         truthy)

LIB = "georeport"


def http_error_detail(e: Exception, url: str) -> str:
    resp = getattr(e, "response", None)
    if resp is not None:
        return f"HTTP {resp.status_code} {resp.headers.get('Content-Type')} body: {resp.text[:800]!r}"
    return f"{type(e).__name__}: {e}; {diagnose(url)}"


def fixture_post(base: str, fmt: str, api_key: str, jurisdiction: str, code: str, desc: str,
                 attrs: dict) -> str:
    """Plain urllib form POST (NOT the library). Returns the service_request_id."""
    form = [("service_code", code), ("lat", str(LAT)), ("long", str(LONG)),
            ("description", desc), ("api_key", api_key)]
    if jurisdiction:
        form.append(("jurisdiction_id", jurisdiction))
    for k, v in attrs.items():
        for one in (v if isinstance(v, list) else [v]):
            form.append((f"attribute[{k}]", one))
    data = urllib.parse.urlencode(form).encode()
    req = urllib.request.Request(base + f"requests.{fmt}", data=data, method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            body = r.read()
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"HTTP {e.code} body: {e.read(800).decode('utf-8', 'replace')!r}") from None
    if fmt == "json":
        doc = json.loads(body)
        first = doc[0] if isinstance(doc, list) and doc else doc
        rid, token = (first.get("service_request_id"), first.get("token")) if isinstance(first, dict) else (None, None)
    else:
        root = ET.fromstring(body)
        req_el = root.find("request")
        if root.tag != "service_requests" or req_el is None:
            raise RuntimeError(f"XML POST answer is not <service_requests><request>: {body[:400]!r}")
        rid, token = req_el.findtext("service_request_id"), req_el.findtext("token")
    if rid in (None, "") and token:
        with urllib.request.urlopen(base + f"tokens/{token}.{fmt}", timeout=20) as r:
            tb = r.read()
        if fmt == "json":
            t = json.loads(tb)
            t0 = t[0] if isinstance(t, list) and t else t
            rid = t0.get("service_request_id") if isinstance(t0, dict) else None
        else:
            rid = ET.fromstring(tb).findtext("request/service_request_id")
    if rid in (None, ""):
        raise RuntimeError(f"POST answer has no service_request_id: {body[:400]!r}")
    return str(rid)


def run_format(args, rep: Report, fmt: str) -> None:
    from georeport import GeoReport

    base = args.base
    client = GeoReport(base, jurisdiction=args.jurisdiction or None, api_key=args.api_key, output_format=fmt)

    # 1. services
    url = base + f"services.{fmt}"
    try:
        services = client.get_service_list()
    except Exception as e:  # noqa: BLE001
        rep.fail(f"{fmt} get_service_list()", http_error_detail(e, url))
        return
    services = as_list(services) if fmt == "xml" else services
    if not rep.check(isinstance(services, list) and len(services) >= 1,
                     f"{fmt} get_service_list() returned {len(services) if isinstance(services, list) else '?'} "
                     f"service(s), at least 1", repr(services)[:600]):
        return
    bad = [s for s in services if not (isinstance(s, dict) and isinstance(s.get("service_code"), str)
                                       and s.get("service_code"))]
    rep.check(not bad, f"{fmt} every service_code is a non-empty string", f"offending: {bad!r}"[:600])
    svc = next((s for s in services if isinstance(s, dict) and truthy(s.get("metadata"))), None)
    if not rep.check(svc is not None, f"{fmt} a service has metadata=true", repr(services)[:600]):
        return
    code = str(svc["service_code"])

    # 2. definition
    url = base + f"services/{code}.{fmt}"
    try:
        definition = client.get_service_definition(code)
    except Exception as e:  # noqa: BLE001
        rep.fail(f"{fmt} get_service_definition({code!r})", http_error_detail(e, url))
        return
    if not rep.check(isinstance(definition, dict), f"{fmt} get_service_definition({code!r}) returned an object",
                     repr(definition)[:600]):
        return
    rep.check(str(definition.get("service_code")) == code, f"{fmt} definition.service_code == {code!r}",
              repr(definition)[:600])
    attrs = definition.get("attributes")
    if fmt == "xml":
        attrs = as_list(attrs.get("attribute")) if isinstance(attrs, dict) else []
    if not rep.check(isinstance(attrs, list) and len(attrs) >= 1,
                     f"{fmt} definition of {code!r} has attributes ({len(attrs) if isinstance(attrs, list) else 0})",
                     repr(definition)[:600]):
        return
    values = fill_attributes(attrs, rep, fmt)
    if values is None:
        return

    # 3. post: not in the library; fixture via plain HTTP so there is something to read back
    rep.na(f"{fmt} post via the library", "georeport has no method to create a request "
                                          "(README: does not currently support the creation of new requests)")
    desc = description(LIB, fmt)
    try:
        rid = fixture_post(base, fmt, args.api_key, args.jurisdiction, code, desc, values)
        rep.ok(f"{fmt} setup (plain urllib form POST, not georeport): created request {rid}")
    except Exception as e:  # noqa: BLE001
        rep.fail(f"{fmt} setup (plain urllib form POST, not georeport) to requests.{fmt}", str(e)[:900])
        return

    # 4. read back by id with the library
    url = base + f"requests/{rid}.{fmt}"
    try:
        got = client.get_service_request(rid)
    except Exception as e:  # noqa: BLE001
        rep.fail(f"{fmt} get_service_request({rid!r})", http_error_detail(e, url))
        return
    if fmt == "xml" and isinstance(got, list):
        got = got[0] if len(got) == 1 else got
    if not rep.check(isinstance(got, dict), f"{fmt} get_service_request({rid!r}) returned one request",
                     repr(got)[:600]):
        return
    rep.check(str(got.get("service_request_id")) == rid, f"{fmt} read-back service_request_id == {rid}",
              f"got {got.get('service_request_id')!r}")
    rep.check(str(got.get("service_code")) == code, f"{fmt} read-back service_code == {code!r}",
              f"got {got.get('service_code')!r}")
    rep.check(got.get("description") == desc, f"{fmt} read-back description is what was posted",
              f"posted {desc!r}, got {got.get('description')!r}")
    rep.info(f"{fmt} read-back lat={got.get('lat')!r} long={got.get('long')!r} status={got.get('status')!r}")

    # 5. the same request through the list call
    url = base + f"requests.{fmt}?service_request_id={rid}"
    try:
        lst = as_list(client.get_service_requests(service_request_id=rid))
        ids = [str(r.get("service_request_id")) for r in lst if isinstance(r, dict)]
        rep.check(rid in ids, f"{fmt} get_service_requests(service_request_id={rid}) contains it", repr(lst)[:600])
    except Exception as e:  # noqa: BLE001
        rep.fail(f"{fmt} get_service_requests(service_request_id={rid})", http_error_detail(e, url))


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    rep = Report(LIB)
    try:
        import georeport
    except Exception as e:  # noqa: BLE001
        rep.fail("import georeport", f"{type(e).__name__}: {e}")
        rep.exit()
    rep.info(f"georeport {georeport.__version__} against {args.base}")
    rep.na("photo upload", "georeport cannot create requests at all, so it cannot upload media")
    rep.na("discovery, tokens and servicerequestupdates", "georeport has no method for them")
    for fmt in ("xml", "json"):
        try:
            run_format(args, rep, fmt)
        except Exception:  # noqa: BLE001
            rep.fail(f"{fmt} driver crashed", traceback.format_exc().replace("\n", " | "))
    rep.exit()


if __name__ == "__main__":
    main()
