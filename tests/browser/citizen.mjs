// The citizen page in a real browser (Debian's Chromium, headless, driven by
// playwright-core): a citizen reports a problem anonymously with a photo,
// gets a tracking number and receipt, watches the case move while staff act
// through the API, and rates it when it is done. Fails on any page error or
// console error.
//
//   node tests/browser/citizen.mjs --base http://127.0.0.1:PORT \
//       --credentials DATA_DIR/demo-credentials.json [--out DIR] [--chromium PATH]
//
// Screenshots go to --out (default tests/browser/screenshots/).

import { join } from 'node:path';
import { harness } from './harness.mjs';

const { base, credentials, out, check, launch, finish } = harness('citizen.mjs');


/** A staff action through the API, as the operations centre does it. */
async function act(role, id, action, body) {
  const response = await fetch(`${base}/api/v1/cases/${id}/actions/${action}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${credentials[role]}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${role} ${action}: ${response.status} ${await response.text()}`);
}

// A minimal valid JPEG (1x1), made here rather than downloaded.
const JPEG = Buffer.from(
  'ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9',
  'hex',
);

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN' });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });

  // 1. Report, anonymously, by area, with a photo.
  await page.goto(`${base}/citizen`);
  await page.fill('#category-search', '暴露垃圾');
  await page.click('.cat-option[data-code="06010"]');
  check((await page.textContent('#category-chosen-name'))?.includes('暴露垃圾'), 'the searched category is chosen');
  const scale = page.locator('[name="attribute[scale]"]');
  await scale.waitFor();
  await scale.selectOption('patch');
  await page.click('#tab-area');
  await page.locator('#district-select option[value="310107"]').waitFor({ state: 'attached' });
  await page.selectOption('#district-select', '310107');
  await page.locator('#street-select option[value="310107015"]').waitFor({ state: 'attached' });
  await page.selectOption('#street-select', '310107015');
  await page.fill('#address-string', '长寿路 100 号门口（浏览器测试）');
  await page.fill('#description', '路边暴露垃圾，气味很大（浏览器测试）');
  await page.check('#anonymous');
  await page.setInputFiles('#photos', { name: 'photo.jpg', mimeType: 'image/jpeg', buffer: JPEG });
  await page.screenshot({ path: join(out, 'citizen-report.png'), fullPage: true });
  await page.click('#submit-report');
  await page.locator('#report-success').waitFor({ state: 'visible' });
  const tracking = (await page.textContent('#success-tracking-number'))?.trim();
  const receipt = (await page.textContent('#receipt'))?.trim();
  check(/^\d+$/.test(tracking ?? ''), `a tracking number (${tracking})`);
  check(receipt?.startsWith(`${tracking}-`), `a receipt for it (${receipt})`);
  await page.screenshot({ path: join(out, 'citizen-receipt.png'), fullPage: true });

  // 2. Follow it: the page refreshes itself while staff act.
  await page.goto(`${base}/citizen#case/${receipt}`);
  await page.locator('#timeline li[data-action="created"]').waitFor();
  check((await page.getAttribute('#status', 'data-status-detail')) === 'reported', 'the case is reported');
  await act('operator', tracking, 'verify', { note: '核实属实' });
  await page.locator('#timeline li[data-action="verified"]').waitFor({ timeout: 25_000 });
  check(true, 'the verification appears without a reload');
  await act('operator', tracking, 'accept', {});
  await act('operator', tracking, 'register', { criteria_met: true });
  await act('operator', tracking, 'dispatch', { units: ['310107-cgzf'], lead: '310107-cgzf' });
  await act('handler', tracking, 'sign', {});
  await act('handler', tracking, 'reply', { note: '已清运', evidence: [] });
  await act('operator', tracking, 'review', { approve: true, note: '' });
  await act('supervisor', tracking, 'check', { passed: true, note: '现场已清洁' });
  await page.locator('#rate-form').waitFor({ state: 'visible', timeout: 25_000 });
  check((await page.getAttribute('#status', 'data-status-detail')) === 'callback', 'checked: awaiting the rating');
  await page.screenshot({ path: join(out, 'citizen-case.png'), fullPage: true });

  // 3. Rate it: 满意, with a comment; the case closes.
  await page.check('#level-satisfied');
  await page.fill('#rate-comment', '处理及时，谢谢');
  await page.click('#rate-submit');
  await page.locator('#rating').waitFor({ state: 'visible' });
  await page.waitForFunction(() => document.querySelector('#status')?.dataset.statusDetail === 'closed');
  check(true, 'rated 满意: the case is closed');
  check((await page.locator('#timeline li[data-action="rated"]').count()) === 1, 'the rating is on the timeline');
  await page.screenshot({ path: join(out, 'citizen-rated.png'), fullPage: true });

  // 4. English is one switch away.
  await page.click('#lang-toggle');
  check((await page.textContent('body'))?.includes('Closed'), 'the English page says Closed');

  await browser.close();
  finish('citizen page', problems);
} finally {
  await browser.close();
}
