// The data hub's screens (web/, served at /app/) in a real browser (Debian's
// Chromium, headless, driven by playwright-core): the data catalogue, one
// dataset with its fields, classification, lineage and quality, the rows
// preview (masked through a grant, in the clear for the owner), the
// owner's quarantine, the grants and the citizen's "谁用了我的数据"
// tracker. Reads only, apart from the access records the previews make
// (which the tracker is meant to show): no grant is requested, decided or
// revoked.
//
//   node tests/browser/datahub.mjs --base http://127.0.0.1:PORT \
//       --credentials DATA_DIR/demo-credentials.json [--out DIR] [--chromium PATH]
//
// The demo's hub data: 上海市公安局普陀分局 (police_lead) owns
// `putuo-police-population` (15 rows accepted, 5 quarantined); 普陀区民政局
// (civil_lead) holds an approved grant on it; the citizen is bound to a
// person in it. Screenshots (datahub-catalogue, -dataset, -grants, -owner,
// -request, -tracker .png) go to --out (default tests/browser/screenshots/).
// Fails on any page error or console error, except the refusals the test
// provokes on purpose (listed as notes).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { harness } from './harness.mjs';

const { base, out, check, note, api, launch, logIn, logOut, finish } = harness('datahub.mjs');

const STEP_WAIT_MS = 20_000;
const POLICE = 'putuo-police-population';
const CIVIL = 'putuo-civil-affairs-population';


// ---------------------------------------------------------------------------
// What the server holds (read through the API, which records nothing).

const police = await api('police_lead', 'GET', `/api/v1/hub/datasets/${POLICE}`);
if (!check(police.status === 200, `the demo has the police population dataset (GET /api/v1/hub/datasets/${POLICE}: ${police.status})`)) {
  console.log('datahub: the demo server has no hub data; nothing more to check');
  process.exit(1);
}
const policeImport = police.json.imports?.[0];
const civilMe = (await api('civil_lead', 'GET', '/api/v1/me')).json;
const grantsBefore = (await api('police_lead', 'GET', `/api/v1/hub/grants?dataset=${POLICE}`)).json ?? [];
const civilGrant = grantsBefore.find((g) => g.department === civilMe?.department && g.status === 'approved' && g.in_force);
check(Boolean(civilGrant), `the civil affairs bureau (${civilMe?.department}) holds an approved grant in force on ${POLICE} (#${civilGrant?.id}: ${civilGrant?.fields?.join(', ')})`);
const trackerBefore = await api('citizen', 'GET', '/api/v1/me/data-access');
const accessesBefore = Array.isArray(trackerBefore.json) ? trackerBefore.json.length : 0;
note(`the citizen's tracker holds ${accessesBefore} access(es) before the test (${trackerBefore.status})`);

const browser = await launch();

const problems = [];
// A refusal the test provokes on purpose: the browser logs the 4xx it answered.
const expectedRefusals = [];
function watch(page, name) {
  page.on('pageerror', (error) => problems.push(`${name}: page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const url = message.location()?.url ?? '';
    const expected = expectedRefusals.findIndex((e) => url.includes(e.path) && message.text().includes(`status of ${e.status}`));
    if (expected >= 0) {
      const [refusal] = expectedRefusals.splice(expected, 1);
      note(`expected refusal logged by the browser: ${refusal.status} ${refusal.path}`);
      return;
    }
    problems.push(`${name}: console: ${message.text()} ${url}`);
  });
}


/** A full-page screenshot from the top (the workbench's header is sticky). */
async function shot(page, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(out, name), fullPage: true });
}

/** The texts of one column of the rows preview. */
const column = (page, field) => page.locator(`#rows-table td[data-field="${field}"]`).allTextContents();

try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  watch(page, 'datahub');

  // 1. The civil affairs bureau's lead: the catalogue, searched.
  await logIn(page, 'civil_lead', '#/data');
  check(page.url().includes('#/data'), 'civil_lead logs in through the form and lands on the data catalogue (a deep link)');
  await page.locator('#dataset-rows tr[data-dataset-id]').first().waitFor({ timeout: STEP_WAIT_MS });
  check(await page.locator('#nav-data').count() === 1 && await page.locator('#nav-grants').count() === 1 && await page.locator('#nav-my-data').count() === 0,
    'the staff navigation offers 数据目录 and 授权 (not 我的数据)');
  await page.fill('#data-q', '人口');
  await page.click('#data-search-submit');
  await page.waitForFunction(() => decodeURIComponent(location.hash).includes('q=人口') && document.querySelector('#datasets')?.dataset.q === '人口', null, { timeout: STEP_WAIT_MS });
  await page.locator('#dataset-rows tr[data-dataset-id]').first().waitFor({ timeout: STEP_WAIT_MS });
  const found = await page.locator('#dataset-rows tr[data-dataset-id]').evaluateAll((rows) => rows.map((r) => ({
    id: r.dataset.datasetId,
    owner: r.querySelector('.c-owner')?.textContent,
    standard: r.querySelector('.c-standard')?.textContent,
    rows: r.querySelector('.c-rows')?.textContent,
    frequency: r.querySelector('.c-frequency')?.textContent,
  })));
  const ids = found.map((r) => r.id);
  check(ids.includes(POLICE) && ids.includes(CIVIL), `search 人口 finds both population datasets (${found.map((r) => `${r.id} · ${r.owner} · ${r.standard} · ${r.rows} rows · ${r.frequency}`).join('; ')})`);
  const policeRow = found.find((r) => r.id === POLICE);
  check(policeRow?.owner?.includes('公安') && policeRow?.standard?.includes('实有人口') && Number(policeRow?.rows?.replace(/,/g, '')) === police.json.rows,
    `the catalogue row shows the owner, standard and row count (${policeRow?.owner}, ${policeRow?.standard}, ${policeRow?.rows})`);
  await shot(page, 'datahub-catalogue.png');

  // 2. The police dataset: fields and classes, lineage and quality.
  await page.click(`#dataset-rows tr[data-dataset-id="${POLICE}"] a`);
  await page.locator('#fields-table tr[data-field]').first().waitFor({ timeout: STEP_WAIT_MS });
  check(page.url().endsWith(`#/data/${POLICE}`), 'a row of the catalogue opens the dataset');
  const fields = await page.locator('#fields-table tbody tr[data-field]').evaluateAll((rows) => rows.map((r) => ({
    name: r.dataset.field,
    cls: r.querySelector('.cls')?.dataset.classification,
    badge: r.querySelector('.cls')?.textContent,
    kind: r.children[2]?.textContent,
  })));
  const byName = Object.fromEntries(fields.map((f) => [f.name, f]));
  check(fields.length === police.json.fields.length && fields.every((f) => f.badge && f.cls),
    `every field has a classification badge (${fields.length} fields: ${fields.map((f) => `${f.name}=${f.badge}`).join(' ')})`);
  check(byName.id_number?.badge === '敏感个人' && byName.name?.badge === '个人' && byName.area_code?.badge === '内部' && byName.age_band?.badge === '公开',
    `the badges read 敏感个人 / 个人 / 内部 / 公开 (id_number ${byName.id_number?.badge}, name ${byName.name?.badge}, area_code ${byName.area_code?.badge}, age_band ${byName.age_band?.badge})`);
  const colours = await page.locator('#fields-table .cls').evaluateAll((badges) => new Set(badges.map((b) => getComputedStyle(b).backgroundColor)).size);
  check(colours >= 3, `the classes are coloured apart (${colours} background colours)`);
  const lineage = await page.locator('#dataset-lineage .import').evaluateAll((items) => items.map((i) => ({
    id: Number(i.dataset.importId),
    accepted: i.querySelector('[data-count="accepted"] strong')?.textContent,
    rejected: i.querySelector('[data-count="rejected"] strong')?.textContent,
    quality: [...i.querySelectorAll('.quality-table tr[data-field]')].map((q) => `${q.dataset.field}:${q.querySelector('.c-pct .pct-text')?.textContent}/${q.querySelectorAll('.c-pct .pct-text')[1]?.textContent}`),
  })));
  const first = lineage[0];
  check(first && first.id === policeImport?.id && first.accepted === String(policeImport.accepted) && first.rejected === String(policeImport.rejected),
    `lineage: import #${first?.id} with ${first?.accepted} accepted and ${first?.rejected} quarantined (the server: ${policeImport?.accepted}/${policeImport?.rejected})`);
  check(first?.quality.length === (policeImport?.quality?.fields?.length ?? -1) && first.quality.some((q) => q.startsWith('mobile:100%/90%')),
    `lineage: quality per field as completeness/validity (${first?.quality.join(' ')})`);
  check(await page.locator('details.quarantine').count() === 0, 'the quarantine is not offered to another department');

  // 3. The rows preview through the grant: masked.
  await page.click('#rows-load');
  await page.locator('#rows-table').waitFor({ timeout: STEP_WAIT_MS });
  const masked = await page.getAttribute('#rows-masked', 'data-masked');
  const names = await column(page, 'name');
  const mobiles = (await column(page, 'mobile')).filter((m) => m !== '—');
  const headers = await page.locator('#rows-table th[data-field]').evaluateAll((ths) => ths.map((th) => th.dataset.field));
  check(masked === 'true' && (await page.textContent('#rows-masked')).includes(`#${civilGrant?.id}`), `the preview says it is masked (${await page.textContent('#rows-masked')})`);
  check(names.length > 0 && names.length <= 20 && names.every((n) => /^\p{Script=Han}+\*+$/u.test(n)), `names are masked: the surname only (${names.slice(0, 5).join(' ')}… ${names.length} rows)`);
  check(mobiles.length > 0 && mobiles.every((m) => /^\d{3}\*{4}\d{4}$/.test(m)), `phones are masked (${mobiles.slice(0, 3).join(' ')}…)`);
  check(JSON.stringify([...headers].sort()) === JSON.stringify([...(civilGrant?.fields ?? [])].sort()) && !headers.includes('id_number'),
    `only the granted fields are shown (${headers.join(', ')})`);
  await shot(page, 'datahub-dataset.png');

  // 4. The grants of the civil affairs bureau: the approved one is listed (nothing is clicked).
  await page.click('#nav-grants');
  await page.locator('#grant-rows tr[data-grant-id]').first().waitFor({ timeout: STEP_WAIT_MS });
  const grantRow = page.locator(`#grant-rows tr[data-grant-id="${civilGrant?.id}"]`);
  check(await grantRow.count() === 1, `#/grants lists grant #${civilGrant?.id}`);
  if (await grantRow.count() === 1) {
    const row = await grantRow.evaluate((r) => ({
      status: r.dataset.status, inForce: r.dataset.inForce, direction: r.dataset.direction,
      statusText: r.querySelector('.status')?.textContent, purpose: r.querySelector('.c-desc')?.textContent,
      actions: [...r.querySelectorAll('[data-action]')].map((b) => b.dataset.action),
    }));
    check(row.status === 'approved' && row.statusText === '已批准' && row.inForce === 'true' && row.direction === 'outgoing' && row.purpose?.includes(civilGrant.purpose),
      `the grant is approved, in force, our request, for ${civilGrant.purpose} (${row.statusText}, ${row.direction})`);
    check(JSON.stringify(row.actions) === '["revoke"]', `the grantee's lead may only revoke it (actions: ${row.actions.join(', ') || 'none'}; not clicked)`);
  }
  await shot(page, 'datahub-grants.png');

  // 5. The police's lead: the quarantine and the rows in the clear.
  await logOut(page);
  await logIn(page, 'police_lead', `#/data/${POLICE}`);
  await page.locator('#fields-table').waitFor({ timeout: STEP_WAIT_MS });
  check(await page.locator('#dataset-own').count() === 1, 'police_lead sees the dataset as its own department\'s');
  const expander = page.locator(`#quarantine-${policeImport?.id}`);
  check(await expander.count() === 1, `the owner has a quarantine expander for import #${policeImport?.id}`);
  await expander.locator('summary').click();
  await expander.locator('tr[data-line]').first().waitFor({ timeout: STEP_WAIT_MS });
  const lines = await expander.locator('tr[data-line]').evaluateAll((rows) => rows.map((r) => ({
    line: Number(r.dataset.line),
    reasons: [...r.querySelectorAll('.reasons li')].map((li) => li.textContent),
    raw: r.querySelector('.raw')?.textContent ?? '',
  })));
  check(lines.length === 5 && lines.every((l) => l.reasons.length > 0 && l.raw.length > 0),
    `the quarantine lists 5 lines with reasons (${lines.map((l) => `line ${l.line}: ${l.reasons.join('; ')}`).join(' | ')})`);
  // The lines handed back as a file to fix: the department's GBK format.
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: STEP_WAIT_MS }),
    page.click(`#quarantine-csv-${policeImport?.id}`),
  ]);
  const csv = await download.path().then((p) => readFileSync(p));
  const firstLine = new TextDecoder('gbk').decode(csv).split(/\r?\n/)[0];
  check(firstLine.startsWith('身份证号,') && firstLine.endsWith(',_line,_reasons') && new TextDecoder('gbk').decode(csv).trim().split(/\r?\n/).length === 6,
    `the quarantined lines download as a GBK file with the header (${firstLine})`);
  await page.click('#rows-load');
  await page.locator('#rows-table').waitFor({ timeout: STEP_WAIT_MS });
  const clearNames = await column(page, 'name');
  const idNumbers = await column(page, 'id_number');
  check(await page.getAttribute('#rows-masked', 'data-masked') === 'false' && clearNames.length > 0 && clearNames.every((n) => !n.includes('*')),
    `the owner's preview is not masked (${clearNames.slice(0, 5).join(' ')}…)`);
  check(idNumbers.length > 0 && idNumbers.every((n) => /^\d{17}[\dX]$/.test(n)), `the owner reads identity numbers in the clear (${idNumbers.length} rows)`);
  await shot(page, 'datahub-owner.png');
  await page.click('#nav-grants');
  await page.locator(`#grant-rows tr[data-grant-id="${civilGrant?.id}"]`).waitFor({ timeout: STEP_WAIT_MS });
  const ownerView = await page.locator(`#grant-rows tr[data-grant-id="${civilGrant?.id}"]`).evaluate((r) => ({
    direction: r.dataset.direction, actions: [...r.querySelectorAll('[data-action]')].map((b) => b.dataset.action),
    department: r.querySelector('.c-department')?.textContent,
  }));
  check(ownerView.direction === 'incoming' && ownerView.actions.includes('revoke') && ownerView.department?.includes('民政'),
    `the owner's lead sees the grant to ${ownerView.department} as a request for its data, revocable (not clicked)`);
  // A revocation needs a note: stopped at the form, nothing sent.
  await page.click(`#grant-rows tr[data-grant-id="${civilGrant?.id}"] [data-action="revoke"]`);
  const noteForm = page.locator(`#grant-rows tr[data-form-for="${civilGrant?.id}"] form`);
  await noteForm.waitFor();
  await noteForm.locator('[data-confirm="revoke"]').click();
  check(await noteForm.locator('.field-error[data-error-for="note"]').isVisible(), 'validation: a revocation without a note is stopped at the form');
  await noteForm.locator('[data-cancel]').click();
  const stillApproved = (await api('police_lead', 'GET', `/api/v1/hub/grants?dataset=${POLICE}`)).json?.find((g) => g.id === civilGrant?.id);
  check(stillApproved?.status === 'approved', `nothing was sent: grant #${civilGrant?.id} is still ${stillApproved?.status}`);

  // 6. A department without a grant: refused politely, offered the request form (not sent).
  const handlerMe = (await api('handler', 'GET', '/api/v1/me')).json;
  const handlerGrant = grantsBefore.find((g) => g.department === handlerMe?.department && g.in_force);
  if (handlerMe?.department && handlerMe.department !== police.json.owner && !handlerGrant) {
    await logOut(page);
    await logIn(page, 'handler', `#/data/${POLICE}`);
    await page.locator('#rows-load').waitFor({ timeout: STEP_WAIT_MS });
    expectedRefusals.push({ path: `/api/v1/hub/datasets/${POLICE}/rows`, status: 403 });
    await page.click('#rows-load');
    await page.locator('#rows-forbidden').waitFor({ timeout: STEP_WAIT_MS });
    const detail = await page.textContent('#rows-forbidden-detail');
    check(detail.includes('grant'), `a department without a grant is refused with the reason (${detail})`);
    check(await page.locator('#grant-form input[name="field"]').count() === police.json.fields.length && await page.locator('#grant-purpose').count() === 1 && await page.locator('#grant-until').count() === 1,
      'the refusal offers the request form: fields, purpose, until-date');
    await page.fill('#grant-purpose', '');
    await page.click('#grant-submit');
    check(await page.locator('#grant-form .field-error[data-error-for="fields"]').isVisible() && await page.locator('#grant-form .field-error[data-error-for="purpose"]').isVisible(),
      'validation: a request without fields and purpose is stopped at the form');
    await shot(page, 'datahub-request.png');
    const grantsAfter = (await api('police_lead', 'GET', `/api/v1/hub/grants?dataset=${POLICE}`)).json ?? [];
    check(grantsAfter.length === grantsBefore.length, `nothing was sent (${grantsAfter.length} grants on ${POLICE})`);
  } else {
    note(`skipped the refusal walk: the handler's department ${handlerMe?.department} owns the dataset or holds a grant`);
  }

  // 7. The citizen: who used my data.
  await logOut(page);
  await logIn(page, 'citizen');
  await page.waitForFunction(() => location.hash.startsWith('#/my-data'), null, { timeout: STEP_WAIT_MS });
  check(true, 'the citizen lands on #/my-data');
  await page.locator('#access-rows tr, #my-data-unbound, #my-data-summary').first().waitFor({ timeout: STEP_WAIT_MS });
  check(await page.locator('#nav-my-data').count() === 1 && await page.locator('#nav-data').count() === 0 && await page.locator('#nav-grants').count() === 0,
    'the citizen\'s navigation offers 我的数据 only');
  check(await page.locator('#my-data-unbound').count() === 0, 'the citizen\'s account is bound (no "not bound" message)');
  const accesses = await page.locator('#access-rows tr').evaluateAll((rows) => rows.map((r) => ({
    at: r.querySelector('.c-at')?.textContent,
    department: r.querySelector('.c-department')?.textContent,
    dataset: r.querySelector('.c-dataset')?.textContent,
    purpose: r.querySelector('.c-purpose')?.textContent,
    fields: [...r.querySelectorAll('.chip')].map((c) => c.textContent),
  })));
  const civilRead = accesses.find((a) => a.department?.includes('普陀区民政局') && a.purpose === civilGrant?.purpose);
  check(Boolean(civilRead), `the tracker lists an access by 普陀区民政局 with its purpose (${civilRead ? `${civilRead.at} · ${civilRead.department} · ${civilRead.dataset} · ${civilRead.purpose} · ${civilRead.fields.join('、')}` : 'none'})`);
  check(accesses.length > accessesBefore, `the previews of this test were recorded (${accessesBefore} → ${accesses.length} accesses)`);
  await shot(page, 'datahub-tracker.png');

  // 8. English is one switch away.
  await page.click('#user-menu-button');
  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.querySelector('.wb-title h1')?.textContent === 'Who used my data', null, { timeout: STEP_WAIT_MS });
  check(true, 'the English tracker says "Who used my data"');
  await page.click('#user-menu-button');
  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.querySelector('.wb-title h1')?.textContent === '谁用了我的数据', null, { timeout: STEP_WAIT_MS });
} catch (error) {
  check(false, `the walk stopped: ${error.message.split('\n')[0]}`);
} finally {
  await browser.close();
}

for (const refusal of expectedRefusals) note(`the expected refusal ${refusal.status} ${refusal.path} was not logged by the browser`);
console.log(`screenshots: ${out}`);
finish('data hub', problems);
