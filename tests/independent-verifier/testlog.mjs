// Reference log for the self-test: builds a tlog-tiles log in memory and
// serves it over node:http in the format the cityloop server is expected to
// use. Deliberately does NOT import verify.mjs — the tree, tiles and proofs
// here are computed a different way (RFC 6962 §2.1.1 PATH / §2.1.2 PROOF
// recursive definitions, tiles by pairwise reduction) so that the self-test
// pits two independent implementations against each other.

import { createHash, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';

const H = (...parts) => {
  const h = createHash('sha256');
  parts.forEach((p) => h.update(p));
  return h.digest();
};
const hashLeaf = (d) => H(Buffer.of(0), d);
const hashChildren = (l, r) => H(Buffer.of(1), l, r);

/** k: largest power of two < n */
function split(n) {
  return 2 ** Math.floor(Math.log2(n - 1));
}

// Subtree hashes are memoised per leaf-hash array (keyed by "lo:hi"), so
// serving many proofs from one log stays cheap.
const memo = new WeakMap();

/** MTH(D[lo:hi]) over an array of leaf hashes (RFC 6962 §2.1). */
export function treeHash(lh, lo = 0, hi = lh.length) {
  const n = hi - lo;
  if (n === 0) return H();
  if (n === 1) return lh[lo];
  let m = memo.get(lh);
  if (!m) memo.set(lh, (m = new Map()));
  const key = `${lo}:${hi}`;
  let v = m.get(key);
  if (!v) {
    const k = split(n);
    v = hashChildren(treeHash(lh, lo, lo + k), treeHash(lh, lo + k, hi));
    m.set(key, v);
  }
  return v;
}

/** PATH(m, D[0:n]) — RFC 6962 §2.1.1 audit path, leaf-to-root order. */
export function auditPath(m, lh, n = lh.length) {
  const path = (m, lo, hi) => {
    const size = hi - lo;
    if (size <= 1) return [];
    const k = split(size);
    if (m < k) return [...path(m, lo, lo + k), treeHash(lh, lo + k, hi)];
    return [...path(m - k, lo + k, hi), treeHash(lh, lo, lo + k)];
  };
  return path(m, 0, n);
}

/** PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true) — RFC 6962 §2.1.2. */
export function consistencyProof(m, lh, n = lh.length) {
  const sub = (m, lo, hi, b) => {
    const size = hi - lo;
    if (m === size) return b ? [] : [treeHash(lh, lo, hi)];
    const k = split(size);
    if (m <= k) return [...sub(m, lo, lo + k, b), treeHash(lh, lo + k, hi)];
    return [...sub(m - k, lo + k, hi, false), treeHash(lh, lo, lo + k)];
  };
  return sub(m, 0, n, true);
}

export function newSigner(name) {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url');
  const id = H(Buffer.from(name), Buffer.of(0x0a, 0x01), raw).subarray(0, 4);
  return {
    name,
    privateKey,
    idBytes: id,
    vkey: `${name}+${id.toString('hex')}+${Buffer.concat([Buffer.of(1), raw]).toString('base64')}`,
    signLine(text) {
      const sig = cryptoSign(null, Buffer.from(text, 'utf8'), privateKey);
      return `— ${name} ${Buffer.concat([id, sig]).toString('base64')}\n`;
    },
  };
}

function tileIndexPath(n) {
  const s = String(n);
  const padded = s.padStart(Math.ceil(s.length / 3) * 3, '0');
  const parts = padded.match(/.../g);
  return parts.map((p, i) => (i === parts.length - 1 ? p : `x${p}`)).join('/');
}

function tileName(level, n, w) {
  return `tile/${level}/${tileIndexPath(n)}${w < 256 ? `.p/${w}` : ''}`;
}

/**
 * Builds the log: entries (Buffers) -> leaf hashes, every full and the
 * rightmost partial tile at every level, entry bundles, a signed checkpoint.
 */
export function buildLog(entries, { origin, signer, otherSigners = [], extensions = [] }) {
  const lh = entries.map(hashLeaf);
  const size = lh.length;
  const root = treeHash(lh);
  const files = new Map();

  // Level 0: leaf hashes; level l+1: MTH of each *full* run of 256 level-l
  // hashes, computed by pairwise reduction of the 256 hashes (a perfect subtree).
  let level = 0;
  let row = lh;
  while (row.length > 0) {
    for (let start = 0; start < row.length; start += 256) {
      const chunk = row.slice(start, start + 256);
      files.set(tileName(level, start / 256, chunk.length), Buffer.concat(chunk));
    }
    const next = [];
    for (let start = 0; start + 256 <= row.length; start += 256) {
      let layer = row.slice(start, start + 256);
      while (layer.length > 1) {
        const up = [];
        for (let i = 0; i < layer.length; i += 2) up.push(hashChildren(layer[i], layer[i + 1]));
        layer = up;
      }
      next.push(layer[0]);
    }
    row = next;
    level++;
  }
  for (let start = 0; start < size; start += 256) {
    const chunk = entries.slice(start, start + 256);
    const parts = [];
    for (const e of chunk) {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(e.length);
      parts.push(len, e);
    }
    files.set(tileName('entries', start / 256, chunk.length), Buffer.concat(parts));
  }

  const text = `${origin}\n${size}\n${root.toString('base64')}\n${extensions.map((e) => `${e}\n`).join('')}`;
  const checkpoint = `${text}\n${signer.signLine(text)}${otherSigners.map((s) => s.signLine(text)).join('')}`;
  return { entries, lh, size, root, files, text, checkpoint, vkey: `${signer.vkey}\n`, origin };
}

/**
 * Serves `site` (mutable: {checkpoint, vkey, files, proofLog, hooks}) under
 * /transparency/log/. Returns { base, close }.
 */
export async function serve(site) {
  const prefix = '/transparency/log/';
  const server = createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    const send = (status, type, body, extra = {}) => {
      res.writeHead(status, { 'content-type': type, 'content-length': body.length, ...extra });
      res.end(body);
    };
    const notFound = () => send(404, 'text/plain', Buffer.from('not found\n'));
    if (req.method !== 'GET' || !u.pathname.startsWith(prefix)) return notFound();
    const rel = u.pathname.slice(prefix.length);
    const hook = site.hooks?.[rel];
    if (rel === 'checkpoint') return send(200, 'text/plain; charset=utf-8', Buffer.from(site.checkpoint, 'utf8'));
    if (rel === 'key') return send(200, 'text/plain; charset=utf-8', Buffer.from(site.vkey, 'utf8'));
    if (rel.startsWith('tile/')) {
      const body = site.files.get(rel);
      if (!body) return notFound();
      if (rel.startsWith('tile/entries/') && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
        return send(200, 'application/octet-stream', gzipSync(body), { 'content-encoding': 'gzip' });
      }
      return send(200, 'application/octet-stream', body);
    }
    const b64 = (h) => h.toString('base64');
    const num = (name) => {
      const v = u.searchParams.get(name);
      return v !== null && /^(0|[1-9][0-9]*)$/.test(v) ? Number(v) : NaN;
    };
    const lh = site.proofLog.lh;
    if (rel === 'proof/inclusion') {
      const index = num('index');
      const size = num('size');
      if (!(size >= 1 && size <= lh.length && index >= 0 && index < size)) return send(400, 'text/plain', Buffer.from('bad range\n'));
      let hashes = auditPath(index, lh, size);
      if (hook) hashes = hook(hashes, { index, size });
      const body = { index, tree_size: size, leaf_hash: b64(lh[index]), hashes: hashes.map(b64) };
      return send(200, 'application/json', Buffer.from(JSON.stringify(body)));
    }
    if (rel === 'proof/consistency') {
      const first = num('first');
      const second = num('second');
      if (!(first >= 1 && first <= second && second <= lh.length)) return send(400, 'text/plain', Buffer.from('bad range\n'));
      const hashes = first === second ? [] : consistencyProof(first, lh, second);
      return send(200, 'application/json', Buffer.from(JSON.stringify({ first, second, hashes: hashes.map(b64) })));
    }
    return notFound();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    base: `http://127.0.0.1:${port}${prefix}`,
    close: () => new Promise((r) => server.close(r)),
  };
}

/** Deterministic cityloop-like JSON leaves (no personal data). */
export function sampleEntries(n, salt = 'a') {
  const out = [];
  for (let i = 0; i < n; i++) {
    const obj = {
      v: 1,
      kind: ['ride_completed', 'station_opened', 'fare_changed', 'audit'][i % 4],
      seq: i,
      station: `st-${(i * 7919) % 1000}`,
      at: `2025-01-${String((i % 28) + 1).padStart(2, '0')}T08:${String(i % 60).padStart(2, '0')}:00Z`,
      note: `${salt}-${'x'.repeat(i % 37)}`,
      digest: H(Buffer.from(`${salt}${i}`)).toString('base64'),
    };
    out.push(Buffer.from(JSON.stringify(obj), 'utf8'));
  }
  return out;
}
