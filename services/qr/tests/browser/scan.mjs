// The partners' scanning page in headless Chromium (playwright-core from clients/node_modules
// and the system's /usr/bin/chromium): sign in with e-mail and password against /identity,
// pick the venue, type a code, read the verdict, sign out (the server refuses the token
// afterwards). The camera path cannot run headless.
//
// Run by services/qr/tests/api/scan.rs with WOLO_SCAN_URL, WOLO_PARTNER_EMAIL,
// WOLO_PARTNER_PASSWORD, WOLO_CODE, WOLO_SHORT (its counter code).

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../../../../clients/package.json'));
const { chromium } = require('playwright-core');

const url = process.env.WOLO_SCAN_URL;
const CHROMIUM = process.env.WOLO_CHROMIUM || '/usr/bin/chromium';

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
try {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'fr-SN' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  assert.equal(await page.title(), 'WOLO — Scanner un cadeau');
  assert.ok(await page.isVisible('#login'));
  assert.ok(!(await page.isVisible('#scanner')));

  // A wrong password: a French error, still signed out.
  await page.fill('#email', process.env.WOLO_PARTNER_EMAIL);
  await page.fill('#password', 'pas-le-bon-mot-de-passe');
  await page.click('#signin-email');
  await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0);
  assert.equal(await page.textContent('#login-error'), 'E-mail ou mot de passe incorrect.');

  await page.fill('#password', process.env.WOLO_PARTNER_PASSWORD);
  await page.click('#signin-email');
  await page.waitForSelector('#scanner:not(.hidden)');
  const venues = await page.$$eval('#venue option', (os) => os.map((o) => [o.value, o.textContent]));
  assert.deepEqual(venues, [['plateau', 'Ciné Plateau — Ciné Dakar'], ['almadies', 'Ciné Almadies — Ciné Dakar']]);
  await page.selectOption('#venue', 'plateau');

  const verdict = async () => {
    await page.waitForFunction(() => /^(ok|ko)$/.test(document.getElementById('result').className));
    const r = await page.$eval('#result', (el) => [el.className, el.textContent, getComputedStyle(el).fontSize]);
    await page.$eval('#result', (el) => { el.className = ''; });
    return r;
  };

  // Typed by hand, lower case with dashes.
  await page.fill('#code', process.env.WOLO_CODE.toLowerCase());
  await page.click('#redeem');
  let [cls, text, size] = await verdict();
  assert.equal(cls, 'ok');
  assert.ok(text.startsWith('Valide — remettre : Soirée cinéma pour deux'), text);
  assert.ok(text.includes('Pour Awa'), text);
  assert.ok(parseFloat(size) >= 24, `large text, got ${size}`);

  // Again (Enter key): already used, in red.
  await page.fill('#code', process.env.WOLO_CODE);
  await page.press('#code', 'Enter');
  [cls, text] = await verdict();
  assert.equal(cls, 'ko');
  assert.ok(text.startsWith('Déjà utilisé'), text);

  // The ten characters under the QR code name the same gift: typed in lower case, already used.
  await page.fill('#code', process.env.WOLO_SHORT.toLowerCase());
  await page.click('#redeem');
  [cls, text] = await verdict();
  assert.equal(cls, 'ko');
  assert.ok(text.startsWith('Déjà utilisé'), text);

  // A typo.
  await page.fill('#code', 'ABCD-EFGH-IJKL');
  await page.click('#redeem');
  [cls, text] = await verdict();
  assert.equal(cls, 'ko');
  assert.ok(text.startsWith('Code invalide'), text);

  // The vendored scanner library is loaded.
  assert.equal(await page.evaluate(() => typeof jsQR), 'function');
  // Reload: still signed in (session storage).
  await page.reload();
  await page.waitForSelector('#scanner:not(.hidden)');

  // « Se déconnecter » ends the sign-in on the server: the token it held is refused at once.
  const held = await page.evaluate(() => sessionStorage.getItem('wolo_partner_token'));
  await Promise.all([page.waitForEvent('load'), page.click('#logout')]);
  await page.waitForSelector('#login:not(.hidden)');
  const after = await page.evaluate(
    async (t) => (await fetch('venues', { headers: { Authorization: 'Bearer ' + t } })).status, held);
  assert.equal(after, 401);
  assert.deepEqual(errors, []);
  console.log('scan page: ok');
} finally {
  await browser.close();
}
