// The command dashboard and the case workbench (web/, served at /app/) in a
// real browser (Debian's Chromium, headless, driven by playwright-core; its
// WebGL is SwiftShader's). An operator logs in through the form and sees
// Shanghai's 16 districts on the situation map; a case reported through the
// API appears live on the dashboard and in the queue; the operator verifies,
// accepts, registers and dispatches it through the forms; the department's
// handler signs and replies (with a photo); the operator reviews, the
// inspector checks on site and the operator records the rating, which
// closes it — the whole loop through the workbench alone, with the light
// and the timeline changing at each step. Fails on any page error or
// console error.
//
//   node tests/browser/dashboard.mjs --base http://127.0.0.1:PORT \
//       --credentials DATA_DIR/demo-credentials.json [--out DIR] [--chromium PATH] \
//       [--first-paint-max-ms 2000] [--paint-only]
//
// Screenshots go to --out (default tests/browser/screenshots/). The first
// paint of the dashboard is printed (`first paint: N ms`) and must stay
// under --first-paint-max-ms (default 2000; 0: print only — the test suite
// runs beside other tests on 2 cores, so it only prints; the figure in
// docs/PERFORMANCE.md is measured on a quiet machine).
//
// Steps that need the dashboard endpoints (GET /api/v1/dashboard/topics,
// /dashboard/summary, /dashboard/area-tags) and the live stream
// (GET /api/v1/events) are named as such, so a server without them fails
// clearly; the browser's own "Failed to load resource" lines for missing
// endpoints are then listed as notes rather than counted twice.

import { join } from 'node:path';
import { harness } from './harness.mjs';

const { args, base, credentials, out, check, note, api, launch, logIn, logOut, finish } = harness('dashboard.mjs');

const FIRST_PAINT_MS_MAX = Number(args['first-paint-max-ms'] ?? 2000);
const LIVE_WAIT_MS = 15_000;
const STEP_WAIT_MS = 20_000;


/** Whether a NEW endpoint answers (an event stream is opened, checked and dropped). */
async function endpointPresent(path, stream = false) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 5000);
  try {
    const response = await fetch(`${base}${path}`, {
      headers: { authorization: `Bearer ${credentials.operator}`, accept: stream ? 'text/event-stream' : 'application/json' },
      signal: controller.signal,
    });
    const type = response.headers.get('content-type') ?? '';
    controller.abort();
    return { ok: response.ok && (!stream || type.startsWith('text/event-stream')), status: response.status, type };
  } catch (error) {
    return { ok: false, status: 0, type: String(error) };
  } finally {
    clearTimeout(timer);
  }
}

// A minimal valid JPEG (1x1), made here rather than downloaded.
const JPEG = Buffer.from(
  'ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9',
  'hex',
);

// ---------------------------------------------------------------------------
// The server's NEW dashboard endpoints: present or not.

const NEW = {
  topics: '/api/v1/dashboard/topics',
  summary: '/api/v1/dashboard/summary',
  areaTags: '/api/v1/dashboard/area-tags',
  events: '/api/v1/events',
};
const present = {
  topics: await endpointPresent(NEW.topics),
  summary: await endpointPresent(`${NEW.summary}?days=30`),
  areaTags: await endpointPresent(NEW.areaTags),
  events: await endpointPresent(`${NEW.events}?token=${encodeURIComponent(credentials.operator)}`, true),
};
for (const [key, answer] of Object.entries(present)) {
  check(answer.ok, `NEW endpoint GET ${NEW[key]} answers (${answer.status || answer.type})`);
}
const missingPaths = Object.entries(present).filter(([, a]) => !a.ok).map(([key]) => NEW[key]);

const browser = await launch();

const problems = [];
const missingNotes = new Map();
// A refusal the test provokes on purpose: the browser logs the 4xx it answered.
const expectedRefusals = [];
function watch(page, name) {
  page.on('pageerror', (error) => problems.push(`${name}: page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const url = message.location()?.url ?? '';
    // A missing NEW endpoint's 404 is already a failed step above.
    const missing = missingPaths.find((path) => url.includes(path));
    if (missing && /Failed to load resource|EventSource/.test(message.text())) {
      missingNotes.set(missing, (missingNotes.get(missing) ?? 0) + 1);
      return;
    }
    const expected = expectedRefusals.findIndex((e) => url.includes(e.path) && message.text().includes(`status of ${e.status}`));
    if (expected >= 0) {
      expectedRefusals.splice(expected, 1);
      return;
    }
    problems.push(`${name}: console: ${message.text()} ${url}`);
  });
}


/** The case page's status, light and number of timeline entries. */
async function caseState(page) {
  return page.evaluate(() => ({
    status: document.querySelector('#case-status')?.dataset.status,
    light: document.querySelector('#case-light')?.dataset.light,
    timeline: document.querySelectorAll('#timeline li').length,
    stages: [...document.querySelectorAll('#case-clock .clock')].map((c) => `${c.dataset.stage}:${c.dataset.light}`),
  }));
}

/** One action through its form on the case page; waits for the new status. */
async function act(page, action, fill, expectStatus) {
  const before = await caseState(page);
  await page.click(`#action-tabs [data-action="${action}"]`);
  await page.locator(`#form-${action}`).waitFor();
  if (fill) await fill(page);
  await page.click(`#form-${action} #action-submit`);
  await page.waitForFunction((status) => document.querySelector('#case-status')?.dataset.status === status, expectStatus, { timeout: STEP_WAIT_MS });
  await page.locator(`#timeline li`).nth(before.timeline).waitFor({ state: 'attached', timeout: STEP_WAIT_MS });
  const after = await caseState(page);
  check(after.status === expectStatus && after.timeline > before.timeline,
    `${action}: ${before.status} → ${after.status}; timeline ${before.timeline} → ${after.timeline}; light ${before.light} → ${after.light}; clocks [${before.stages.join(' ')}] → [${after.stages.join(' ')}]`);
  return after;
}

let caseId = null;
try {
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  watch(page, 'dashboard');

  // 1. The operator logs in through the form and lands on the dashboard.
  await logIn(page, 'operator');
  check(page.url().includes('#/dashboard'), 'the operator logs in through the form and lands on the dashboard');
  await page.waitForFunction(() => performance.getEntriesByName('cityloop:first-paint').length > 0, null, { timeout: 30_000 });
  if (process.argv.includes('--paint-only')) {
    // For docs/PERFORMANCE.md on a large store: the first paint, median of
    // five reloads, each once the previous load has settled (summary and
    // rates drawn, the map idle with the case layers) as when someone opens
    // the screen — a reload of a tab still tiling 20,000 points would
    // measure that drawing too; then the same in three fresh tabs (which
    // adds starting a renderer and a WebGL context).
    const settled = async (tab) => {
      await tab.waitForFunction(() => performance.getEntriesByName('cityloop:summary').length > 0, null, { timeout: 60_000 });
      await tab.locator('#rates-department canvas').first().waitFor({ timeout: 60_000 });
      await tab.locator('#rates-street canvas').first().waitFor({ timeout: 60_000 });
      await tab.waitForFunction(() => performance.getEntriesByName('cityloop:case-layers-idle').length > 0, null, { timeout: 60_000 });
    };
    const measure = async (tab) => {
      await tab.waitForFunction(() => performance.getEntriesByName('cityloop:first-paint').length > 0, null, { timeout: 30_000 });
      await settled(tab);
      return tab.evaluate(() => ({
        paint: Math.round(performance.getEntriesByName('cityloop:first-paint')[0].startTime),
        layers: Math.round(performance.getEntriesByName('cityloop:case-layers-idle')[0].startTime),
        points: Number(document.querySelector('#map')?.dataset.points ?? 0),
      }));
    };
    await settled(page);
    const reloads = [];
    for (let round = 0; round < 5; round += 1) {
      await page.reload();
      reloads.push(await measure(page));
    }
    const session = await page.evaluate(() => ({ token: sessionStorage.getItem('cityloop.token'), user: sessionStorage.getItem('cityloop.user') }));
    const fresh = [];
    let tab = page;
    for (let round = 0; round < 3; round += 1) {
      await tab.close();
      tab = await context.newPage();
      watch(tab, `paint-${round}`);
      await tab.addInitScript((s) => {
        sessionStorage.setItem('cityloop.token', s.token);
        sessionStorage.setItem('cityloop.user', s.user);
      }, session);
      await tab.goto(`${base}/app/#/dashboard`);
      fresh.push(await measure(tab));
    }
    const median = (runs, key) => [...runs].map((r) => r[key]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
    const list = (runs, key) => runs.map((r) => r[key]).join(', ');
    console.log(`first paint (reload): median ${median(reloads, 'paint')} ms of ${list(reloads, 'paint')}; case layers drawn (map idle): median ${median(reloads, 'layers')} ms; ${reloads[0].points} points`);
    console.log(`first paint (fresh tab): median ${median(fresh, 'paint')} ms of ${list(fresh, 'paint')}; case layers drawn: median ${median(fresh, 'layers')} ms`);
    await browser.close();
    process.exit(0);
  }
  const districts = await page.getAttribute('#map', 'data-districts');
  check(districts === '16', `the situation map holds Shanghai's 16 districts (map source: ${districts})`);
  const labels = await page.locator('.district-label').allTextContents();
  check(labels.includes('黄浦区') && labels.includes('浦东新区') && labels.includes('崇明区'), `the districts are labelled (${labels.length}: ${labels.slice(0, 4).join('、')}…)`);
  check((await page.locator('#vitals .indicator').count()) > 0, 'the vital signs panel shows indicators');
  await page.waitForFunction(() => Number(document.querySelector('#map')?.dataset.points ?? 0) > 0, null, { timeout: STEP_WAIT_MS });
  check(true, `case points are on the map (${await page.getAttribute('#map', 'data-points')})`);
  await page.locator('#rates-department canvas').first().waitFor({ timeout: STEP_WAIT_MS });
  check(true, 'the 三率 by department are charted');

  // 2. Topics switch the screen (NEW: /api/v1/dashboard/topics, /summary, /area-tags).
  const topics = await page.locator('#topics [data-topic]').allTextContents();
  if (check(present.topics.ok && ['市容环境', '空气质量', '应急处置'].every((name) => topics.includes(name)),
    `topics: the seed topics are offered (${topics.join('、')})`)) {
    for (const name of ['空气质量', '应急处置', '市容环境']) {
      const before = await page.evaluate(() => document.body.dataset.topic);
      await page.click(`#topics [data-topic]:text-is("${name}")`);
      await page.waitForFunction((prev) => document.body.dataset.topic !== prev, before);
      check(true, `topics: switching to ${name} re-draws the screen (${await page.evaluate(() => document.body.dataset.topic)})`);
      if (name === '应急处置') {
        await page.waitForFunction(() => document.body.dataset.summaryTopic === document.body.dataset.topic, null, { timeout: STEP_WAIT_MS });
        await page.screenshot({ path: join(out, 'dashboard-emergency.png') });
        const tagged = Number(await page.getAttribute('#map', 'data-area-tags') ?? 0);
        check(present.areaTags.ok && tagged > 0 && (await page.locator('#layers [data-layer="area_tags"]:not([disabled])').count()) === 1,
          `topics: the emergency topic draws the status areas (area_tags layer, ${tagged} areas)`);
        const shown = Number(await page.getAttribute('#map', 'data-points') ?? 0);
        check(shown > 0, `topics: the emergency topic's own summary is on screen (${shown} case points)`);
      }
    }
  }
  check(present.summary.ok && (await page.locator('#chart-category canvas').count()) > 0 && (await page.locator('#chart-trend canvas').count()) > 0,
    'summary: the by-category and trend charts are drawn from /api/v1/dashboard/summary');

  // 3. First paint, measured on fresh loads of the dashboard (the median of three).
  const paints = [];
  for (let round = 0; round < 3; round += 1) {
    await page.reload();
    await page.waitForFunction(() => performance.getEntriesByName('cityloop:first-paint').length > 0, null, { timeout: 30_000 });
    paints.push(await page.evaluate(() => ({
      firstPaint: Math.round(performance.getEntriesByName('cityloop:first-paint')[0].startTime),
      sinceStart: Number(document.body.dataset.firstPaintSinceStartMs),
    })));
  }
  const paint = [...paints].sort((a, b) => a.firstPaint - b.firstPaint)[1];
  console.log(`first paint: ${paint.firstPaint} ms after navigation, median of ${paints.map((p) => p.firstPaint).join(', ')} ms (${paint.sinceStart} ms after the dashboard's code started)`);
  if (FIRST_PAINT_MS_MAX > 0) {
    check(paint.firstPaint < FIRST_PAINT_MS_MAX, `first paint of the dashboard under ${FIRST_PAINT_MS_MAX} ms (${paint.firstPaint} ms)`);
  }
  await page.waitForTimeout(1500);
  await page.screenshot({ path: join(out, 'dashboard.png') });

  // 4. A case reported through the API appears live, on the dashboard and in
  //    the dispatcher's queue (a second tab of the same session).
  const queue = await context.newPage();
  watch(queue, 'queue');
  await queue.goto(`${base}/app/`);
  const stored = await page.evaluate(() => ({ token: sessionStorage.getItem('cityloop.token'), user: sessionStorage.getItem('cityloop.user') }));
  await queue.evaluate((s) => {
    sessionStorage.setItem('cityloop.token', s.token);
    sessionStorage.setItem('cityloop.user', s.user);
  }, stored);
  await queue.goto(`${base}/app/#/queue?tab=reported`);
  await queue.locator('#queue-rows tr').first().waitFor();
  const created = await api('operator', 'POST', '/api/v1/cases', {
    category: '06010', lon: 121.4352, lat: 31.2468, channel: 'hotline',
    description: '路边暴露垃圾，浏览器测试（dashboard.mjs）', address: '长寿路 100 号门口（浏览器测试）',
  });
  check(created.status === 201 && !created.json?.merged_into, `a case is reported through the API (${created.status}, #${created.json?.case?.id})`);
  caseId = created.json.case.id;
  const onDashboard = await page.locator(`#ticker-list [data-case-id="${caseId}"][data-live]`).waitFor({ timeout: LIVE_WAIT_MS }).then(() => true, () => false);
  check(onDashboard, `live: the new case #${caseId} appears on the dashboard's ticker without a reload (SSE ${NEW.events})`);
  const inQueue = await queue.locator(`#queue-rows tr[data-case-id="${caseId}"]`).waitFor({ timeout: 5000 }).then(() => true, () => false);
  check(inQueue, `live: the new case appears in the dispatcher's queue without a reload (SSE ${NEW.events})`);
  if (!inQueue) {
    await queue.reload();
    await queue.locator(`#queue-rows tr[data-case-id="${caseId}"]`).waitFor();
    check(true, 'the new case is in the dispatcher\'s queue (待核实) after a reload');
  }
  await queue.screenshot({ path: join(out, 'workbench-operator.png') });
  await queue.close();

  // 5. The operator works it through the forms: verify, accept, register, dispatch.
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(`${base}/app/#/queue?tab=reported`);
  await page.click(`#queue-rows tr[data-case-id="${caseId}"]`);
  await page.locator('#case-status[data-status="reported"]').waitFor();
  check(page.url().endsWith(`#/cases/${caseId}`), 'a row of the queue opens the case page');
  check((await page.locator('#case-clock .clock').count()) > 0, `the SLA clock counts down (${await page.textContent('#case-clock .clock-remaining')})`);
  check((await page.locator('#case-mini-map canvas').count()) === 1, 'the case page shows the place on a map');

  // Client-side validation: a decline needs a reason; nothing is sent.
  await page.click('#action-tabs [data-action="decline"]');
  await page.click('#form-decline #action-submit');
  check(await page.locator('#form-decline .field-error[data-error-for="reason"]').isVisible(), 'validation: a decline without a reason is stopped at the form');
  check((await caseState(page)).status === 'reported', 'validation: nothing was sent');

  await act(page, 'verify', (p) => p.fill('#f-verify-note', '电话回访核实属实（浏览器测试）'), 'verified');
  await act(page, 'accept', null, 'accepted');
  // The server's refusal is shown on the form: registration criteria not confirmed.
  await page.click('#action-tabs [data-action="register"]');
  await page.uncheck('#f-register-criteria_met');
  expectedRefusals.push({ path: `/api/v1/cases/${caseId}/actions/register`, status: 409 });
  await page.click('#form-register #action-submit');
  await page.locator('#form-register #action-error').waitFor({ state: 'visible' });
  check((await page.textContent('#form-register #action-error')).includes('409'), `a server refusal is shown on the form (${(await page.textContent('#form-register #action-error')).slice(0, 80)}…)`);
  await act(page, 'register', (p) => p.check('#f-register-criteria_met'), 'registered');
  const handler = (await api('handler', 'GET', '/api/v1/me')).json;
  await act(page, 'dispatch', async (p) => {
    await p.selectOption('#f-dispatch-units', [handler.department]);
    await p.selectOption('#f-dispatch-lead', handler.department);
  }, 'dispatched');
  await page.screenshot({ path: join(out, 'case-operator.png'), fullPage: true });

  // 6. The department's handler signs and replies, with a photo.
  await logOut(page);
  await logIn(page, 'handler');
  check(page.url().includes('#/queue'), 'the handler lands on the queue');
  await page.locator(`#queue-rows tr[data-case-id="${caseId}"]`).waitFor();
  check(await page.getAttribute('#queue-tabs .wb-tab.active', 'data-tab') === 'dispatched', 'the handler\'s queue opens on 待签收 with the case in it');
  await page.screenshot({ path: join(out, 'workbench-handler.png'), fullPage: true });
  await page.click(`#queue-rows tr[data-case-id="${caseId}"]`);
  await page.locator('#case-status[data-status="dispatched"]').waitFor();
  await act(page, 'sign', null, 'handling');
  await page.click('#action-tabs [data-action="reply"]');
  await page.click('#form-reply #action-submit');
  check(await page.locator('#form-reply .field-error[data-error-for="note"]').isVisible(), 'validation: a reply needs a note');
  await act(page, 'reply', async (p) => {
    await p.fill('#f-reply-note', '已清运，现场已清洁（浏览器测试）');
    await p.setInputFiles('#f-reply-evidence', { name: 'after.jpg', mimeType: 'image/jpeg', buffer: JPEG });
  }, 'replied');
  await page.locator('#case-thumbs img[src^="blob:"]').first().waitFor();
  check(true, 'the reply\'s photo is on the case page');
  await page.screenshot({ path: join(out, 'case-handler.png'), fullPage: true });

  // 7. Review (operator), on-site check (inspector), rating (operator): closed.
  await logOut(page);
  await logIn(page, 'operator');
  await page.goto(`${base}/app/#/cases/${caseId}`);
  await page.locator('#case-status[data-status="replied"]').waitFor();
  await act(page, 'review', (p) => p.check('#f-review-approve-true'), 'checking');
  await logOut(page);
  await logIn(page, 'supervisor');
  await page.goto(`${base}/app/#/queue?tab=checking`);
  await page.click(`#queue-rows tr[data-case-id="${caseId}"]`);
  await page.locator('#case-status[data-status="checking"]').waitFor();
  await act(page, 'check', async (p) => {
    await p.check('#f-check-passed-true');
    await p.fill('#f-check-note', '现场已清洁（浏览器测试）');
  }, 'callback');
  await logOut(page);
  await logIn(page, 'operator');
  await page.goto(`${base}/app/#/cases/${caseId}`);
  await page.locator('#case-status[data-status="callback"]').waitFor();
  await act(page, 'rate', (p) => p.selectOption('#f-rate-level', 'satisfied'), 'closed');
  check((await page.locator('#no-actions').count()) === 1 || (await page.locator('#action-tabs [data-action="verify"]').count()) === 0, 'closed: no step of the loop is left to take');
  await page.screenshot({ path: join(out, 'case-closed.png'), fullPage: true });

  // 8. English is one switch away.
  await page.click('#user-menu-button');
  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.querySelector('#case-status')?.textContent === 'Closed');
  check(true, 'the English page says Closed');
  await page.click('#user-menu-button');
  await page.click('#lang-toggle');

  // 9. The dashboard on a 1366×768 laptop: no horizontal scrolling.
  await page.setViewportSize({ width: 1366, height: 768 });
  await page.goto(`${base}/app/#/dashboard`);
  await page.waitForFunction(() => performance.getEntriesByName('cityloop:first-paint').length > 0, null, { timeout: 30_000 });
  await page.waitForTimeout(1000);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `the dashboard fits a 1366×768 laptop (horizontal overflow ${overflow}px)`);
  await page.screenshot({ path: join(out, 'dashboard-laptop.png') });
} catch (error) {
  check(false, `the walk stopped${caseId ? ` (case #${caseId})` : ''}: ${error.message.split('\n')[0]}`);
} finally {
  await browser.close();
}

for (const [path, count] of missingNotes) note(`the browser logged ${count} failed load(s) of the missing NEW endpoint ${path}`);
console.log(`screenshots: ${out}`);
finish('dashboard and workbench', problems);
