#!/usr/bin/env python3
"""Driver for PyPI `frost-sta-client` (FraunhoferIOSB FROST-Python-Client, module frost_sta_client).

Used as its README describes: SensorThingsService(url, auth_handler=AuthHandler(username, password)),
service.create(thing) with Locations and Datastreams inline (deep insert), service.create(observation),
dao.query().filter(...).orderby(...).top(...).expand(...).count().list(), iterating the EntityList
(which follows @iot.nextLink), dao.find(id), service.update(entity) (PUT), service.patch(entity,
json_patch_ops) (PATCH application/json-patch+json), service.delete(entity), and
service.observations().create(DataArrayDocument) (POST CreateObservations).

Optional (--mqtt-host): paho-mqtt publishes an Observation to v1.1/Datastreams(<id>)/Observations and
the driver polls the HTTP API (through the library) until it shows up.

Writes authenticate with HTTP Basic, user 'gateway', password = the API key; the library sends the
same Authorization header on reads too.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import random
import signal
import string
import sys
import time
import traceback
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, List, Optional

LIB = "frost"
CST = timezone(timedelta(hours=8))  # Shanghai
OM_MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
PM25_DEFINITION = "http://dd.eionet.europa.eu/vocabulary/aq/pollutant/6001"  # EEA: PM2.5
UGM3_DEFINITION = "http://qudt.org/vocab/unit/MicroGM-PER-M3"
SHANGHAI = (121.4737, 31.2304)  # lon, lat (GeoJSON order)
NEAR_POLYGON = "POLYGON((121.3 31.1, 121.7 31.1, 121.7 31.4, 121.3 31.4, 121.3 31.1))"  # around People's Square
FAR_POLYGON = "POLYGON((13.2 52.4, 13.6 52.4, 13.6 52.6, 13.2 52.6, 13.2 52.4))"  # Berlin
# results of the observations created one hour apart (step 2); distinct, exact in binary floating point
RESULTS = [12.5, 35.0, 8.25, 55.5, 41.0, 23.75]


# --------------------------------------------------------------------------- output

class Report:
    """Prints one line per check and remembers whether anything failed."""

    def __init__(self, lib: str):
        self.lib = lib
        self.failures = 0

    def ok(self, what: str) -> None:
        print(f"ok {self.lib} {what}", flush=True)

    def fail(self, what: str, detail: str = "") -> None:
        self.failures += 1
        print(f"FAIL {self.lib} {what}" + (f" -- {detail}" if detail else ""), flush=True)

    def na(self, what: str, why: str) -> None:
        print(f"n/a: {self.lib} {what} because {why}", flush=True)

    def info(self, what: str) -> None:
        print(f"info {self.lib} {what}", flush=True)

    def check(self, cond: bool, what: str, detail: str = "") -> bool:
        if cond:
            self.ok(what)
        else:
            self.fail(what, detail)
        return cond

    def exit(self) -> None:
        sys.exit(1 if self.failures else 0)


FAILED = object()  # what call() returns when the library call raised (already reported as FAIL)


class StepTimeout(Exception):
    pass


@contextlib.contextmanager
def deadline(seconds: float, what: str) -> Iterator[None]:
    """The library calls requests without a timeout; bound every call so a hung server fails the step."""
    def on_alarm(signum, frame):  # noqa: ARG001
        raise StepTimeout(f"{what}: no answer within {seconds:g}s")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def describe_error(e: BaseException) -> str:
    """HTTP status, response body and the request the library sent, for a server developer."""
    import requests
    if isinstance(e, requests.exceptions.HTTPError) and e.response is not None:
        r = e.response
        req = r.request
        body = req.body.decode("utf-8", "replace") if isinstance(req.body, bytes) else (req.body or "")
        return (f"HTTP {r.status_code} {r.headers.get('Content-Type')} body: {r.text[:800]!r}; "
                f"request: {req.method} {req.url}" + (f" body {body[:600]!r}" if body else ""))
    if isinstance(e, KeyError) and str(e).strip("'\"").lower() == "location":
        return "the create answer has no Location header (the library reads the new id only from it)"
    return f"{type(e).__name__}: {e}"


def diagnose(url: str) -> str:
    """GET url again (idempotent) and describe the HTTP status and body."""
    try:
        with urllib.request.urlopen(url, timeout=20) as r:
            return f"HTTP {r.status} {r.headers.get('Content-Type')} body: {r.read(1500).decode('utf-8', 'replace')!r}"
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code} {e.headers.get('Content-Type')} body: {e.read(1500).decode('utf-8', 'replace')!r}"
    except Exception as e:  # noqa: BLE001 - diagnostics only
        return f"(re-fetch failed: {type(e).__name__}: {e})"


def install_trace() -> None:
    """--trace: print every HTTP exchange the library makes (observation only; nothing is changed)."""
    import requests

    orig = requests.Session.send

    def send(self, request, **kw):
        body = request.body.decode("utf-8", "replace") if isinstance(request.body, bytes) else request.body
        hdrs = {k: v for k, v in request.headers.items()}
        print(f"trace >>> {request.method} {request.url}\ntrace     {hdrs}" + (f"\ntrace     {body}" if body else ""),
              flush=True)
        resp = orig(self, request, **kw)
        print(f"trace <<< {resp.status_code} {dict(resp.headers)}\ntrace     {resp.text[:1500]}", flush=True)
        return resp

    requests.Session.send = send


def odata_str(v: str) -> str:
    """An OData string literal: single quotes, a quote inside doubled (the library does not escape)."""
    return "'" + v.replace("'", "''") + "'"


def suffix() -> str:
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(8))


def iso(dt: datetime) -> str:
    return dt.isoformat()


def same_time(a: Any, b: datetime) -> bool:
    """a: phenomenonTime string as the server returned it; compare the instant with b."""
    from dateutil.parser import isoparse
    try:
        return isoparse(str(a).split("/")[0]) == b
    except (ValueError, TypeError):
        return False


def num_eq(a: Any, b: float) -> bool:
    return isinstance(a, (int, float)) and not isinstance(a, bool) and abs(a - b) < 1e-9


# --------------------------------------------------------------------------- main

def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="service root, e.g. http://127.0.0.1:8080/sta/v1.1")
    ap.add_argument("--api-key", required=True, help="API key, sent as the HTTP Basic password for writes")
    ap.add_argument("--user", default="gateway", help="HTTP Basic user name (any; default gateway)")
    ap.add_argument("--mqtt-host", default=None, help="MQTT broker host; the MQTT step is skipped without it")
    ap.add_argument("--mqtt-port", type=int, default=1883)
    ap.add_argument("--mqtt-prefix", default="", help="topic prefix the server listens under (e.g. cityloop-demo-123/)")
    ap.add_argument("--mqtt-wait", type=float, default=20.0,
                    help="seconds to wait for an MQTT-published observation to appear over HTTP")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds allowed for each library call")
    ap.add_argument("--keep", action="store_true", help="do not delete what the driver created")
    ap.add_argument("--trace", action="store_true", help="print every HTTP request and response")
    return ap.parse_args()


def main() -> None:  # noqa: C901 - one linear script of checks
    args = parse_args()
    rep = Report(LIB)
    try:
        import frost_sta_client as fsc
        import requests
        from geojson import Point
    except Exception as e:  # noqa: BLE001
        rep.fail("import frost_sta_client", f"{type(e).__name__}: {e}")
        rep.exit()
    if args.trace:
        install_trace()
        logging.basicConfig(level=logging.DEBUG)
    else:
        # the library logs every HTTP error on the root logger; this driver reports them itself
        logging.disable(logging.ERROR)
    rep.info(f"frost_sta_client {fsc.__version__} against {args.base}")
    T = args.timeout

    def call(what: str, fn: Callable[[], Any], diag_url: Optional[str] = None) -> Any:
        """Run one library call under a deadline; on error print FAIL with details and return FAILED."""
        try:
            with deadline(T, what):
                return fn()
        except Exception as e:  # noqa: BLE001
            detail = describe_error(e)
            if diag_url and not isinstance(e, requests.exceptions.HTTPError):
                detail += "; " + diagnose(diag_url)
            rep.fail(what, detail)
            return FAILED

    def listall(what: str, query, diag_url: Optional[str] = None) -> Any:
        """query.list() and iterate the whole EntityList (the library follows @iot.nextLink)."""
        def run():
            return [x for x in query.list()]
        return call(what, run, diag_url)

    auth = fsc.AuthHandler(username=args.user, password=args.api_key)
    service = fsc.SensorThingsService(args.base, auth_handler=auth)
    root = args.base.rstrip("/")
    run_id = suffix()
    thing_name = f"cityloop air station {run_id}"
    rep.info(f"run id {run_id}")

    # ------------------------------------------------------------------ 1. deep insert
    location = fsc.Location(name=f"People's Square {run_id}", description="人民广场 monitoring point",
                            location=Point(SHANGHAI), encoding_type="application/geo+json")
    uom = fsc.UnitOfMeasurement(name="microgram per cubic metre", symbol="µg/m³", definition=UGM3_DEFINITION)
    sensor = fsc.Sensor(name=f"SDS011 {run_id}", description="Nova Fitness SDS011 laser dust sensor",
                        encoding_type="application/pdf",
                        metadata="https://cdn-reichelt.de/documents/datenblatt/X200/SDS011-DATASHEET.pdf")
    obs_prop = fsc.ObservedProperty(name="PM2.5", definition=PM25_DEFINITION,
                                    description="Mass concentration of particulate matter up to 2.5 µm")
    datastream = fsc.Datastream(name=f"PM2.5 {run_id}", description="PM2.5 at People's Square, hourly",
                                observation_type=OM_MEASUREMENT, unit_of_measurement=uom,
                                sensor=sensor, observed_property=obs_prop)
    thing = fsc.Thing(name=thing_name, description="Air quality station 空气质量监测站",
                      properties={"owner": "cityloop client harness", "district": "黄浦区", "run": run_id})
    thing.locations = [location]
    thing.datastreams = [datastream]
    if call("create(Thing) with a Location and a Datastream (deep insert) -> POST Things",
            lambda: service.create(thing), root + "/Things") is FAILED:
        rep.exit()
    if not rep.check(thing.id not in (None, ""), f"created Thing has an id ({thing.id!r}, read from the Location header)",
                     "service.create left thing.id empty"):
        rep.exit()
    rep.info("the library sets only the top-level id after a deep insert (it does not read the response body); "
             f"nested ids: location={location.id!r} datastream={datastream.id!r}")

    got = call(f"things().find({thing.id!r})", lambda: service.things().find(thing.id))
    if got is not FAILED:
        rep.check(got.name == thing_name, "find(Thing) returns the name that was posted",
                  f"got {got.name!r}")
        rep.check((got.properties or {}).get("district") == "黄浦区" and (got.properties or {}).get("run") == run_id,
                  "find(Thing) returns properties, non-ASCII intact", f"got {got.properties!r}")
        rep.check(got.id == thing.id, "find(Thing) @iot.id equals the id from the Location header",
                  f"{got.id!r} vs {thing.id!r}")

    locs = listall("Thing.get_locations().query().list() -> GET Things(id)/Locations",
                   thing.get_locations().query(), f"{root}/Things({thing.id})/Locations")
    loc = None
    if locs is not FAILED and rep.check(len(locs) == 1, f"the Thing has exactly 1 Location ({len(locs)})",
                                      repr([l.name for l in locs])):
        loc = locs[0]
        coords = (loc.location or {}).get("coordinates") if isinstance(loc.location, dict) else None
        rep.check(loc.id not in (None, "") and loc.name == location.name, f"the Location has an id ({loc.id!r}) and its name")
        rep.check(isinstance(coords, list) and len(coords) >= 2 and abs(coords[0] - SHANGHAI[0]) < 1e-6
                  and abs(coords[1] - SHANGHAI[1]) < 1e-6 and (loc.location or {}).get("type") == "Point",
                  "the Location is the GeoJSON Point that was posted (lon, lat order)", f"got {loc.location!r}")
        rep.check(loc.encoding_type == "application/geo+json", "the Location keeps encodingType application/geo+json",
                  f"got {loc.encoding_type!r}")

    dss = listall("Thing.get_datastreams().query().list() -> GET Things(id)/Datastreams",
                  thing.get_datastreams().query(), f"{root}/Things({thing.id})/Datastreams")
    if dss is FAILED or not rep.check(len(dss) == 1, f"the Thing has exactly 1 Datastream ({len(dss)})",
                                      repr([d.name for d in dss])):
        rep.exit()
    ds_id = dss[0].id
    if not rep.check(ds_id not in (None, ""), f"the Datastream has an id ({ds_id!r})"):
        rep.exit()
    # README: datastream = service.datastreams().find(1)
    ds = call(f"datastreams().find({ds_id!r})", lambda: service.datastreams().find(ds_id))
    if ds is FAILED:
        rep.exit()
    u = ds.unit_of_measurement
    rep.check(u is not None and u.symbol == "µg/m³" and u.name == uom.name and u.definition == UGM3_DEFINITION,
              "the Datastream's unitOfMeasurement round-trips (symbol µg/m³)",
              f"got {u.__getstate__() if u is not None else None!r}")
    rep.check(ds.observation_type == OM_MEASUREMENT, "the Datastream's observationType is OM_Measurement",
              f"got {ds.observation_type!r}")
    ds_exp = call("datastreams().query().filter(id eq ...).expand('Sensor,ObservedProperty,Thing')",
                  lambda: list(service.datastreams().query().filter(f"id eq {ds_id}")
                               .expand("Sensor,ObservedProperty,Thing").list()))
    sensor_id = op_id = None
    if ds_exp is not FAILED and rep.check(len(ds_exp) == 1, f"filter id eq {ds_id} finds the Datastream ({len(ds_exp)})"):
        d = ds_exp[0]
        rep.check(d.sensor is not None and d.sensor.name == sensor.name and d.sensor.encoding_type == "application/pdf",
                  "the Datastream's expanded Sensor is the one posted inline",
                  f"got {d.sensor.__getstate__() if d.sensor else None!r}")
        rep.check(d.observed_property is not None and d.observed_property.name == "PM2.5"
                  and d.observed_property.definition == PM25_DEFINITION,
                  "the Datastream's expanded ObservedProperty is PM2.5 with its definition",
                  f"got {d.observed_property.__getstate__() if d.observed_property else None!r}")
        rep.check(d.thing is not None and d.thing.id == thing.id, "the Datastream's expanded Thing is the new Thing",
                  f"got {d.thing.id if d.thing else None!r}")
        sensor_id = d.sensor.id if d.sensor else None
        op_id = d.observed_property.id if d.observed_property else None

    # ------------------------------------------------------------------ 2. observations
    t0 = (datetime.now(CST) - timedelta(hours=len(RESULTS) + 2)).replace(minute=0, second=0, microsecond=0)
    times = [t0 + timedelta(hours=i) for i in range(len(RESULTS))]
    created: List[Any] = []
    for t, v in zip(times, RESULTS):
        obs = fsc.Observation(result=v, phenomenon_time=iso(t), datastream=ds)
        if call(f"create(Observation result={v} phenomenonTime={iso(t)}) -> POST Observations",
                lambda o=obs: service.create(o)) is FAILED:
            continue
        created.append(obs)
    if not rep.check(len(created) == len(RESULTS) and all(o.id not in (None, "") for o in created),
                     f"created {len(RESULTS)} Observations, each with an id ({[o.id for o in created]})"):
        rep.exit()
    ids = [o.id for o in created]
    one = call(f"observations().find({ids[1]!r})", lambda: service.observations().find(ids[1]))
    if one is not FAILED:
        rep.check(num_eq(one.result, RESULTS[1]), f"find(Observation) result is {RESULTS[1]}", f"got {one.result!r}")
        rep.check(same_time(one.phenomenon_time, times[1]),
                  f"find(Observation) phenomenonTime is the instant posted ({iso(times[1])})",
                  f"got {one.phenomenon_time!r}")

    # ------------------------------------------------------------------ 3. queries
    # 3a. $filter on result and phenomenonTime (literal in UTC, posted in +08:00), $orderby result asc
    bound = times[4].astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    flt = f"result gt 20 and phenomenonTime lt {bound}"
    want = sorted([(v, i) for v, i, t in zip(RESULTS, ids, times) if v > 20 and t < times[4]])
    got_l = listall(f"Datastream.get_observations().query().filter({flt!r}).orderby('result', 'ASC')",
                    ds.get_observations().query().filter(flt).orderby("result", "ASC"))
    if got_l is not FAILED:
        rep.check([o.id for o in got_l] == [i for _, i in want] and all(num_eq(o.result, v) for o, (v, _) in zip(got_l, want)),
                  f"$filter={flt} $orderby=result asc returns exactly {[v for v, _ in want]}",
                  f"got {[(o.id, o.result) for o in got_l]}")

    # 3b. $top=2 paging: first page has 2 and a nextLink; iterating follows nextLinks through all
    q = ds.get_observations().query().orderby("phenomenonTime", "ASC").top(2).count()
    page = call("query().orderby('phenomenonTime', 'ASC').top(2).count().list()", lambda: q.list())
    if page is not FAILED:
        rep.check(len(page.entities) == 2, f"$top=2 first page holds 2 Observations ({len(page.entities)})")
        nl = page.next_link
        rep.check(isinstance(nl, str) and nl.startswith(("http://", "https://")),
                  "the first page carries an absolute @iot.nextLink (the library GETs it verbatim)", f"got {nl!r}")
        rep.check(page.count == len(RESULTS), f"$count=true gives @iot.count {len(RESULTS)}", f"got {page.count!r}")
        allp = call("iterate the EntityList across pages (@iot.nextLink)", lambda: [o for o in page])
        if allp is not FAILED:
            rep.check([o.id for o in allp] == ids,
                      f"iterating the $top=2 list yields all {len(ids)} Observations in phenomenonTime order",
                      f"got {[o.id for o in allp]}, want {ids}")
            rep.check(all(same_time(o.phenomenon_time, t) for o, t in zip(allp, times)) and len(allp) == len(times),
                      "each paged Observation has the phenomenonTime posted",
                      f"got {[o.phenomenon_time for o in allp]}")

    # 3c. $expand on Things
    qt = service.things().query().filter(f"name eq {odata_str(thing_name)}").expand("Datastreams/Observations,Locations")
    things = listall(f"things().query().filter(name eq ...).expand('Datastreams/Observations,Locations')", qt)
    if things is not FAILED and rep.check(len(things) == 1, f"filter name eq {odata_str(thing_name)} finds 1 Thing ({len(things)})"):
        th = things[0]
        tl = th.locations.entities if th.locations is not None else []
        td = th.datastreams.entities if th.datastreams is not None else []
        rep.check(len(tl) == 1 and tl[0].name == location.name, "expanded Locations holds the Location",
                  f"got {[l.name for l in tl]}")
        rep.check(len(td) == 1 and td[0].id == ds_id, "expanded Datastreams holds the Datastream",
                  f"got {[d.id for d in td]}")
        if td:
            eo = td[0].observations.entities if td[0].observations is not None else []
            rep.check(sorted(o.id for o in eo) == sorted(ids) and
                      sorted(o.result for o in eo) == sorted(RESULTS),
                      f"expanded Datastreams/Observations holds the {len(ids)} Observations with their results",
                      f"got {[(o.id, o.result) for o in eo]}")
    # nested expand options: the latest value per Datastream, as dashboards ask for it
    qn = service.things().query().filter(f"name eq {odata_str(thing_name)}").expand(
        "Datastreams($select=id,name,unitOfMeasurement;$expand=Observations($orderby=phenomenonTime desc;$top=1))")
    things = listall("things().query().expand('Datastreams($select=...;$expand=Observations($orderby=phenomenonTime "
                     "desc;$top=1))')", qn)
    if things is not FAILED and rep.check(len(things) == 1, f"nested-option expand finds 1 Thing ({len(things)})"):
        td = things[0].datastreams.entities if things[0].datastreams is not None else []
        eo = td[0].observations.entities if td and td[0].observations is not None else []
        rep.check(len(eo) == 1 and eo[0].id == ids[-1] and num_eq(eo[0].result, RESULTS[-1]),
                  f"Observations($orderby=phenomenonTime desc;$top=1) is the latest ({RESULTS[-1]})",
                  f"got {[(o.id, o.result) for o in eo]}")
        rep.check(bool(td) and td[0].unit_of_measurement is not None and td[0].unit_of_measurement.symbol == "µg/m³",
                  "$select inside $expand keeps unitOfMeasurement",
                  f"got {td[0].__getstate__() if td else None!r}")

    # 3d. $filter through a navigation path
    flt = f"Datastream/Thing/name eq {odata_str(thing_name)}"
    nav = listall(f"observations().query().filter({flt!r}).orderby('phenomenonTime', 'ASC')",
                  service.observations().query().filter(flt).orderby("phenomenonTime", "ASC"))
    if nav is not FAILED:
        rep.check([o.id for o in nav] == ids, f"$filter={flt} finds exactly the {len(ids)} Observations, in order",
                  f"got {[o.id for o in nav]}")

    # 3e. geo filter on Locations
    for poly, should, where in ((NEAR_POLYGON, True, "around Shanghai"), (FAR_POLYGON, False, "around Berlin")):
        flt = f"st_within(location, geography'{poly}') and name eq {odata_str(location.name)}"
        got_g = listall(f"locations().query().filter(st_within(location, geography'POLYGON {where}') and name eq ...)",
                        service.locations().query().filter(flt))
        if got_g is not FAILED:
            n = 1 if should else 0
            rep.check(len(got_g) == n and (not should or loc is None or got_g[0].id == loc.id),
                      f"st_within a polygon {where} finds {n} Location(s)", f"got {[(l.id, l.name) for l in got_g]}")
    flt = f"st_within(location, geography'{NEAR_POLYGON}')"
    got_g = listall("locations().query().filter(st_within(location, geography'POLYGON around Shanghai')) (all pages)",
                    service.locations().query().filter(flt))
    if got_g is not FAILED and loc is not None:
        rep.check(loc.id in [l.id for l in got_g], f"plain st_within around Shanghai lists the Location among {len(got_g)}")
        far = [l for l in got_g if isinstance(l.location, dict) and l.location.get("type") == "Point"
               and not (121.3 <= l.location["coordinates"][0] <= 121.7 and 31.1 <= l.location["coordinates"][1] <= 31.4)]
        rep.check(not far, "every Point it lists lies inside the polygon", f"outside: {[(l.id, l.location) for l in far]}")

    # ------------------------------------------------------------------ 4. update, patch, delete
    th = call(f"things().find({thing.id!r}) for update", lambda: service.things().find(thing.id))
    if th is not FAILED:
        th.description = "Air quality station, recalibrated"
        th.properties = dict(th.properties or {}, status="calibrated")
        if call("update(Thing) -> PUT Things(id)", lambda: service.update(th)) is not FAILED:
            back = call("find(Thing) after update", lambda: service.things().find(thing.id))
            if back is not FAILED:
                rep.check(back.description == th.description and (back.properties or {}).get("status") == "calibrated"
                          and (back.properties or {}).get("district") == "黄浦区",
                          "after update(): description and properties are the new ones",
                          f"got {back.description!r} {back.properties!r}")
        patches = [{"op": "add", "path": "/properties/firmware", "value": "1.4.2"},
                   {"op": "replace", "path": "/description", "value": "Air quality station, firmware 1.4.2"}]
        if call("patch(Thing, JSON Patch ops) -> PATCH Things(id) application/json-patch+json",
                lambda: service.patch(th, patches)) is not FAILED:
            back = call("find(Thing) after patch", lambda: service.things().find(thing.id))
        else:
            back = FAILED
        if back is not FAILED:
            p = back.properties or {}
            rep.check(p.get("firmware") == "1.4.2" and p.get("status") == "calibrated" and p.get("run") == run_id
                      and back.description == "Air quality station, firmware 1.4.2",
                      "after patch(): /properties/firmware added, other properties kept, description replaced",
                      f"got {back.description!r} {p!r}")
        # the Datastream must survive a PUT of the Thing's own properties (PUT replaces properties, not links)
        left = listall("Thing.get_datastreams() after update", thing.get_datastreams().query())
        if left is not FAILED:
            rep.check([d.id for d in left] == [ds_id], "the Thing still has its Datastream after update/patch",
                      f"got {[d.id for d in left]}")

    gone = created[2]
    if call(f"delete(Observation {gone.id!r}) -> DELETE Observations(id)", lambda: service.delete(gone)) is not FAILED:
        try:
            with deadline(T, "find deleted Observation"):
                service.observations().find(gone.id)
            rep.fail(f"find() of the deleted Observation {gone.id!r} raises 404", "it was still found")
        except requests.exceptions.HTTPError as e:
            rep.check(e.response is not None and e.response.status_code == 404,
                      f"find() of the deleted Observation {gone.id!r} raises HTTP 404", describe_error(e))
        except Exception as e:  # noqa: BLE001
            rep.fail(f"find() of the deleted Observation {gone.id!r} raises HTTP 404", describe_error(e))
        rest = listall("Datastream.get_observations() after delete", ds.get_observations().query().orderby("phenomenonTime", "ASC"))
        if rest is not FAILED:
            rep.check([o.id for o in rest] == [i for i in ids if i != gone.id],
                      f"the Datastream lists the other {len(ids) - 1} Observations, not the deleted one",
                      f"got {[o.id for o in rest]}")

    # ------------------------------------------------------------------ 5. CreateObservations (dataArray)
    # README "DataArrays": DataArrayValue with components, datastream, add_observation; DataArrayDocument;
    # service.observations().create(dad) -> list of Observation(self_link=...)
    foi_id = None
    with_foi = call("Datastream.get_observations().query().expand('FeatureOfInterest').top(1) (first page)",
                    lambda: ds.get_observations().query().expand("FeatureOfInterest").top(1).list().entities)
    if with_foi is not FAILED and with_foi:
        foi = with_foi[0].feature_of_interest
        rep.check(foi is not None and foi.id not in (None, ""),
                  "the Observations posted without a FeatureOfInterest got one (generated from the Location)",
                  f"got {foi.__getstate__() if foi else None!r}")
        foi_id = foi.id if foi else None
    dav = fsc.DataArrayValue()
    P = dav.Property
    dav.components = {P.PHENOMENON_TIME, P.RESULT} | ({P.FEATURE_OF_INTEREST} if foi_id is not None else set())
    dav.datastream = ds
    da_t0 = times[-1] + timedelta(hours=1)
    da_vals = [61.5, 18.0, 27.25]
    foi_ent = fsc.FeatureOfInterest(id=foi_id) if foi_id is not None else None
    da_times = [iso(da_t0.astimezone(timezone.utc)).replace("+00:00", "Z"),
                iso(da_t0 + timedelta(hours=1)),
                f"{iso(da_t0 + timedelta(hours=2))}/{iso(da_t0 + timedelta(hours=3))}"]  # an interval, as in the README
    for t, v in zip(da_times, da_vals):
        dav.add_observation(fsc.Observation(result=v, phenomenon_time=t, datastream=ds, feature_of_interest=foi_ent))
    dad = fsc.DataArrayDocument()
    dad.add_data_array_value(dav)
    rep.info(f"CreateObservations components {dav.components}")
    res = call("observations().create(DataArrayDocument) -> POST CreateObservations",
               lambda: service.observations().create(dad), None)
    if res is not FAILED:
        links = [o.self_link for o in res]
        bad = [l for l in links if "Observations(" not in l or l.lower().startswith("error")]
        if rep.check(len(links) == 3 and not bad, "CreateObservations answers 3 Observation selfLinks",
                     f"got {links!r}"):
            da_ids = [fsc.utils.extract_value(l) for l in links]
            found = []
            for i in da_ids:
                o = call(f"observations().find({i!r}) of a dataArray Observation", lambda i=i: service.observations().find(i))
                found.append(o)
            rep.check(all(o is not FAILED for o in found) and [o.result for o in found] == da_vals,
                      f"the dataArray Observations have results {da_vals}",
                      f"got {[None if o is FAILED else o.result for o in found]}")
            if found and found[-1] is not FAILED:
                pt = str(found[-1].phenomenon_time or "")
                rep.check("/" in pt and same_time(pt, da_t0 + timedelta(hours=2)),
                          "the interval phenomenonTime start/end is kept", f"got {pt!r}")

    # ------------------------------------------------------------------ 6. MQTT (optional)
    if args.mqtt_host:
        mqtt_step(rep, args, ds, ds_id, times[-1] + timedelta(hours=5), call)
    else:
        rep.info("MQTT step skipped (no --mqtt-host)")

    # ------------------------------------------------------------------ cleanup
    if args.keep:
        rep.info(f"--keep: left Thing {thing.id!r}, Datastream {ds_id!r}, Location {loc.id if loc else None!r} in place")
        rep.exit()
    call(f"delete(Thing {thing.id!r}) -> DELETE Things(id)", lambda: service.delete(thing))
    for what, dao, i in (("Thing", service.things(), thing.id), ("Datastream (deleted with its Thing)", service.datastreams(), ds_id),
                         ("Observation (deleted with its Datastream)", service.observations(), ids[0])):
        try:
            with deadline(T, f"find deleted {what}"):
                dao.find(i)
            rep.fail(f"after delete(Thing), find({i!r}) of the {what} raises 404", "it was still found")
        except requests.exceptions.HTTPError as e:
            rep.check(e.response is not None and e.response.status_code == 404,
                      f"after delete(Thing), find({i!r}) of the {what} raises HTTP 404", describe_error(e))
        except Exception as e:  # noqa: BLE001
            rep.fail(f"after delete(Thing), find({i!r}) of the {what} raises HTTP 404", describe_error(e))
    for what, ent in (("Location", loc), ("Sensor", fsc.Sensor(id=sensor_id) if sensor_id is not None else None),
                      ("ObservedProperty", fsc.ObservedProperty(id=op_id) if op_id is not None else None),
                      ("FeatureOfInterest", fsc.FeatureOfInterest(id=foi_id) if foi_id is not None else None)):
        if ent is not None:
            call(f"delete({what} {ent.id!r})", lambda e=ent: service.delete(e))
    rep.exit()


def mqtt_step(rep: Report, args, ds, ds_id, when: datetime, call) -> None:
    """Publish one Observation over MQTT, then poll the HTTP API (through the library) until it appears."""
    try:
        import paho.mqtt.client as mqtt
    except Exception as e:  # noqa: BLE001
        rep.fail("import paho.mqtt", f"{type(e).__name__}: {e}")
        return
    value = 77.5
    entity = f"Datastreams({ds_id})" if isinstance(ds_id, int) else f"Datastreams('{ds_id}')"
    topic = f"{args.mqtt_prefix}v1.1/{entity}/Observations"
    payload = json.dumps({"result": value, "phenomenonTime": when.isoformat()})
    connected = {"rc": None}
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"cityloop-frost-{suffix()}",
                         protocol=mqtt.MQTTv311)
    client.username_pw_set(args.user, args.api_key)
    client.on_connect = lambda c, u, flags, rc, props: connected.__setitem__("rc", rc)
    # Subscribers get new Observations (SensorThings MQTT receive-updates):
    # the server publishes each one it stores, with its @iot.id.
    echoes = []
    client.on_message = lambda c, u, msg: echoes.append(msg.payload)
    try:
        client.connect(args.mqtt_host, args.mqtt_port, keepalive=30)
    except Exception as e:  # noqa: BLE001
        rep.fail(f"MQTT connect {args.mqtt_host}:{args.mqtt_port}", f"{type(e).__name__}: {e}")
        return
    client.loop_start()
    try:
        end = time.monotonic() + 10
        while connected["rc"] is None and time.monotonic() < end:
            time.sleep(0.05)
        rc = connected["rc"]
        if not rep.check(rc is not None and not rc.is_failure, f"MQTT CONNECT to {args.mqtt_host}:{args.mqtt_port} "
                         f"(user {args.user!r}, password = API key) accepted", f"reason code {rc!r}"):
            return
        sub_rc, _ = client.subscribe(topic, qos=1)
        rep.check(sub_rc == mqtt.MQTT_ERR_SUCCESS, f"MQTT SUBSCRIBE to {topic}", f"rc {sub_rc}")
        info = client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=10)
        if not rep.check(info.is_published(), f"MQTT PUBLISH qos 1 to {topic} acknowledged", f"rc {info.rc}"):
            return
        rep.info(f"published {payload} to {topic}")
        deadline_at = time.monotonic() + args.mqtt_wait
        tries, seen = 0, []
        flt = f"result eq {value}"
        while True:
            tries += 1
            seen = call(f"poll Datastream.get_observations().query().filter({flt!r})",
                        lambda: list(ds.get_observations().query().filter(flt).list()))
            if seen is FAILED:
                return
            if seen or time.monotonic() >= deadline_at:
                break
            time.sleep(0.25)
        rep.check(len(seen) == 1 and num_eq(seen[0].result, value) and same_time(seen[0].phenomenon_time, when),
                  f"the MQTT-published Observation is listed over HTTP within {args.mqtt_wait:g}s "
                  f"({tries} poll(s))", f"got {[(o.id, o.result, o.phenomenon_time) for o in seen]}")
        echo_deadline = time.monotonic() + args.mqtt_wait
        def echoed():
            for raw in list(echoes):
                try:
                    msg = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(msg, dict) and "@iot.id" in msg and num_eq(msg.get("result"), value):
                    return msg
            return None
        while echoed() is None and time.monotonic() < echo_deadline:
            time.sleep(0.05)
        got = echoed()
        rep.check(got is not None and seen and got["@iot.id"] == seen[0].id,
                  f"a subscriber to {topic} receives the new Observation with its @iot.id",
                  f"received {echoes!r}")
    finally:
        client.loop_stop()
        client.disconnect()


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception:  # noqa: BLE001
        print(f"FAIL {LIB} driver crashed: " + traceback.format_exc().replace("\n", " | "), flush=True)
        raise SystemExit(1)
