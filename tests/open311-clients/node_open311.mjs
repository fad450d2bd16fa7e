#!/usr/bin/env node
// Driver for npm `open311` 0.0.12 (codeforamerica/node-open311), used as its
// README says: new Open311({endpoint, jurisdiction, format, discovery}), then
// serviceDiscovery, serviceList, serviceDefinition, submitRequest (with
// `attributes` and `apiKey`), token, serviceRequest / serviceRequests.
//
// JSON only: the package's XML parsers cannot be installed from the npm
// registry (sparkxml is a git-only dependency; xml2json@0.2.4 needs node-waf),
// so package.json maps both to placeholders that refuse to parse (see README).
// submitRequest posts application/x-www-form-urlencoded only: no photo upload.
//
// Usage: node node_open311.mjs --base URL --api-key KEY [--photo PATH] [--jurisdiction ID]

import Open311 from 'open311';

const LIB = 'node-open311';
const LAT = 31.247;
const LONG = 121.435;

function parseArgs(argv) {
  const a = { base: null, apiKey: null, photo: null, jurisdiction: '310000' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--base') { a.base = v; i++; }
    else if (k === '--api-key') { a.apiKey = v; i++; }
    else if (k === '--photo') { a.photo = v; i++; }
    else if (k === '--jurisdiction') { a.jurisdiction = v; i++; }
    else if (k === '-h' || k === '--help') { a.help = true; }
    else { console.error(`unknown argument ${k}`); process.exit(2); }
  }
  if (a.help || !a.base || !a.apiKey) {
    console.error('usage: node node_open311.mjs --base URL --api-key KEY [--photo PATH] [--jurisdiction ID]');
    process.exit(2);
  }
  if (!a.base.endsWith('/')) a.base += '/';
  return a;
}

let failures = 0;
const ok = (what) => console.log(`ok ${LIB} ${what}`);
const fail = (what, detail = '') => { failures++; console.log(`FAIL ${LIB} ${what}${detail ? ' -- ' + detail : ''}`); };
const na = (what, why) => console.log(`n/a: ${LIB} ${what} because ${why}`);
const info = (what) => console.log(`info ${LIB} ${what}`);
const check = (cond, what, detail = '') => { if (cond) ok(what); else fail(what, detail); return cond; };
const show = (x) => { try { return JSON.stringify(x).slice(0, 600); } catch { return String(x).slice(0, 600); } };
const finish = () => process.exit(failures ? 1 : 0);

// The library passes no error object for HTTP failures (only a message with the
// status), and it throws asynchronously when the connection itself fails.
process.on('uncaughtException', (e) => { fail('library threw (server unreachable or malformed answer?)', String(e && e.stack || e).split('\n').slice(0, 3).join(' | ')); finish(); });
setTimeout(() => { fail('timed out after 120 s'); finish(); }, 120000).unref();

async function diagnose(url) {
  try {
    const r = await fetch(url);
    const body = (await r.text()).slice(0, 800);
    return `HTTP ${r.status} ${r.headers.get('content-type')} body: ${JSON.stringify(body)}`;
  } catch (e) { return `(re-fetch failed: ${e})`; }
}

// Wrap a callback-style library call: resolves [err, data].
const call = (fn, ...args) => new Promise((resolve) => fn(...args, (err, data) => resolve([err, data])));

const truthy = (v) => v === true || (typeof v === 'string' && v.trim().toLowerCase() === 'true');

function valueFor(attr) {
  const dt = String(attr.datatype || 'string').trim().toLowerCase();
  const vals = Array.isArray(attr.values) ? attr.values : [];
  if (dt === 'singlevaluelist') return vals.length ? String(vals[0].key) : null;
  if (dt === 'multivaluelist') return vals.length ? [String(vals[0].key)] : null;
  if (dt === 'number') return '1';
  if (dt === 'datetime') {
    const d = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 19);
    return `${d}+08:00`;
  }
  return 'checked by the client harness';
}

function fillAttributes(attrs) {
  const variable = attrs.filter((a) => !(a.variable === false || String(a.variable).toLowerCase() === 'false'));
  let chosen = variable.filter((a) => truthy(a.required));
  if (!chosen.length) chosen = variable.slice(0, 1);
  if (!chosen.length) { fail('json definition has a variable attribute to fill', show(attrs)); return null; }
  const out = {};
  for (const a of chosen) {
    const v = valueFor(a);
    if (v === null) { fail(`json attribute ${a.code} (${a.datatype}) offers values to choose from`, show(a)); return null; }
    out[String(a.code)] = v;
  }
  return out;
}

function description(fmt) {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  let tag = '';
  for (let i = 0; i < 10; i++) tag += letters[Math.floor(Math.random() * letters.length)];
  // no digits (the server masks phone / ID numbers); non-ASCII to catch encoding bugs
  return `东门路灯不亮 Street light dark at the east gate, filed by the ${LIB} client harness over ${fmt}, ref ${tag}`;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const base = args.base;
  const fmt = 'json';
  const jurisdictionQs = args.jurisdiction ? `?jurisdiction_id=${encodeURIComponent(args.jurisdiction)}` : '';
  info(`open311 0.0.12 against ${base}`);
  na('xml', 'open311@0.0.12 parses XML with sparkxml (a git-only dependency, not on the npm registry) and '
    + 'xml2json@0.2.4 (node-expat 1.4.1, built with node-waf, impossible on Node 20); both are placeholders here');
  na('photo upload', 'open311@0.0.12 submitRequest sends application/x-www-form-urlencoded only (no file or multipart)');
  na('servicerequestupdates', 'open311@0.0.12 has no method for it');

  // options as listed in the package README: endpoint, jurisdiction, discovery, format, apiKey
  const options = { endpoint: base, format: fmt, discovery: base + 'discovery.json', apiKey: args.apiKey };
  if (args.jurisdiction) options.jurisdiction = args.jurisdiction;
  const api = new Open311(options);

  // 0. discovery
  {
    const [err, data] = await call(api.serviceDiscovery.bind(api));
    if (err) fail(`${fmt} serviceDiscovery()`, `${data}; ${await diagnose(options.discovery)}`);
    else {
      const eps = data && Array.isArray(data.endpoints) ? data.endpoints : [];
      check(eps.some((e) => e && e.specification === 'http://wiki.open311.org/GeoReport_v2'),
        `${fmt} discovery lists an endpoint with specification http://wiki.open311.org/GeoReport_v2`, show(data));
    }
  }

  // 1. services
  const [e1, services] = await call(api.serviceList.bind(api));
  if (e1) { fail(`${fmt} serviceList()`, `${services}; ${await diagnose(base + 'services.json' + jurisdictionQs)}`); return; }
  if (!check(Array.isArray(services) && services.length >= 1,
    `${fmt} serviceList() returned ${Array.isArray(services) ? services.length : '?'} service(s), at least 1`, show(services))) return;
  const bad = services.filter((s) => !(s && typeof s.service_code === 'string' && s.service_code));
  check(!bad.length, `${fmt} every service_code is a non-empty string`, `offending: ${show(bad)}`);
  const svc = services.find((s) => s && truthy(s.metadata));
  if (!check(!!svc, `${fmt} a service has metadata=true`, show(services))) return;
  const code = String(svc.service_code);

  // 2. definition
  const [e2, def] = await call(api.serviceDefinition.bind(api), code);
  if (e2) { fail(`${fmt} serviceDefinition(${code})`, `${def}; ${await diagnose(base + `services/${encodeURIComponent(code)}.json` + jurisdictionQs)}`); return; }
  check(def && String(def.service_code) === code, `${fmt} definition.service_code == ${code}`, show(def));
  const attrs = def && Array.isArray(def.attributes) ? def.attributes : [];
  if (!check(attrs.length >= 1, `${fmt} definition of ${code} has attributes (${attrs.length})`, show(def))) return;
  const values = fillAttributes(attrs);
  if (!values) return;

  // 3. post with attributes
  const desc = description(fmt);
  const [e3, posted] = await call(api.submitRequest.bind(api), {
    service_code: code, lat: LAT, long: LONG, description: desc, attributes: values,
  });
  if (e3) { fail(`${fmt} submitRequest(${code}) with attributes ${Object.keys(values).join(',')}`, String(posted).slice(0, 900)); return; }
  const first = Array.isArray(posted) ? posted[0] : posted;
  let rid = first && first.service_request_id;
  const token = first && first.token;
  if ((rid === undefined || rid === null || rid === '') && token) {
    info(`${fmt} POST answered a token ${token}; resolving with token()`);
    const [et, t] = await call(api.token.bind(api), String(token));
    if (et) { fail(`${fmt} token(${token})`, `${t}; ${await diagnose(base + `tokens/${token}.json` + jurisdictionQs)}`); return; }
    const t0 = Array.isArray(t) ? t[0] : t;
    rid = t0 && t0.service_request_id;
  }
  if (!check(rid !== undefined && rid !== null && rid !== '', `${fmt} submitRequest answered a service_request_id`, show(posted))) return;
  rid = String(rid);
  info(`${fmt} created service_request_id=${rid} with attributes ${show(values)}`);

  // 4. read back by id
  const [e4, got] = await call(api.serviceRequest.bind(api), rid);
  if (e4) { fail(`${fmt} serviceRequest(${rid})`, `${got}; ${await diagnose(base + `requests/${encodeURIComponent(rid)}.json` + jurisdictionQs)}`); return; }
  if (!check(Array.isArray(got) && got.length === 1, `${fmt} serviceRequest(${rid}) returned an array of one request`, show(got))) return;
  const r = got[0];
  check(String(r.service_request_id) === rid, `${fmt} read-back service_request_id == ${rid}`, `got ${show(r.service_request_id)}`);
  check(String(r.service_code) === code, `${fmt} read-back service_code == ${code}`, `got ${show(r.service_code)}`);
  check(r.description === desc, `${fmt} read-back description is what was posted`, `posted ${show(desc)}, got ${show(r.description)}`);
  check(r.requested_datetime instanceof Date && !Number.isNaN(r.requested_datetime.getTime()),
    `${fmt} read-back requested_datetime parses as a date (the library converts it)`, show(r.requested_datetime));
  info(`${fmt} read-back lat=${show(r.lat)} long=${show(r.long)} status=${show(r.status)}`);

  // 5. the same request through GET requests.json?service_request_id=
  const [e5, lst] = await call(api.serviceRequests.bind(api), [rid], {});
  if (e5) fail(`${fmt} serviceRequests([${rid}])`, `${lst}; ${await diagnose(base + `requests.json?service_request_id=${rid}`)}`);
  else check(Array.isArray(lst) && lst.some((x) => x && String(x.service_request_id) === rid),
    `${fmt} serviceRequests([${rid}]) contains it`, show(lst));
}

main().then(finish, (e) => { fail('driver crashed', String(e && e.stack || e).split('\n').slice(0, 3).join(' | ')); finish(); });
