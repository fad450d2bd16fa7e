"""Shared helpers for the Python Open311 client drivers (standard library only).

Nothing here talks to the server on a library's behalf: the drivers call the
client libraries; these helpers only print results, choose attribute values,
and (for diagnostics after a failure) fetch a URL again to show status + body.
"""
from __future__ import annotations

import argparse
import random
import string
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

LAT = 31.247
LONG = 121.435
JURISDICTION_DEFAULT = "310000"


def parse_args(description: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--base", required=True,
                    help="GeoReport v2 base URL, e.g. http://127.0.0.1:8080/open311/v2/")
    ap.add_argument("--api-key", required=True, help="api_key for POST requests")
    ap.add_argument("--photo", default=None, help="JPEG to upload where the library can upload media")
    ap.add_argument("--jurisdiction", default=JURISDICTION_DEFAULT,
                    help="jurisdiction_id to send (default 310000); empty string sends none")
    args = ap.parse_args()
    if not args.base.endswith("/"):
        args.base += "/"
    return args


class Report:
    """Prints one line per check and remembers whether anything failed."""

    def __init__(self, lib: str):
        self.lib = lib
        self.failures = 0

    def _out(self, line: str) -> None:
        print(line, flush=True)

    def ok(self, what: str) -> None:
        self._out(f"ok {self.lib} {what}")

    def fail(self, what: str, detail: str = "") -> None:
        self.failures += 1
        self._out(f"FAIL {self.lib} {what}" + (f" -- {detail}" if detail else ""))

    def na(self, what: str, why: str) -> None:
        self._out(f"n/a: {self.lib} {what} because {why}")

    def info(self, what: str) -> None:
        self._out(f"info {self.lib} {what}")

    def check(self, cond: bool, what: str, detail: str = "") -> bool:
        if cond:
            self.ok(what)
        else:
            self.fail(what, detail)
        return cond

    def exit(self) -> None:
        sys.exit(1 if self.failures else 0)


def diagnose(url: str) -> str:
    """GET url again (idempotent) and describe the HTTP status and body."""
    try:
        with urllib.request.urlopen(url, timeout=20) as r:
            body = r.read(2000).decode("utf-8", "replace")
            return f"HTTP {r.status} {r.headers.get('Content-Type')} body: {body!r}"
    except urllib.error.HTTPError as e:
        body = e.read(2000).decode("utf-8", "replace")
        return f"HTTP {e.code} {e.headers.get('Content-Type')} body: {body!r}"
    except Exception as e:  # noqa: BLE001 - diagnostics only
        return f"(re-fetch failed: {type(e).__name__}: {e})"


def as_list(v: Any) -> List[Any]:
    """xmltodict gives a dict for one child, a list for several, None for none."""
    if v is None:
        return []
    if isinstance(v, list):
        return v
    return [v]


def truthy(v: Any) -> bool:
    return v is True or (isinstance(v, str) and v.strip().lower() == "true")


def attribute_values(attr: Dict[str, Any]) -> List[Dict[str, Any]]:
    """`values` as a list of {key, name}, from JSON (list) or xmltodict ({value: ...})."""
    vals = attr.get("values")
    if isinstance(vals, dict):
        vals = vals.get("value")
    return [v for v in as_list(vals) if isinstance(v, dict)]


def value_for(attr: Dict[str, Any]) -> Any:
    """A valid value for one attribute, derived from its datatype and values."""
    dt = str(attr.get("datatype") or "string").strip().lower()
    vals = attribute_values(attr)
    if dt == "singlevaluelist":
        return str(vals[0]["key"]) if vals else None
    if dt == "multivaluelist":
        return [str(vals[0]["key"])] if vals else None
    if dt == "number":
        return "1"
    if dt == "datetime":
        return datetime.now(timezone(timedelta(hours=8))).replace(microsecond=0).isoformat()
    return "checked by the client harness"  # string / text


def fill_attributes(attrs: List[Dict[str, Any]], rep: Report, fmt: str) -> Optional[Dict[str, Any]]:
    """Every required variable attribute gets a value; if none is required, the
    first variable one does, so at least one attribute is always sent."""
    variable = [a for a in attrs if not (a.get("variable") is False or
                                         str(a.get("variable")).strip().lower() == "false")]
    chosen = [a for a in variable if truthy(a.get("required"))] or variable[:1]
    if not chosen:
        rep.fail(f"{fmt} definition has a variable attribute to fill",
                 f"attributes: {attrs!r}"[:600])
        return None
    out: Dict[str, Any] = {}
    for a in chosen:
        v = value_for(a)
        if v is None:
            rep.fail(f"{fmt} attribute {a.get('code')!r} ({a.get('datatype')}) offers values to choose from",
                     f"attribute: {a!r}"[:600])
            return None
        out[str(a.get("code"))] = v
    return out


def description(lib: str, fmt: str) -> str:
    """Unique description without digits (the server masks phone / ID numbers),
    with non-ASCII text so that a wrong character encoding shows up."""
    tag = "".join(random.choice(string.ascii_lowercase) for _ in range(10))
    return f"东门路灯不亮 Street light dark at the east gate, filed by the {lib} client harness over {fmt}, ref {tag}"
