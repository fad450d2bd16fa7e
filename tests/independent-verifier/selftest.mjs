#!/usr/bin/env node
// Self-test for verify.mjs.
//   Part A: in-process unit tests of the verifier's primitives against public
//           test vectors and against the independent reference log (testlog.mjs).
//   Part B: end-to-end — serve honest and tampered logs on 127.0.0.1:0 and run
//           verify.mjs as a child process, asserting exit status and message.
// Usage: node tests/independent-verifier/selftest.mjs   (exit 0 = all passed)

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as V from './verify.mjs';
import { auditPath, buildLog, consistencyProof, newSigner, sampleEntries, serve, treeHash } from './testlog.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const VERIFY = join(here, 'verify.mjs');

let passed = 0;
const failed = [];
function check(name, cond, detail = '') {
  if (cond) {
    passed++;
    if (process.env.SELFTEST_VERBOSE) console.log(`  ok   ${name}`);
  } else {
    failed.push(`${name}${detail ? `\n       ${detail.replace(/\n/g, '\n       ')}` : ''}`);
    console.log(`  FAIL ${name}${detail ? `\n       ${detail.replace(/\n/g, '\n       ')}` : ''}`);
  }
}
const throwsLike = (fn, re) => {
  try {
    fn();
    return false;
  } catch (e) {
    return re.test(e.message);
  }
};
const unhex = (s) => Buffer.from(s, 'hex');
const sha = (b) => createHash('sha256').update(b).digest();

// ---------------------------------------------------------------------------
// Part A — unit tests
// ---------------------------------------------------------------------------

function unitTests() {
  console.log('Part A: primitives');

  // RFC 6962 test data (Certificate Transparency reference leaves/roots).
  const ctLeaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(unhex);
  const ctRoots = [
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
    '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
    'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
    '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  ];
  const ctLh = Buffer.concat(ctLeaves.map(V.leafHash));
  for (let n = 0; n <= 8; n++) check(`MTH KAT size ${n}`, V.mthRange(ctLh, 0, n).toString('hex') === ctRoots[n]);
  const root8 = unhex(ctRoots[8]);
  const lhAt = (i) => ctLh.subarray(i * 32, i * 32 + 32);
  const incl = [
    [0, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
    [5, ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  ];
  for (const [i, p] of incl) {
    check(`inclusion KAT (${i}, 8)`, V.verifyInclusion(i, 8, lhAt(i), p.map(unhex), root8) === null);
    check(`inclusion KAT (${i}, 8) wrong index rejected`, V.verifyInclusion(i ^ 1, 8, lhAt(i), p.map(unhex), root8) !== null);
  }
  const cons = [
    [1, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
    [6, 8, ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
    [2, 5, ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
  ];
  for (const [m, n, p] of cons) {
    check(`consistency KAT (${m}, ${n})`, V.verifyConsistency(m, n, unhex(ctRoots[m]), unhex(ctRoots[n]), p.map(unhex)) === null);
    check(`consistency KAT (${m}, ${n}) wrong old root rejected`, V.verifyConsistency(m, n, unhex(ctRoots[m - 1] ?? ctRoots[0]), unhex(ctRoots[n]), p.map(unhex)) !== null);
  }

  // Exhaustive cross-check against the reference log's PATH/PROOF (RFC 6962 §2.1.1/§2.1.2).
  const N = 72;
  const leaves = Array.from({ length: N }, (_, i) => V.leafHash(Buffer.from(`leaf ${i}`)));
  const packed = Buffer.concat(leaves);
  const roots = Array.from({ length: N + 1 }, (_, n) => treeHash(leaves, 0, n));
  let mthOk = true;
  for (let n = 0; n <= N; n++) mthOk &&= V.mthRange(packed, 0, n).equals(roots[n]);
  check(`MTH agrees with reference for sizes 0..${N}`, mthOk);
  let inclGood = 0;
  let inclBadAccepted = [];
  for (let n = 1; n <= N; n++) {
    for (let m = 0; m < n; m++) {
      const p = auditPath(m, leaves, n);
      if (V.verifyInclusion(m, n, leaves[m], p, roots[n]) === null) inclGood++;
      else inclBadAccepted.push(`valid (${m},${n}) rejected`);
      const bad = [];
      p.forEach((_, k) => bad.push(p.map((h, j) => (j === k ? flip(h) : h))));
      if (p.length) bad.push(p.slice(0, -1));
      bad.push([...p, leaves[0]]);
      for (const b of bad) if (V.verifyInclusion(m, n, leaves[m], b, roots[n]) === null) inclBadAccepted.push(`mutated (${m},${n})`);
      if (n > 1 && V.verifyInclusion((m + 1) % n, n, leaves[m], p, roots[n]) === null) inclBadAccepted.push(`wrong index (${m},${n})`);
      // The same proof against the (different) root of the next tree size must fail.
      if (n < N && V.verifyInclusion(m, n + 1, leaves[m], p, roots[n + 1]) === null) inclBadAccepted.push(`wrong size (${m},${n})`);
    }
  }
  check(`inclusion: all ${(N * (N + 1)) / 2} valid proofs (sizes 1..${N}) verify`, inclGood === (N * (N + 1)) / 2);
  check('inclusion: every mutated/truncated/extended/misindexed proof is rejected', inclBadAccepted.length === 0, inclBadAccepted.slice(0, 5).join(', '));
  let consGood = 0;
  let consTotal = 0;
  const consBad = [];
  for (let n = 1; n <= N; n++) {
    for (let m = 1; m <= n; m++) {
      consTotal++;
      const p = m === n ? [] : consistencyProof(m, leaves, n);
      if (V.verifyConsistency(m, n, roots[m], roots[n], p) === null) consGood++;
      else consBad.push(`valid (${m},${n}) rejected`);
      const bad = [];
      p.forEach((_, k) => bad.push(p.map((h, j) => (j === k ? flip(h) : h))));
      if (p.length) bad.push(p.slice(0, -1), [...p, leaves[0]]);
      for (const b of bad) if (V.verifyConsistency(m, n, roots[m], roots[n], b) === null) consBad.push(`mutated (${m},${n})`);
      if (m < n && V.verifyConsistency(m, n, roots[m - 1], roots[n], p) === null) consBad.push(`wrong old root (${m},${n})`);
      if (m < n && V.verifyConsistency(m, n, roots[m], roots[n - 1], p) === null) consBad.push(`wrong new root (${m},${n})`);
    }
  }
  check(`consistency: all ${consTotal} valid proofs (1 <= m <= n <= ${N}) verify`, consGood === consTotal);
  check('consistency: every mutated/truncated/extended proof or wrong root is rejected', consBad.length === 0, consBad.slice(0, 5).join(', '));
  check('consistency: 0 -> n accepted with empty proof', V.verifyConsistency(0, 5, sha(''), roots[5], []) === null);
  check('consistency: m > n rejected', V.verifyConsistency(6, 5, roots[6], roots[5], []) !== null);

  // Tile paths (C2SP tlog-tiles examples).
  check('tile index 1234067 -> x001/x234/067', V.encodeTileIndex(1234067) === 'x001/x234/067');
  check('tile index 0 / 999 / 1000', V.encodeTileIndex(0) === '000' && V.encodeTileIndex(999) === '999' && V.encodeTileIndex(1000) === 'x001/000');
  check('tile path partial', V.tilePath(0, 2, 188) === 'tile/0/002.p/188' && V.tilePath('entries', 1, 256) === 'tile/entries/001');
  const t70k = V.tilesForSize(70000);
  check(
    'tiles for size 70000 = 273 full + .p/112, 1 full + .p/17, .p/1 (spec example)',
    t70k.length === 3 &&
      t70k[0].tiles.length === 274 && t70k[0].tiles.at(-1).width === 112 && t70k[0].tiles.filter((t) => t.width === 256).length === 273 &&
      t70k[1].tiles.length === 2 && t70k[1].tiles[0].width === 256 && t70k[1].tiles[1].width === 17 &&
      t70k[2].tiles.length === 1 && t70k[2].tiles[0].width === 1,
  );
  const t256 = V.tilesForSize(256);
  check('tiles for size 256 = one full level-0 tile + level-1 .p/1 (spec example)', t256.length === 2 && t256[0].tiles.length === 1 && t256[0].tiles[0].width === 256 && t256[1].tiles[0].width === 1);
  check('tiles for size 0 = none', V.tilesForSize(0).length === 0);

  // Entry bundles.
  check('entry bundle parse', V.parseEntryBundle(Buffer.from([0, 1, 0x61, 0, 0, 0, 2, 0x62, 0x63])).map(String).join('|') === 'a||bc');
  check('entry bundle truncated rejected', throwsLike(() => V.parseEntryBundle(Buffer.from([0, 3, 0x61])), /claims 3 bytes/));

  // signed-note: the Go sumdb/note published example (data only).
  const pnKey = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
  const pnText = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
  const pnNote = `${pnText}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;
  const k = V.parseVerifierKey(pnKey);
  check('vkey KAT parses, key id c74f20a3 recomputed', k.idHex === 'c74f20a3' && k.name === 'PeterNeumann');
  const parsed = V.parseSignedNote(Buffer.from(pnNote));
  check('signed-note KAT: text split', parsed.text === pnText && parsed.signatures.length === 1);
  check('signed-note KAT: Ed25519 signature verifies', (() => { try { return V.verifyNoteSignatures(parsed, k).verified === 1; } catch { return false; } })());
  const tamperedNote = V.parseSignedNote(Buffer.from(pnNote.replace('cryptography', 'Cryptography')));
  check('signed-note KAT: altered text rejected', throwsLike(() => V.verifyNoteSignatures(tamperedNote, k), /does not verify/));
  check('vkey with wrong key id rejected', throwsLike(() => V.parseVerifierKey(pnKey.replace('c74f20a3', 'c74f20a4')), /does not match/));
  check('vkey with wrong type byte rejected', throwsLike(() => V.parseVerifierKey(pnKey.replace('+AR', '+Ah')), /not an Ed25519 key/));
  check('vkey with "+" in name rejected', throwsLike(() => V.parseVerifierKey(`a+b+${pnKey}`), /./));
  const other = newSigner('PeterNeumann');
  const onlyOther = V.parseSignedNote(Buffer.from(`${pnText}\n${other.signLine(pnText)}`));
  check('note signed only by an unknown key (same name, other id) rejected', throwsLike(() => V.verifyNoteSignatures(onlyOther, k), /no signature line from key/));
  const both = V.parseSignedNote(Buffer.from(`${pnText}\n${other.signLine(pnText)}— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`));
  check('unknown signature ignored, known one verifies', (() => { try { const r = V.verifyNoteSignatures(both, k); return r.verified === 1 && r.ignored === 1; } catch { return false; } })());
  check('note with CR rejected', throwsLike(() => V.parseSignedNote(Buffer.from(pnNote.replace(/\n/g, '\r\n'))), /control character/));
  check('note without blank line rejected', throwsLike(() => V.parseSignedNote(Buffer.from(pnText)), /blank line|signature/));
  check('checkpoint size with leading zero rejected', throwsLike(() => V.parseCheckpointText(`o\n07\n${sha('').toString('base64')}\n`), /leading zeroes/));
  check('checkpoint with short root rejected', throwsLike(() => V.parseCheckpointText(`o\n7\nAAAA\n`), /32 bytes/));
  check('checkpoint with 2 lines rejected', throwsLike(() => V.parseCheckpointText(`o\n7\n`), /at least 3/));

  // Privacy scan.
  const kinds = (s) => V.privacyScan(s).map((h) => h.kind).sort().join(',');
  check('privacy: phone found', kinds('{"p":"13812345678"}') === 'Chinese mobile number');
  check('privacy: phone with +86 found', kinds('{"p":"+8613912345678"}') === 'Chinese mobile number');
  check('privacy: JSON-escaped phone found', kinds('{"p":"\\u0031\\u0033\\u0038\\u0031\\u0032\\u0033\\u0034\\u0035\\u0036\\u0037\\u0038"}') === 'Chinese mobile number');
  check('privacy: 18-digit ID found', kinds('{"id":"11010519491231002X"}') === 'resident ID number');
  check('privacy: e-mail found', kinds('{"c":"zhang.san@example.com.cn"}') === 'e-mail address');
  check('privacy: 12-digit and 10-digit numbers, timestamps and @handles not flagged', kinds('{"a":"138123456789","b":"1381234567","t":"2025-01-01T08:00:00Z","h":"@cityloop","n":1736000000000}') === '');
  check('privacy: phone-like digit run inside a hex SHA-256 digest not flagged', kinds('{"h":"9f2c13812345678e5d0a4b7c1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a"}') === '');
  check('privacy: ID-like digit run inside base64 not flagged', kinds('{"s":"Zm9vYmFy11010519491231002XQUJDREVGR0hJSktMTU5PUFFSU1RVVldY"}') === '');
  check('privacy: number glued to a short word still flagged', kinds('{"n":"tel13812345678"}') === 'Chinese mobile number');
  check('privacy: hits are masked', V.privacyScan('13812345678')[0].masked === '138******78');
}

function flip(h) {
  const c = Buffer.from(h);
  c[c.length - 1] ^= 1;
  return c;
}

// ---------------------------------------------------------------------------
// Part B — end-to-end against a served log
// ---------------------------------------------------------------------------

function runVerify(args) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [VERIFY, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      if (process.env.SELFTEST_VERBOSE) console.log(`       (verify.mjs ${args.slice(1).join(' ')} -> exit ${code} in ${Date.now() - started} ms)`);
      resolve({ code, stdout, stderr });
    });
  });
}

async function endToEnd() {
  console.log('Part B: end-to-end (verify.mjs as a child process against a served log)');
  const tmp = await mkdtemp(join(tmpdir(), 'cityloop-verifier-'));
  const ORIGIN = 'cityloop.test/transparency/log';
  const signer = newSigner(ORIGIN);
  const witness = newSigner('witness.example/w1'); // unrelated cosigner: must be ignored
  const impostor = newSigner(ORIGIN); // same name, different key
  const all = sampleEntries(700);
  const mk = (entries, opts = {}) => buildLog(entries, { origin: ORIGIN, signer, otherSigners: [witness], ...opts });
  const site = {};
  const setSite = (log, extra = {}) => {
    Object.assign(site, { checkpoint: log.checkpoint, vkey: log.vkey, files: new Map(log.files), proofLog: log, hooks: {} }, extra);
  };
  const srv = await serve(site);
  const base = srv.base;
  let stateN = 0;
  const freshState = () => join(tmp, `state-${++stateN}.json`);

  async function expectOk(name, args = []) {
    const r = await runVerify([base, ...args]);
    check(`${name}: exit 0`, r.code === 0 && /RESULT: OK/.test(r.stdout), `exit ${r.code}\n${r.stdout}${r.stderr}`);
    return r;
  }
  async function expectFail(name, re, args = []) {
    const r = await runVerify([base, ...args]);
    check(`${name}: exit 1, stderr matches ${re}`, r.code === 1 && re.test(r.stderr), `exit ${r.code}\n${r.stdout}${r.stderr}`);
    if (process.env.SELFTEST_VERBOSE) console.log(r.stderr.trimEnd().replace(/^/gm, '       ! '));
    return r;
  }

  try {
    // Honest logs of several sizes, including tile boundaries and a level-2 tile.
    for (const n of [0, 1, 2, 255, 256, 257, 511, 512, 513, 700]) {
      setSite(mk(all.slice(0, n)));
      const r = await expectOk(`honest log size ${n}`, ['--key', signer.vkey]);
      if (n === 700) {
        console.log(r.stdout.replace(/^/gm, '    | ').trimEnd());
        check('report names origin, size, root, entries and proofs', /origin: +cityloop\.test/.test(r.stdout) && /tree size: +700/.test(r.stdout) && /700 of 700 verified/.test(r.stdout) && /inclusion: +\d+ of \d+ proofs verified/.test(r.stdout));
      }
    }
    {
      const big = sampleEntries(65793, 'big');
      setSite(mk(big));
      const r = await expectOk('honest log size 65793 (level-1 full tile, level-2 .p/1)');
      check('size 65793 report mentions level 2 tiles', /level 2: 1 tile/.test(r.stdout), r.stdout);
    }
    setSite(mk(all.slice(0, 300), { extensions: ['ext: opaque extension line'] }));
    await expectOk('checkpoint with an extension line and a foreign cosignature');

    // Growth with a state file: every step needs a valid consistency proof.
    const st = freshState();
    let prev = 0;
    let chainOk = true;
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 255, 256, 257, 300, 511, 512, 513, 700, 700]) {
      setSite(mk(all.slice(0, n)));
      const r = await runVerify([base, '--state', st]);
      const saved = JSON.parse(await readFile(st, 'utf8')).logs[ORIGIN];
      const ok = r.code === 0 && saved.size === n && (prev === 0 || prev === n || new RegExp(`consistency: +${prev} -> ${n}: proof of \\d+ hash`).test(r.stdout));
      if (!ok) {
        chainOk = false;
        check(`state chain step ${prev} -> ${n}`, false, `${r.stdout}${r.stderr}`);
      }
      prev = n;
    }
    check('state chain 1 -> 2 -> 3 -> ... -> 700: every consistency proof verified and state updated', chainOk);

    // Rollback: state says 700, log now claims 300.
    setSite(mk(all.slice(0, 300)));
    await expectFail('rollback to a smaller checkpoint', /rollback/, ['--state', st]);

    // Fork: state at 300 from the honest log; the log then presents a properly
    // signed, internally consistent size-400 tree whose entry 10 differs.
    const stFork = freshState();
    setSite(mk(all.slice(0, 300)));
    await expectOk('fork setup: honest size 300 saved to state', ['--state', stFork]);
    const forked = sampleEntries(400);
    forked[10] = Buffer.from(JSON.stringify({ v: 1, kind: 'audit', seq: 10, rewritten: true }));
    setSite(mk(forked));
    const rf = await expectFail('size grew but inconsistent with state (history rewritten)', /consistency proof from size 300 .*(old root|new root)/, ['--state', stFork]);
    check('fork: own recomputation of the old root also flags it', /MTH of the first 300 fetched entries/.test(rf.stderr), rf.stderr);
    check('fork: state file not updated', JSON.parse(await readFile(stFork, 'utf8')).logs[ORIGIN].size === 300);
    // ...and the honest continuation is still accepted from that state.
    setSite(mk(all.slice(0, 400)));
    await expectOk('fork: honest continuation 300 -> 400 accepted', ['--state', stFork]);

    // A different key pinned in the state file.
    const stKey = join(tmp, 'state-key.json');
    await writeFile(stKey, JSON.stringify({ version: 1, logs: { [ORIGIN]: { origin: ORIGIN, size: 0, root: sha('').toString('base64'), key: impostor.vkey } } }));
    setSite(mk(all.slice(0, 10)));
    await expectFail('key differs from the key pinned in the state file', /differs from the key pinned/, ['--state', stKey]);

    // --- tampering with a size-700 log -------------------------------------------
    const honest = mk(all);

    // Entry altered (entry 300 is #44 of bundle 001).
    setSite(honest);
    {
      const entries = V.parseEntryBundle(honest.files.get('tile/entries/001'));
      entries[44] = Buffer.from(entries[44].toString().replace('"seq":300', '"seq":301'));
      site.files.set('tile/entries/001', bundle(entries));
    }
    await expectFail('entry 300 altered', /entry 300: leaf hash .* does not match hash #44 of tile\/0\/001/);

    // Level-0 hash tile altered (entry 515 is #3 of the partial tile 002.p/188).
    setSite(honest);
    site.files.set('tile/0/002.p/188', flipAt(honest.files.get('tile/0/002.p/188'), 3 * 32 + 7));
    await expectFail('level-0 hash tile altered', /entry 515: .*hash #3 of tile\/0\/002\.p\/188/);

    // Level-1 tile altered.
    setSite(honest);
    site.files.set('tile/1/000.p/2', flipAt(honest.files.get('tile/1/000.p/2'), 40));
    await expectFail('level-1 hash tile altered', /tile tile\/1\/000\.p\/2: hash #1/);

    // Partial tile missing (and no full tile to fall back to).
    setSite(honest);
    site.files.delete('tile/0/002.p/188');
    await expectFail('partial level-0 tile missing', /tile tile\/0\/002\.p\/188 .*HTTP 404/);

    // Partial tiles deleted after the log grew: spec-sanctioned fallback to the full tile.
    {
      const grown = mk(sampleEntries(800).map((e, i) => (i < 700 ? all[i] : e)));
      setSite(honest, { files: new Map([...grown.files, ['tile/1/000.p/2', honest.files.get('tile/1/000.p/2')]]), proofLog: grown });
      site.files.delete('tile/0/002.p/188');
      site.files.delete('tile/entries/002.p/188');
      const r = await expectOk('partial tiles gone, full tiles present (fallback)');
      check('fallback is reported', /taken from the full tile/.test(r.stdout), r.stdout);
    }

    // Bad signature: flip one byte of the log's Ed25519 signature.
    setSite(honest);
    {
      const lines = honest.checkpoint.split('\n');
      const i = lines.findIndex((l) => l.startsWith(`— ${ORIGIN} `));
      const blob = Buffer.from(lines[i].split(' ')[2], 'base64');
      blob[10] ^= 0x80;
      lines[i] = `— ${ORIGIN} ${blob.toString('base64')}`;
      site.checkpoint = lines.join('\n');
    }
    await expectFail('bad signature', /checkpoint: Ed25519 signature on signature line 1 .* does not verify/);

    // Checkpoint text altered after signing (bigger size, old signature).
    setSite(honest);
    site.checkpoint = honest.checkpoint.replace('\n700\n', '\n701\n');
    await expectFail('checkpoint body altered after signing', /does not verify over the note text/);

    // Checkpoint signed by a different key with the same name.
    setSite(buildLog(all, { origin: ORIGIN, signer: impostor }), { vkey: signer.vkey });
    await expectFail('checkpoint signed by an impostor key', /no signature line from key/);

    // --key does not match the served key.
    setSite(honest);
    await expectFail('--key differs from served key', /differs from --key/, ['--key', impostor.vkey]);

    // Served key with a wrong key id.
    setSite(honest, { vkey: signer.vkey.replace(/\+([0-9a-f]{8})\+/, (_, id) => `+${((parseInt(id, 16) ^ 1) >>> 0).toString(16).padStart(8, '0')}+`) });
    await expectFail('served key with wrong key id', /key: verifier key id .* does not match/);

    // Properly signed checkpoint whose root is not the root of the served tree.
    {
      const other = mk(sampleEntries(700, 'other'));
      setSite(honest, { checkpoint: other.checkpoint });
    }
    const rr = await expectFail('signed root does not match the served entries', /root: MTH over the 700 fetched entries/);
    check('wrong root: inclusion proofs also fail', /inclusion proof for entry \d+ in tree size 700/.test(rr.stderr), rr.stderr);

    // Inclusion-proof endpoint lies.
    setSite(honest, { hooks: { 'proof/inclusion': (h, { index }) => (index === 699 ? h.map((x, j) => (j === 0 ? flip(x) : x)) : h) } });
    await expectFail('inclusion proof endpoint returns a wrong hash', /inclusion proof for entry 699 in tree size 700 .*recomputed root/);
    setSite(honest, { hooks: { 'proof/inclusion': (h) => h.slice(1) } });
    await expectFail('inclusion proof endpoint returns a short proof', /inclusion proof for entry 0 .*too few|inclusion proof for entry 0 .*does not equal/);

    // Privacy: personal data logged in entries (properly signed, everything else valid).
    {
      const leaky = all.slice();
      leaky[123] = Buffer.from(JSON.stringify({ v: 1, kind: 'support', seq: 123, contact: '联系电话 13912345678' }));
      leaky[5] = Buffer.from(JSON.stringify({ v: 1, kind: 'kyc', seq: 5, id: '11010519491231002X' }));
      leaky[650] = Buffer.from(JSON.stringify({ v: 1, kind: 'support', seq: 650, from: 'li.si@example.org' }));
      leaky[7] = Buffer.from('{"v":1,"kind":"support","seq":7,"p":"\\u0031\\u0035\\u0030\\u0030\\u0030\\u0030\\u0030\\u0030\\u0030\\u0030\\u0030"}');
      setSite(mk(leaky));
      const r = await expectFail('entry containing a phone number', /privacy: entry 123 contains a Chinese mobile number \(139\*+78\)/);
      check('privacy: ID number in entry 5 reported', /privacy: entry 5 contains a resident ID number/.test(r.stderr), r.stderr);
      check('privacy: e-mail in entry 650 reported', /privacy: entry 650 contains an e-mail address \(l\*\*\*@example\.org\)/.test(r.stderr), r.stderr);
      check('privacy: JSON-escaped phone in entry 7 reported', /privacy: entry 7 contains a Chinese mobile number/.test(r.stderr), r.stderr);
      check('privacy: full number not echoed', !/13912345678/.test(r.stderr + r.stdout));
    }
    {
      const leakyOrigin = buildLog(all.slice(0, 3), { origin: `${ORIGIN}/ops-13812345678`, signer });
      setSite(leakyOrigin);
      await expectFail('checkpoint containing a phone number', /privacy: checkpoint contains a Chinese mobile number/);
    }

    // Usage error.
    const ru = await runVerify([]);
    check('no arguments: usage, exit 2', ru.code === 2 && /usage:/.test(ru.stderr));
  } finally {
    await srv.close();
    await rm(tmp, { recursive: true, force: true });
  }
}

function bundle(entries) {
  return Buffer.concat(entries.flatMap((e) => {
    const l = Buffer.alloc(2);
    l.writeUInt16BE(e.length);
    return [l, e];
  }));
}

function flipAt(buf, i) {
  const c = Buffer.from(buf);
  c[i] ^= 0xff;
  return c;
}

const t0 = Date.now();
unitTests();
await endToEnd();
const secs = ((Date.now() - t0) / 1000).toFixed(1);
if (failed.length) {
  console.log(`\nSELFTEST FAILED: ${failed.length} failed, ${passed} passed (${secs}s)`);
  process.exitCode = 1;
} else {
  console.log(`\nSELFTEST PASSED: ${passed} checks passed, 0 failed (${secs}s)`);
}
