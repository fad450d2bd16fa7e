// What the browser scripts share: their command line, the check/note
// output that the CLI tests read, the API with a demo role's token, the
// Chromium they drive, and log-in/log-out through the web app's form.

import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Parses `--base URL --credentials FILE [--out DIR] [--chromium PATH] …`
 * (exits with a usage line without base or credentials) and returns the
 * script's tools.
 */
export function harness(script) {
  const args = Object.fromEntries(
    process.argv.slice(2).reduce((pairs, arg, i, all) => {
      if (arg.startsWith('--')) pairs.push([arg.slice(2), all[i + 1]]);
      return pairs;
    }, []),
  );
  const base = args.base?.replace(/\/$/, '');
  if (!base || !args.credentials) {
    console.error(`usage: ${script} --base URL --credentials FILE [--out DIR] [--chromium PATH]`);
    process.exit(2);
  }
  const credentials = JSON.parse(readFileSync(args.credentials, 'utf8'));
  const out = args.out ?? join(here, 'screenshots');
  mkdirSync(out, { recursive: true });

  let failures = 0;
  const check = (ok, what) => {
    console.log(`${ok ? 'ok' : 'FAIL'} ${what}`);
    if (!ok) failures += 1;
    return ok;
  };
  const note = (what) => console.log(`note ${what}`);

  /** A request with a demo role's token; `{ status, json, text }`. */
  async function api(role, method, path, body) {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${credentials[role]}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      // Not JSON.
    }
    return { status: response.status, json, text };
  }

  /** Debian's headless Chromium. The map is WebGL: Chromium draws it with
   *  SwiftShader (software Vulkan) and composites the page on the CPU as on
   *  any machine without a GPU. Forcing SwiftShader for compositing too
   *  (--ignore-gpu-blocklist) doubled the first paint (docs/PERFORMANCE.md). */
  const launch = () => chromium.launch({
    executablePath: args.chromium ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--enable-unsafe-swiftshader',
      '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });

  /** Logs in through the form; `hash` is a deep link the form leads to afterwards. */
  async function logIn(page, role, hash = '#/login') {
    await page.goto(`${base}/app/${hash}`);
    await page.locator('#login-form').waitFor();
    await page.fill('#username', credentials.logins[role].username);
    await page.fill('#password', credentials.logins[role].password);
    await page.click('#login-submit');
    await page.waitForFunction(() => !location.hash.startsWith('#/login') && !document.querySelector('#login-form'));
  }

  async function logOut(page) {
    await page.click('#user-menu-button');
    await page.click('#logout');
    await page.locator('#login-form').waitFor();
  }

  /** Prints the verdict line the CLI tests look for and exits with it;
   *  `problems` (page and console errors), when given, fail it too. */
  function finish(what, problems) {
    if (problems) {
      for (const problem of problems) console.log(`FAIL ${problem}`);
      failures += problems.length;
      check(problems.length === 0, 'no errors in the console');
    }
    console.log(`${what}: ${failures === 0 ? 'passed' : `${failures} failed`}`);
    process.exit(failures === 0 ? 0 : 1);
  }

  return { args, base, credentials, out, check, note, api, launch, logIn, logOut, finish };
}
