#!/usr/bin/env node
// Independent verifier for a C2SP tlog-tiles transparency log (cityloop).
//
// Written from the specifications only:
//   - RFC 6962 §2.1 / RFC 9162 §2.1   Merkle tree hash, inclusion (§2.1.3.2)
//                                     and consistency (§2.1.4.2) verification
//   - C2SP signed-note               note format, Ed25519 signatures, key IDs
//   - C2SP tlog-checkpoint           checkpoint body (origin, size, root)
//   - C2SP tlog-tiles                tile / entry-bundle paths and contents
//
// Plain Node.js >= 20, ES module, no dependencies beyond node: built-ins.
//
// Usage: node verify.mjs <base-url-of-log> [--key <vkey>] [--state <file>]
//                        [--samples N] [--concurrency N] [--timeout-ms N]
// Exit status: 0 = everything verified, 1 = a verification failed (details
// on stderr), 2 = bad command line.

import { createHash, createPublicKey, verify as cryptoVerify, randomInt } from 'node:crypto';
import { readFile, writeFile, rename } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

// ---------------------------------------------------------------------------
// Hashing (RFC 6962 §2.1 / RFC 9162 §2.1.1)
// ---------------------------------------------------------------------------

const HASH_LEN = 32;
const TILE_WIDTH = 256; // tlog-tiles: tiles have height 8, i.e. 256 hashes

export function sha256(...parts) {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** MTH({d}) = SHA-256(0x00 || d) */
export function leafHash(entry) {
  return sha256(LEAF_PREFIX, entry);
}

/** Interior node: SHA-256(0x01 || left || right) */
export function nodeHash(left, right) {
  return sha256(NODE_PREFIX, left, right);
}

/** Largest power of two strictly smaller than n (n >= 2). */
export function splitPoint(n) {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * RFC 6962 MTH over a range of leaf hashes stored back to back in `leaves`
 * (a Buffer of count*32 bytes). Computes MTH(D[lo:hi]).
 *   MTH({})    = SHA-256()
 *   MTH({d0})  = leaf hash (already stored)
 *   MTH(D[n])  = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])), k = largest 2^i < n
 */
export function mthRange(leaves, lo, hi) {
  const n = hi - lo;
  if (n === 0) return sha256();
  if (n === 1) return leaves.subarray(lo * HASH_LEN, (lo + 1) * HASH_LEN);
  const k = splitPoint(n);
  return nodeHash(mthRange(leaves, lo, lo + k), mthRange(leaves, lo + k, hi));
}

const half = (x) => Math.floor(x / 2);
const isOdd = (x) => x % 2 === 1;

// ---------------------------------------------------------------------------
// RFC 9162 §2.1.3.2 — verifying an inclusion proof
// ---------------------------------------------------------------------------

/** Returns null on success, or a string saying why the proof is invalid. */
export function verifyInclusion(leafIndex, treeSize, leafHashValue, inclusionPath, rootHash) {
  // 1. If leaf_index >= tree_size, fail.
  if (!Number.isSafeInteger(leafIndex) || !Number.isSafeInteger(treeSize) || leafIndex < 0 || leafIndex >= treeSize) {
    return `leaf index ${leafIndex} is not below tree size ${treeSize}`;
  }
  // 2. fn = leaf_index, sn = tree_size - 1.
  let fn = leafIndex;
  let sn = treeSize - 1;
  // 3. r = hash.
  let r = leafHashValue;
  // 4. For each p in inclusion_path:
  for (let i = 0; i < inclusionPath.length; i++) {
    const p = inclusionPath[i];
    // a. If sn is 0, fail.
    if (sn === 0) return `proof has ${inclusionPath.length} hashes, more than the ${i} this tree shape needs`;
    // b. If LSB(fn) is set, or fn == sn:
    if (isOdd(fn) || fn === sn) {
      // i. r = HASH(0x01 || p || r)
      r = nodeHash(p, r);
      // ii. If LSB(fn) is not set, shift fn and sn right until LSB(fn) is set or fn is 0.
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      // Otherwise: r = HASH(0x01 || r || p)
      r = nodeHash(r, p);
    }
    // c. Right-shift fn and sn once.
    fn = half(fn);
    sn = half(sn);
  }
  // 5. sn must be 0 and r must equal the root hash.
  if (sn !== 0) return `proof has only ${inclusionPath.length} hashes, too few for this tree shape`;
  if (!r.equals(rootHash)) return `recomputed root ${hex(r)} does not equal expected root ${hex(rootHash)}`;
  return null;
}

// ---------------------------------------------------------------------------
// RFC 9162 §2.1.4.2 — verifying a consistency proof
// ---------------------------------------------------------------------------

/** Returns null on success, or a string saying why the proof is invalid. */
export function verifyConsistency(first, second, firstHash, secondHash, consistencyPath) {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) {
    return `invalid sizes: first=${first} second=${second}`;
  }
  // Cases outside the algorithm's 0 < first < second domain (see README).
  if (first === second) {
    if (consistencyPath.length !== 0) return `proof between equal sizes must be empty, got ${consistencyPath.length} hashes`;
    if (!firstHash.equals(secondHash)) return `same size ${first} but different roots`;
    return null;
  }
  if (first === 0) {
    if (consistencyPath.length !== 0) return `proof from the empty tree must be empty, got ${consistencyPath.length} hashes`;
    return null;
  }
  // 1. If consistency_path is empty, fail.
  if (consistencyPath.length === 0) return 'consistency proof is empty';
  let path = consistencyPath;
  // 2. If first is an exact power of 2, prepend first_hash.
  if (isPowerOfTwo(first)) path = [firstHash, ...consistencyPath];
  // 3. fn = first - 1, sn = second - 1.
  let fn = first - 1;
  let sn = second - 1;
  // 4. If LSB(fn) is set, right-shift fn and sn until LSB(fn) is not set.
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // 5. fr = sr = first value of path.
  let fr = path[0];
  let sr = path[0];
  // 6. For each subsequent value c:
  for (let i = 1; i < path.length; i++) {
    const c = path[i];
    // a. If sn is 0, fail.
    if (sn === 0) return `proof has more hashes than this pair of tree sizes needs`;
    // b. If LSB(fn) is set, or fn == sn:
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr); // i.
      sr = nodeHash(c, sr); // ii.
      // iii. If LSB(fn) is not set, shift until LSB(fn) is set or fn is 0.
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c); // Otherwise: sr = HASH(0x01 || sr || c)
    }
    // c. Right-shift fn and sn once.
    fn = half(fn);
    sn = half(sn);
  }
  // 7. fr == first_hash, sr == second_hash, sn == 0.
  if (sn !== 0) return 'proof has too few hashes for this pair of tree sizes';
  if (!fr.equals(firstHash)) return `proof reconstructs old root ${hex(fr)}, expected ${hex(firstHash)}`;
  if (!sr.equals(secondHash)) return `proof reconstructs new root ${hex(sr)}, expected ${hex(secondHash)}`;
  return null;
}

function isPowerOfTwo(x) {
  if (x < 1) return false;
  while (x % 2 === 0) x /= 2;
  return x === 1;
}

// ---------------------------------------------------------------------------
// Encodings
// ---------------------------------------------------------------------------

export function hex(b) {
  return Buffer.from(b).toString('hex');
}

/** Strict standard base64 (RFC 4648 §4, with padding); returns Buffer or null. */
export function decodeBase64Strict(s) {
  if (typeof s !== 'string' || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
  const b = Buffer.from(s, 'base64');
  if (b.toString('base64') !== s) return null; // non-canonical padding bits etc.
  return b;
}

// ---------------------------------------------------------------------------
// C2SP signed-note: verifier keys, note parsing, Ed25519 signatures
// ---------------------------------------------------------------------------

const SIG_TYPE_ED25519 = 0x01;

/** key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4], big-endian uint32 */
export function ed25519KeyId(name, publicKey) {
  return sha256(Buffer.from(name, 'utf8'), Buffer.from([0x0a, SIG_TYPE_ED25519]), publicKey).readUInt32BE(0);
}

function isValidKeyName(name) {
  // non-empty, no Unicode spaces, no '+'
  return name.length > 0 && !/[\s+\u0085\u180e\u200b]/u.test(name) && !/[\x00-\x1f\x7f]/.test(name);
}

/**
 * Parses a verifier key "<name>+<8 hex key id>+<base64(0x01 || 32-byte key)>".
 * The name cannot contain '+', but the base64 part can, so split on the
 * first two '+' only.
 */
export function parseVerifierKey(vkey) {
  const s = vkey.replace(/\s+$/u, '').replace(/^\s+/u, '');
  const p1 = s.indexOf('+');
  if (p1 < 0) throw new Error('verifier key has no "+" separators');
  const p2 = s.indexOf('+', p1 + 1);
  if (p2 < 0) throw new Error('verifier key has only one "+" separator');
  const name = s.slice(0, p1);
  const idHex = s.slice(p1 + 1, p2);
  const b64 = s.slice(p2 + 1);
  if (!isValidKeyName(name)) throw new Error(`verifier key name ${JSON.stringify(name)} is empty or contains spaces/'+'`);
  if (!/^[0-9a-fA-F]{8}$/.test(idHex)) throw new Error(`verifier key id ${JSON.stringify(idHex)} is not 8 hex digits`);
  const raw = decodeBase64Strict(b64);
  if (!raw) throw new Error('verifier key material is not valid base64');
  if (raw.length !== 33 || raw[0] !== SIG_TYPE_ED25519) {
    throw new Error(`verifier key is not an Ed25519 key (type byte 0x${raw[0]?.toString(16) ?? '??'}, ${raw.length} bytes; want 0x01 + 32 bytes)`);
  }
  const publicKey = raw.subarray(1);
  const id = parseInt(idHex, 16) >>> 0;
  const computed = ed25519KeyId(name, publicKey);
  if (computed !== id) {
    throw new Error(`verifier key id ${idHex} does not match SHA-256(name||0x0A||0x01||key)[:4] = ${computed.toString(16).padStart(8, '0')}`);
  }
  const keyObject = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey.toString('base64url') }, format: 'jwk' });
  return { vkey: s, name, id, idHex: id.toString(16).padStart(8, '0'), publicKey, keyObject };
}

/**
 * Splits a signed note into text and signature lines (C2SP signed-note "Format").
 * Throws with a precise reason on malformed input.
 */
export function parseSignedNote(bytes) {
  let note;
  try {
    note = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new Error('note is not valid UTF-8');
  }
  const ctl = note.search(/[\x00-\x09\x0b-\x1f]/);
  if (ctl >= 0) throw new Error(`note contains ASCII control character 0x${note.charCodeAt(ctl).toString(16).padStart(2, '0')} at offset ${ctl} (only newline is allowed)`);
  if (!note.endsWith('\n')) throw new Error('note does not end with a newline');
  // The text is separated from the signatures by the last empty line.
  const sep = note.lastIndexOf('\n\n');
  if (sep < 0) throw new Error('note has no blank line separating text from signatures');
  const text = note.slice(0, sep + 1); // includes the final newline, not the blank line
  const sigBlock = note.slice(sep + 2);
  const lines = sigBlock.split('\n');
  lines.pop(); // trailing '' after the final newline
  if (lines.length === 0) throw new Error('note has no signature lines');
  if (lines.length > 100) throw new Error(`note has ${lines.length} signature lines (limit 100)`);
  const signatures = lines.map((line, i) => {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!m) throw new Error(`signature line ${i + 1} is malformed: ${JSON.stringify(line.slice(0, 120))}`);
    const [, name, b64] = m;
    if (!isValidKeyName(name)) throw new Error(`signature line ${i + 1} has an invalid key name`);
    return { line: i + 1, name, b64 };
  });
  return { note, text, signatures };
}

/**
 * Verifies the note against one known Ed25519 key (C2SP signed-note "Signatures"):
 * signatures whose (name, key ID) do not both match are ignored; every matching
 * one MUST verify (we reject the note otherwise); at least one must verify.
 */
export function verifyNoteSignatures(parsed, key) {
  const textBytes = Buffer.from(parsed.text, 'utf8');
  let verified = 0;
  let ignored = 0;
  for (const s of parsed.signatures) {
    // Lines from other key names are ignored without further interpretation
    // (they may be witness cosignatures or other signature types).
    if (s.name !== key.name) {
      ignored++;
      continue;
    }
    const blob = decodeBase64Strict(s.b64);
    if (!blob || blob.length < 4) throw new Error(`signature line ${s.line} (${s.name}) is not base64 of a 4-byte key ID and a signature`);
    if (blob.readUInt32BE(0) !== key.id) {
      ignored++; // same name, different key ID: an unknown key (e.g. after rotation)
      continue;
    }
    const signature = blob.subarray(4);
    if (signature.length !== 64) {
      throw new Error(`signature line ${s.line} for key ${key.name}+${key.idHex} has ${signature.length} signature bytes, Ed25519 needs 64`);
    }
    const ok = cryptoVerify(null, textBytes, key.keyObject, signature);
    if (!ok) throw new Error(`Ed25519 signature on signature line ${s.line} (key ${key.name}+${key.idHex}) does not verify over the note text`);
    verified++;
  }
  if (verified === 0) {
    throw new Error(`no signature line from key ${key.name}+${key.idHex} (name and key ID must both match); ${ignored} other signature line(s) ignored`);
  }
  return { verified, ignored };
}

/** C2SP tlog-checkpoint note text: origin, tree size, base64 root hash, extension lines. */
export function parseCheckpointText(text) {
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new Error(`checkpoint text has ${lines.length} lines, needs at least 3`);
  lines.forEach((l, i) => {
    if (l.length === 0) throw new Error(`checkpoint line ${i + 1} is empty`);
  });
  const [origin, sizeStr, rootStr, ...extensions] = lines;
  if (!/^(0|[1-9][0-9]*)$/.test(sizeStr)) throw new Error(`checkpoint tree size ${JSON.stringify(sizeStr)} is not a decimal without leading zeroes`);
  const size = Number(sizeStr);
  if (!Number.isSafeInteger(size)) throw new Error(`checkpoint tree size ${sizeStr} is too large for this verifier`);
  const root = decodeBase64Strict(rootStr);
  if (!root || root.length !== HASH_LEN) throw new Error(`checkpoint root hash ${JSON.stringify(rootStr)} is not base64 of 32 bytes`);
  return { origin, size, root, rootB64: rootStr, extensions };
}

// ---------------------------------------------------------------------------
// C2SP tlog-tiles: paths and the set of tiles a tree size needs
// ---------------------------------------------------------------------------

/** N as zero-padded 3-digit path elements, all but the last prefixed with "x". */
export function encodeTileIndex(n) {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`bad tile index ${n}`);
  const groups = [];
  do {
    groups.unshift(n % 1000);
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? 'x' : '') + String(g).padStart(3, '0')).join('/');
}

/** "tile/<L>/<N>[.p/<W>]" (level === 'entries' gives the entry bundle path). */
export function tilePath(level, index, width) {
  const suffix = width === TILE_WIDTH ? '' : `.p/${width}`;
  return `tile/${level}/${encodeTileIndex(index)}${suffix}`;
}

/**
 * Every tile a tree of `size` needs, per level: at level l there are
 * floor(size / 256^l) hashes, i.e. floor(that/256) full tiles plus one
 * partial tile of width (that mod 256) if non-zero.
 */
export function tilesForSize(size) {
  const levels = [];
  for (let level = 0; ; level++) {
    const count = Math.floor(size / TILE_WIDTH ** level);
    if (count === 0) break;
    const tiles = [];
    const full = Math.floor(count / TILE_WIDTH);
    for (let n = 0; n < full; n++) tiles.push({ level, index: n, width: TILE_WIDTH });
    if (count % TILE_WIDTH) tiles.push({ level, index: full, width: count % TILE_WIDTH });
    levels.push({ level, count, tiles });
  }
  return levels;
}

/** Parses an entry bundle: a sequence of big-endian uint16 length-prefixed entries. */
export function parseEntryBundle(buf) {
  const entries = [];
  let off = 0;
  while (off < buf.length) {
    if (off + 2 > buf.length) throw new Error(`truncated length prefix at byte ${off}`);
    const len = buf.readUInt16BE(off);
    off += 2;
    if (off + len > buf.length) throw new Error(`entry #${entries.length} claims ${len} bytes but only ${buf.length - off} remain`);
    entries.push(buf.subarray(off, off + len));
    off += len;
  }
  return entries;
}

// ---------------------------------------------------------------------------
// Privacy scan
// ---------------------------------------------------------------------------

export const PRIVACY_PATTERNS = [
  // Pattern given in the brief (Chinese mobile number, 11 digits).
  { kind: 'Chinese mobile number', re: /(?<![0-9])1[3-9][0-9]{9}(?![0-9])/g },
  // Same number with a +86 / 0086 / 86 country prefix (the bare pattern's
  // digit look-behind would otherwise hide it) or written in 3-4-4 groups.
  { kind: 'Chinese mobile number', re: /(?<![0-9])(?:\+86|0086|86)[ -]?1[3-9][0-9]{9}(?![0-9])/g },
  { kind: 'Chinese mobile number', re: /(?<![0-9])1[3-9][0-9][ -][0-9]{4}[ -][0-9]{4}(?![0-9])/g },
  // 18-digit resident identity number (pattern given in the brief).
  { kind: 'resident ID number', re: /(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])/g },
  // E-mail address: local@domain.tld (Unicode letters allowed).
  { kind: 'e-mail address', re: /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}/gu },
];

const TOKEN_CHAR = /[A-Za-z0-9+/=_-]/;

/**
 * True when the digits matched at [start, end) are only part of a long
 * hex or base64/base64url token (a hash, signature, or other encoded blob):
 * random encodings of 32+ bytes contain 11- or 18-digit runs by chance
 * (about 0.5% of hex SHA-256 digests do), and those are not personal data.
 * A number glued to a short word ("tel13812345678") is still reported.
 */
export function insideEncodedBlob(text, start, end) {
  let a = start;
  let b = end;
  while (a > 0 && TOKEN_CHAR.test(text[a - 1])) a--;
  while (b < text.length && TOKEN_CHAR.test(text[b])) b++;
  const token = text.slice(a, b).replace(/=+$/, '');
  if (token.length < 32) return false;
  if (/^[0-9a-fA-F]+$/.test(token)) return true; // hex digest
  // base64 / base64url: must mix letters and digits like random data does
  return /^[A-Za-z0-9+/_-]+$/.test(token) && /[A-Za-z]/.test(token) && /[0-9]/.test(token) && token.length >= 40;
}

const withArticle = (k) => `${/^[aeiou]/i.test(k) ? 'an' : 'a'} ${k}`;

function mask(s) {
  const at = s.indexOf('@');
  if (at > 0) return `${s[0]}***${s.slice(at)}`;
  if (s.length <= 6) return '*'.repeat(s.length);
  return s.slice(0, 3) + '*'.repeat(s.length - 5) + s.slice(-2);
}

function collectJsonStrings(value, out) {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => collectJsonStrings(v, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      collectJsonStrings(v, out);
    }
  }
}

/**
 * Returns hits [{kind, masked}] found in `text`. JSON text is also scanned
 * after decoding (so "\u0031\u0033..." escapes cannot hide a number); values
 * are scanned one by one so adjacent values cannot merge into a false hit.
 */
export function privacyScan(text) {
  return privacyScanDetailed(text).hits;
}

export function privacyScanDetailed(text) {
  const candidates = [text];
  let isJson = false;
  try {
    const value = JSON.parse(text);
    isJson = true;
    // Decoded strings differ from the raw text only where escapes were used.
    if (text.includes('\\')) collectJsonStrings(value, candidates);
  } catch {
    /* not JSON: the raw text scan is all we can do */
  }
  const hits = new Map();
  let exempt = 0;
  for (const c of candidates) {
    const hasDigits = /[0-9]{4}/.test(c);
    const hasAt = c.includes('@');
    for (const { kind, re } of PRIVACY_PATTERNS) {
      // Cheap pre-filters: every number pattern needs a run of digits, the e-mail one an '@'.
      if (kind === 'e-mail address' ? !hasAt : !hasDigits) continue;
      re.lastIndex = 0;
      for (const m of c.matchAll(re)) {
        if (kind !== 'e-mail address' && insideEncodedBlob(c, m.index, m.index + m[0].length)) {
          exempt++;
          continue;
        }
        const key = `${kind}:${m[0]}`;
        if (!hits.has(key)) hits.set(key, { kind, masked: mask(m[0]) });
      }
    }
  }
  return { hits: [...hits.values()], isJson, exempt };
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

class HttpError extends Error {
  constructor(url, status, message) {
    super(message);
    this.url = url;
    this.status = status;
  }
}

async function httpGet(url, timeoutMs) {
  let res;
  try {
    res = await fetch(url, {
      headers: { 'accept-encoding': 'gzip, identity', 'user-agent': 'cityloop-independent-verifier/1' },
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'follow',
    });
  } catch (e) {
    throw new HttpError(url, 0, `GET ${url} failed: ${e.cause?.message ?? e.message}`);
  }
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) {
    throw new HttpError(url, res.status, `GET ${url} returned HTTP ${res.status}${body.length ? `: ${body.toString('utf8', 0, 200).trim()}` : ''}`);
  }
  return { body, contentType: res.headers.get('content-type') ?? '' };
}

async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return results;
}

// ---------------------------------------------------------------------------
// State file
// ---------------------------------------------------------------------------

async function loadState(file) {
  let raw;
  try {
    raw = await readFile(file, 'utf8');
  } catch (e) {
    if (e.code === 'ENOENT') return { version: 1, logs: {} };
    throw new Error(`cannot read state file ${file}: ${e.message}`);
  }
  let json;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new Error(`state file ${file} is not valid JSON: ${e.message}`);
  }
  // Accept a bare {origin,size,root} object as well as our keyed format.
  if (json && typeof json.origin === 'string' && !json.logs) return { version: 1, logs: { [json.origin]: json } };
  if (!json || typeof json.logs !== 'object') throw new Error(`state file ${file} has no "logs" object`);
  return json;
}

async function saveState(file, state) {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
  await rename(tmp, file);
}

// ---------------------------------------------------------------------------
// The verification run
// ---------------------------------------------------------------------------

function parseArgs(argv) {
  const opts = { samples: 8, concurrency: 8, timeoutMs: 30000 };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--key') opts.key = val();
    else if (a === '--state') opts.state = val();
    else if (a === '--samples') opts.samples = Number(val());
    else if (a === '--concurrency') opts.concurrency = Number(val());
    else if (a === '--timeout-ms') opts.timeoutMs = Number(val());
    else if (a === '-h' || a === '--help') opts.help = true;
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else rest.push(a);
  }
  if (!opts.help && rest.length !== 1) throw new Error('exactly one base URL is required');
  for (const k of ['samples', 'concurrency', 'timeoutMs']) {
    if (!Number.isSafeInteger(opts[k]) || opts[k] < 1) throw new Error(`--${k} must be a positive integer`);
  }
  opts.base = rest[0];
  return opts;
}

const USAGE = `usage: node verify.mjs <base-url-of-log> [--key <vkey>] [--state <file>]
                        [--samples N] [--concurrency N] [--timeout-ms N]
  <base-url-of-log>  e.g. http://127.0.0.1:8080/transparency/log/
  --key <vkey>       pinned verifier key <name>+<hex id>+<base64>; must equal the served one
  --state <file>     JSON file remembering the last verified checkpoint per origin;
                     a consistency proof from it is required, and it is updated on success
  --samples N        minimum number of inclusion proofs to check (default 8)`;

/**
 * Runs the whole verification. Returns { ok, failures[], report[] }.
 * Never throws for verification problems; they become failures.
 */
export async function runVerification(opts, log = () => {}) {
  const failures = [];
  const report = [];
  const warnings = [];
  const fail = (msg) => failures.push(msg);
  const base = new URL(opts.base.endsWith('/') ? opts.base : `${opts.base}/`);
  const url = (rel) => new URL(rel, base).href;
  const get = (rel) => httpGet(url(rel), opts.timeoutMs);

  report.push(`log:          ${base.href}`);

  // --- 1. verifier key ----------------------------------------------------
  let key;
  try {
    let served = null;
    try {
      served = (await get('key')).body.toString('utf8').trim();
    } catch (e) {
      if (!opts.key) throw new Error(`cannot fetch verifier key: ${e.message}`);
      warnings.push(`could not fetch ${url('key')} (${e.message}); using --key only`);
    }
    if (opts.key && served !== null && opts.key.trim() !== served) {
      throw new Error(`served key ${JSON.stringify(served)} differs from --key ${JSON.stringify(opts.key.trim())}`);
    }
    key = parseVerifierKey(opts.key ?? served);
    report.push(`key:          ${key.name}+${key.idHex} (${opts.key ? (served !== null ? 'pinned with --key, matches served key' : 'pinned with --key') : 'as served by the log — pin it with --key'})`);
  } catch (e) {
    fail(`key: ${e.message}`);
    return { ok: false, failures, report, warnings };
  }

  // --- 2. checkpoint: signed note + checkpoint body ------------------------
  let cp;
  let cpNote;
  try {
    const { body } = await get('checkpoint');
    const parsed = parseSignedNote(body);
    cpNote = parsed.note;
    const sig = verifyNoteSignatures(parsed, key);
    cp = parseCheckpointText(parsed.text);
    report.push(`origin:       ${cp.origin}`);
    report.push(`tree size:    ${cp.size}`);
    report.push(`root hash:    ${cp.rootB64} (hex ${hex(cp.root)})`);
    report.push(`signature:    Ed25519 by ${key.name}+${key.idHex} verified (${sig.verified} matching line(s); ${sig.ignored} other line(s) ignored)`);
    if (cp.extensions.length) report.push(`extensions:   ${cp.extensions.length} extension line(s) (opaque, not checked)`);
    if (key.name !== cp.origin) warnings.push(`key name ${JSON.stringify(key.name)} differs from checkpoint origin ${JSON.stringify(cp.origin)} (tlog-checkpoint: SHOULD match)`);
  } catch (e) {
    fail(`checkpoint: ${e.message}`);
    return { ok: false, failures, report, warnings };
  }
  log(`checkpoint verified: ${cp.origin} size ${cp.size}`);

  // Privacy scan of the checkpoint itself.
  for (const h of privacyScan(cpNote)) fail(`privacy: checkpoint contains ${withArticle(h.kind)} (${h.masked})`);

  // --- 3. tiles and entries -----------------------------------------------
  const size = cp.size;
  const leaves = Buffer.alloc(size * HASH_LEN); // our own leaf hashes, from the entries
  const plan = tilesForSize(size);
  const tileStats = [];
  let entriesVerified = 0;
  let entriesHashed = 0;
  let privacyHits = 0;
  let nonJson = 0;
  let blobDigitRuns = 0;
  let fallbacks = 0;

  /** Fetch a tile of `width`; if a partial tile is gone, the spec allows the full tile as fallback. */
  async function fetchTileOrFallback(level, index, width) {
    const path = tilePath(level, index, width);
    try {
      return { path, body: (await get(path)).body };
    } catch (e) {
      if (width === TILE_WIDTH || !(e instanceof HttpError) || e.status !== 404) throw e;
      const fullPath = tilePath(level, index, TILE_WIDTH);
      try {
        const { body } = await get(fullPath);
        fallbacks++;
        return { path: fullPath, body, truncateTo: width };
      } catch {
        throw e; // report the partial tile, which is what the checkpoint requires
      }
    }
  }

  if (size > 0) {
    // Level 0 tiles and entry bundles, fetched in parallel pairs.
    const level0 = plan[0].tiles;
    await mapLimit(level0, opts.concurrency, async (t) => {
      const first = t.index * TILE_WIDTH;
      let tileHashes;
      let entries;
      let tPath = tilePath(0, t.index, t.width);
      let ePath = tilePath('entries', t.index, t.width);
      try {
        const r = await fetchTileOrFallback(0, t.index, t.width);
        tPath = r.path;
        const expectLen = (r.truncateTo ? TILE_WIDTH : t.width) * HASH_LEN;
        if (r.body.length !== expectLen) throw new Error(`is ${r.body.length} bytes, expected ${expectLen} (${expectLen / HASH_LEN} hashes)`);
        tileHashes = r.body.subarray(0, t.width * HASH_LEN);
      } catch (e) {
        fail(`tile ${tPath} (entries ${first}..${first + t.width - 1}): ${e.message}`);
      }
      try {
        const r = await fetchTileOrFallback('entries', t.index, t.width);
        ePath = r.path;
        const all = parseEntryBundle(r.body);
        const want = r.truncateTo ? TILE_WIDTH : t.width;
        if (all.length !== want) throw new Error(`contains ${all.length} entries, expected ${want}`);
        entries = all.slice(0, t.width);
      } catch (e) {
        fail(`entry bundle ${ePath} (entries ${first}..${first + t.width - 1}): ${e.message}`);
      }
      if (!entries) return;
      for (let i = 0; i < entries.length; i++) {
        const idx = first + i;
        const lh = leafHash(entries[i]);
        lh.copy(leaves, idx * HASH_LEN);
        entriesHashed++;
        if (tileHashes) {
          const th = tileHashes.subarray(i * HASH_LEN, (i + 1) * HASH_LEN);
          if (!lh.equals(th)) {
            fail(`entry ${idx}: leaf hash SHA-256(0x00||entry) ${hex(lh)} does not match hash #${i} of ${tPath} (${hex(th)})`);
          } else entriesVerified++;
        }
        // Privacy scan of every entry.
        let text;
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(entries[i]);
        } catch {
          text = entries[i].toString('latin1');
          warnings.push(`entry ${idx} is not valid UTF-8`);
        }
        const { hits, isJson, exempt } = privacyScanDetailed(text);
        if (!isJson) nonJson++;
        blobDigitRuns += exempt;
        for (const h of hits) {
          privacyHits++;
          fail(`privacy: entry ${idx} contains ${withArticle(h.kind)} (${h.masked})`);
        }
      }
    });
    tileStats.push(`level 0: ${level0.length} tile(s) + ${level0.length} entry bundle(s)`);

    // Higher-level tiles: hash i of tile n at level l is
    // MTH(D[(n*256+i)*256^l : (n*256+i+1)*256^l]) — recomputed from our leaves.
    if (entriesHashed === size) {
      for (const lvl of plan.slice(1)) {
        const span = TILE_WIDTH ** lvl.level;
        await mapLimit(lvl.tiles, opts.concurrency, async (t) => {
          let path = tilePath(lvl.level, t.index, t.width);
          try {
            const r = await fetchTileOrFallback(lvl.level, t.index, t.width);
            path = r.path;
            const expectLen = (r.truncateTo ? TILE_WIDTH : t.width) * HASH_LEN;
            if (r.body.length !== expectLen) throw new Error(`is ${r.body.length} bytes, expected ${expectLen}`);
            for (let i = 0; i < t.width; i++) {
              const j = t.index * TILE_WIDTH + i;
              const want = mthRange(leaves, j * span, (j + 1) * span);
              const got = r.body.subarray(i * HASH_LEN, (i + 1) * HASH_LEN);
              if (!want.equals(got)) {
                fail(`tile ${path}: hash #${i} (subtree of entries ${j * span}..${(j + 1) * span - 1}) is ${hex(got)}, recomputed ${hex(want)}`);
              }
            }
          } catch (e) {
            fail(`tile ${path}: ${e.message}`);
          }
        });
        tileStats.push(`level ${lvl.level}: ${lvl.tiles.length} tile(s) recomputed and matched`);
      }
    } else {
      fail(`entries: only ${entriesHashed} of ${size} entries could be fetched; higher-level tiles and root not checked`);
    }
  }
  log(`entries fetched and hashed: ${entriesHashed}`);

  // --- 4. root hash -------------------------------------------------------
  let rootOk = false;
  if (entriesHashed === size) {
    const root = mthRange(leaves, 0, size);
    if (!root.equals(cp.root)) {
      fail(`root: MTH over the ${size} fetched entries is ${root.toString('base64')}, checkpoint says ${cp.rootB64}`);
    } else {
      rootOk = true;
    }
  }
  report.push(`entries:      ${entriesVerified} of ${size} verified against level-0 tiles${fallbacks ? ` (${fallbacks} partial tile(s) taken from the full tile)` : ''}`);
  if (tileStats.length) report.push(`tiles:        ${tileStats.join('; ')}`);
  report.push(`root:         ${rootOk ? 'recomputed from the entries (RFC 6962 MTH): matches checkpoint' : 'NOT verified'}`);

  // --- 5. inclusion proofs -------------------------------------------------
  let inclusionOk = 0;
  const sample = new Set();
  if (size > 0) {
    sample.add(0);
    sample.add(size - 1);
    for (const b of [TILE_WIDTH - 1, TILE_WIDTH, Math.floor(size / 2)]) if (b < size) sample.add(b);
    const want = Math.min(size, Math.max(opts.samples, 8));
    while (sample.size < want) sample.add(randomInt(0, size));
  }
  const indices = [...sample].sort((a, b) => a - b);
  await mapLimit(indices, opts.concurrency, async (index) => {
    const rel = `proof/inclusion?index=${index}&size=${size}`;
    try {
      const j = parseJson((await get(rel)).body, rel);
      if (j.index !== index || j.tree_size !== size) throw new Error(`response is for index=${j.index} tree_size=${j.tree_size}`);
      const hashes = decodeHashList(j.hashes, 'hashes');
      const served = decodeHash(j.leaf_hash, 'leaf_hash');
      const own = leaves.subarray(index * HASH_LEN, (index + 1) * HASH_LEN);
      if (entriesHashed === size && !served.equals(own)) {
        throw new Error(`leaf_hash ${hex(served)} differs from the hash of the fetched entry ${hex(own)}`);
      }
      const err = verifyInclusion(index, size, entriesHashed === size ? own : served, hashes, cp.root);
      if (err) throw new Error(err);
      inclusionOk++;
    } catch (e) {
      fail(`inclusion proof for entry ${index} in tree size ${size} (${url(rel)}): ${e.message}`);
    }
  });
  report.push(`inclusion:    ${inclusionOk} of ${indices.length} proofs verified (RFC 9162 §2.1.3.2)${indices.length ? ` — entries ${summarizeList(indices)}` : ''}`);

  // --- 6. consistency with the state file -----------------------------------
  let state = null;
  if (opts.state) {
    try {
      state = await loadState(opts.state);
    } catch (e) {
      fail(`state: ${e.message}`);
    }
  }
  if (state) {
    const prev = state.logs[cp.origin];
    if (!prev) {
      report.push(`consistency:  no earlier checkpoint for this origin in ${opts.state} (first run)`);
    } else {
      const prevRoot = decodeBase64Strict(prev.root ?? '');
      const prevSize = prev.size;
      if (!Number.isSafeInteger(prevSize) || prevSize < 0 || !prevRoot || prevRoot.length !== HASH_LEN) {
        fail(`state: saved checkpoint for ${cp.origin} in ${opts.state} is malformed`);
      } else if (prev.key && prev.key !== key.vkey) {
        fail(`state: verifier key ${key.name}+${key.idHex} differs from the key pinned in ${opts.state} for this origin (${prev.key}); delete that entry only if the key rotation is legitimate`);
      } else if (prevSize > size) {
        fail(`consistency: checkpoint size ${size} is smaller than the earlier verified size ${prevSize} (rollback)`);
      } else {
        let proofMsg;
        if (prevSize === size || prevSize === 0) {
          const err = verifyConsistency(prevSize, size, prevRoot, cp.root, []);
          if (err) fail(`consistency: from earlier checkpoint (size ${prevSize}) to size ${size}: ${err}`);
          else proofMsg = prevSize === 0 ? 'earlier tree was empty' : 'same size, same root';
        } else {
          const rel = `proof/consistency?first=${prevSize}&second=${size}`;
          try {
            const j = parseJson((await get(rel)).body, rel);
            if (j.first !== prevSize || j.second !== size) throw new Error(`response is for first=${j.first} second=${j.second}`);
            const hashes = decodeHashList(j.hashes, 'hashes');
            const err = verifyConsistency(prevSize, size, prevRoot, cp.root, hashes);
            if (err) throw new Error(err);
            proofMsg = `proof of ${hashes.length} hash(es) verified (RFC 9162 §2.1.4.2)`;
          } catch (e) {
            fail(`consistency proof from size ${prevSize} (root ${prev.root}) to ${size} (${url(rel)}): ${e.message}`);
          }
        }
        // Independent cross-check: the first prevSize of our own leaves must hash to the old root.
        if (entriesHashed === size && prevSize > 0) {
          const oldRoot = mthRange(leaves, 0, prevSize);
          if (!oldRoot.equals(prevRoot)) {
            fail(`consistency: MTH of the first ${prevSize} fetched entries is ${oldRoot.toString('base64')}, but the earlier checkpoint had ${prev.root} — the log rewrote history`);
          } else if (proofMsg) proofMsg += `; MTH of first ${prevSize} entries equals the earlier root`;
        }
        if (proofMsg) report.push(`consistency:  ${prevSize} -> ${size}: ${proofMsg}`);
      }
    }
  }

  report.push(
    `privacy:      ${privacyHits ? `${privacyHits} hit(s)` : `no mobile numbers, ID numbers or e-mail addresses`} in ${entriesHashed} entries and the checkpoint${nonJson ? ` (${nonJson} entries are not JSON)` : ''}${blobDigitRuns ? ` (${blobDigitRuns} number-like digit run(s) inside hex/base64 hashes ignored)` : ''}`,
  );

  // --- 7. save state ----------------------------------------------------------
  if (state && failures.length === 0) {
    state.version = 1;
    state.logs[cp.origin] = {
      origin: cp.origin,
      size,
      root: cp.rootB64,
      key: key.vkey,
      checkpoint: cpNote,
      verified_at: new Date().toISOString(),
    };
    try {
      await saveState(opts.state, state);
      report.push(`state:        saved checkpoint (size ${size}) to ${opts.state}`);
    } catch (e) {
      fail(`state: cannot write ${opts.state}: ${e.message}`);
    }
  } else if (opts.state && failures.length) {
    report.push(`state:        NOT updated (verification failed)`);
  }

  return { ok: failures.length === 0, failures, report, warnings, checkpoint: cp };
}

function parseJson(buf, what) {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new Error(`response to ${what} is not JSON: ${e.message}`);
  }
}

function decodeHash(s, field) {
  const b = decodeBase64Strict(s);
  if (!b || b.length !== HASH_LEN) throw new Error(`${field} ${JSON.stringify(s)} is not standard base64 of 32 bytes`);
  return b;
}

function decodeHashList(list, field) {
  if (!Array.isArray(list)) throw new Error(`${field} is not an array`);
  if (list.length > 64) throw new Error(`${field} has ${list.length} entries (more than any tree of 2^64 leaves needs)`);
  return list.map((s, i) => decodeHash(s, `${field}[${i}]`));
}

function summarizeList(xs) {
  return xs.length <= 12 ? xs.join(', ') : `${xs.slice(0, 12).join(', ')}, … (${xs.length} total)`;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e.message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let result;
  try {
    result = await runVerification(opts, (m) => process.env.VERIFY_DEBUG && process.stderr.write(`[debug] ${m}\n`));
  } catch (e) {
    process.stderr.write(`FAIL internal error: ${e.stack ?? e}\n`);
    process.exitCode = 1;
    return;
  }
  const out = ['cityloop transparency log — independent verification', ...result.report.map((l) => `  ${l}`)];
  for (const w of result.warnings.slice(0, 20)) out.push(`  warning:      ${w}`);
  if (result.ok) {
    out.push('RESULT: OK — all checks passed');
    process.stdout.write(`${out.join('\n')}\n`);
    process.exitCode = 0;
    return;
  }
  process.stdout.write(`${out.join('\n')}\n`);
  const shown = result.failures.slice(0, 50);
  const lines = shown.map((f) => `FAIL ${f}`);
  if (result.failures.length > shown.length) lines.push(`FAIL … and ${result.failures.length - shown.length} more failure(s)`);
  lines.push(`RESULT: FAILED — ${result.failures.length} check(s) failed`);
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main();
}
