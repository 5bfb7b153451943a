// The admin console in headless Chromium (playwright-core from clients/node_modules and
// the system's /usr/bin/chromium): sign in, toggle a flag, change a rollout, try an
// invalid then a valid configuration value, search the audit log, sign out.
//
// Run by services/admin/tests/api/console.rs, which serves identity and admin on one
// origin and sets WOLO_BASE, ADMIN_EMAIL, ADMIN_PASSWORD.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../../../clients/package.json'));
const { chromium } = require('playwright-core');

const BASE = process.env.WOLO_BASE;
const CHROMIUM = process.env.WOLO_CHROMIUM || '/usr/bin/chromium';
let context;
let page;
let profile;
// What the browser reported as blocked by the page's Content-Security-Policy.
const cspViolations = [];

before(async () => {
  profile = await mkdtemp(join(tmpdir(), 'wolo-admin-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
    timeout: 60_000,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (e) => console.log(`[page error] ${e}`));
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
});

after(async () => {
  await context?.close().catch(() => {});
  if (profile) await rm(profile, { recursive: true, force: true }).catch(() => {});
});

test('the console works in a browser', async () => {
  await page.goto(`${BASE}/admin/console`);
  assert.equal(await page.getAttribute('html', 'lang'), 'fr');

  // A wrong password is refused.
  await page.fill('#email', process.env.ADMIN_EMAIL);
  await page.fill('#password', 'mauvais-mot-de-passe');
  await page.click('#login-button');
  await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0);

  await page.fill('#password', process.env.ADMIN_PASSWORD);
  await page.click('#login-button');
  await page.waitForSelector('body[data-flags="loaded"]');
  assert.equal(await page.textContent('#who'), process.env.ADMIN_EMAIL);

  // Toggle a flag and change another's rollout.
  const toggle = 'input.flag-toggle[data-key="whatsapp_notifications"]';
  assert.equal(await page.isChecked(toggle), false);
  await page.click(toggle);
  await page.waitForSelector('tr[data-flag="whatsapp_notifications"][data-saved="yes"]');
  await page.evaluate(() => { document.querySelector('tr[data-flag="whatsapp_notifications"]').dataset.saved = 'no'; });
  await page.fill('input.flag-rollout[data-key="whatsapp_notifications"]', '40');
  await page.press('input.flag-rollout[data-key="whatsapp_notifications"]', 'Tab');
  await page.waitForSelector('tr[data-flag="whatsapp_notifications"][data-saved="yes"]');

  // Configuration: an invalid value shows the validation error, a valid one is saved.
  await page.click('nav button[data-tab="config"]');
  await page.waitForSelector('body[data-config="loaded"]');
  const row = 'tr[data-key="referral.daily_invitation_limit"]';
  await page.fill(`${row} .config-value`, '51');
  await page.click(`${row} .config-save`);
  await page.waitForFunction(() => document.getElementById('config-error').textContent.includes('Refusé'));
  assert.match(await page.textContent('#config-error'), /50/);
  await page.fill(`${row} .config-value`, '30');
  await page.click(`${row} .config-save`);
  await page.waitForFunction(() => document.getElementById('config-ok').textContent.includes('referral.daily_invitation_limit'));

  // Audit log search.
  await page.click('nav button[data-tab="audit"]');
  await page.fill('#audit-action', 'feature_flags_update');
  await page.click('#audit-search');
  try {
    await page.waitForFunction(() => document.body.dataset.audit === 'loaded:2', null, { timeout: 10_000 });
  } catch (e) {
    console.log('audit state', await page.evaluate(() => [document.body.dataset.audit, document.getElementById('audit-error').textContent, document.getElementById('audit').textContent]));
    throw e;
  }
  const text = await page.textContent('#audit');
  assert.match(text, /feature_flags_update/);
  assert.match(text, /whatsapp_notifications/);

  await page.click('#logout');
  await page.waitForSelector('body[data-state="signed-out"]');
});

test('the console runs under its Content-Security-Policy with nothing blocked', async () => {
  await page.goto(`${BASE}/admin/console`);
  await page.waitForSelector('body[data-state]');
  // An inline script the page did not ship is refused: the policy is in force.
  await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'document.body.dataset.inline = "ran"';
    document.body.appendChild(s);
  });
  assert.equal(await page.getAttribute('body', 'data-inline'), null);
  const blocked = cspViolations.splice(0);
  assert.equal(blocked.length, 1, blocked.join('\n'));
});
