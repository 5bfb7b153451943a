// The pages people open from a link, in headless Chromium (playwright-core from
// clients/node_modules and the system's /usr/bin/chromium), at 360 px (a phone) and 1280 px:
// the pot page and its language switch, the live total while a donation lands, « Participer »
// to the fake Wave's « Payer » and back to the receipt, the error page, the gift page.
// Screenshots go to WOLO_SHOTS (a temporary directory), never into the repository.
//
// Run by suite/tests/pages/main.rs (the_pages_in_chromium) with WOLO_BASE, WOLO_POT_PATH,
// WOLO_POT_TITLE, WOLO_WAVE, WOLO_GIFT_PATH, WOLO_SHORT_CODE, WOLO_FAILED_PATH, WOLO_PAID_PATH,
// WOLO_RESET_PATH, WOLO_CONFIRM_PATH, WOLO_INVITATION_PATH, WOLO_SHOTS.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../../../clients/package.json'));
const { chromium } = require('playwright-core');

const env = (k) => {
  const v = process.env[k];
  assert.ok(v, `${k} is not set`);
  return v;
};
const BASE = env('WOLO_BASE');
const POT = env('WOLO_POT_PATH');
const TITLE = env('WOLO_POT_TITLE');
const WAVE = env('WOLO_WAVE');
const GIFT = env('WOLO_GIFT_PATH');
const SHORT = env('WOLO_SHORT_CODE');
const FAILED = env('WOLO_FAILED_PATH');
const SHOTS = env('WOLO_SHOTS');
const PAID = env('WOLO_PAID_PATH');
const RESET = env('WOLO_RESET_PATH');
const CONFIRM = env('WOLO_CONFIRM_PATH');
const INVITATION = env('WOLO_INVITATION_PATH');
const CHROMIUM = process.env.WOLO_CHROMIUM || '/usr/bin/chromium';

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
const errors = [];

async function open(width, height, mobile) {
  const context = await browser.newContext({
    viewport: { width, height }, isMobile: mobile, hasTouch: mobile, locale: 'fr-SN',
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  return page;
}

// Nothing wider than the screen: no sideways scrolling on a phone.
async function fits(page, what) {
  const [scroll, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= inner, `${what}: ${scroll}px wide in a ${inner}px window`);
}

// Pays the donation behind a fake Wave page: « Payer », which posts the signed webhook and
// sends the browser back to the thank-you page.
async function pay(page) {
  assert.ok(page.url().startsWith(WAVE), `at Wave: ${page.url()}`);
  await page.click('text=Payer');
  await page.waitForURL(/\/dons\/[0-9a-f-]+\/merci/);
}

try {
  for (const [width, height, mobile] of [[360, 740, true], [1280, 800, false]]) {
    const page = await open(width, height, mobile);
    await page.goto(BASE + POT);
    assert.equal(await page.getAttribute('html', 'lang'), 'fr');
    assert.equal(await page.textContent('h1'), TITLE);
    assert.ok((await page.title()).startsWith(TITLE));
    assert.ok(await page.isVisible('form button[type=submit]'));
    assert.equal((await page.textContent('form button[type=submit]')).trim(), 'Participer');
    await fits(page, `pot page at ${width}px`);
    await page.screenshot({ path: join(SHOTS, `pot-${width}.png`), fullPage: true });

    // The switch: Wolof, then English, the link's key kept.
    await page.click('nav.langs a[lang=wo]');
    assert.equal(await page.getAttribute('html', 'lang'), 'wo');
    assert.equal((await page.textContent('form button[type=submit]')).trim(), 'Bokk ci');
    await page.click('nav.langs a[lang=en]');
    assert.equal((await page.textContent('form button[type=submit]')).trim(), 'Contribute');

    const gift = await open(width, height, mobile);
    await gift.goto(BASE + GIFT);
    assert.ok(await gift.isVisible('.qr svg'), 'the QR code is shown');
    const box = await gift.locator('.qr svg').boundingBox();
    assert.ok(box.width >= 200 && box.width <= width, `QR ${box.width}px wide at ${width}px`);
    assert.equal((await gift.textContent('#short-code')).trim(), SHORT);
    await fits(gift, `gift page at ${width}px`);
    await gift.screenshot({ path: join(SHOTS, `gift-${width}.png`), fullPage: true });

    // The receipt, and the pages of the account links: content, and nothing wider than the
    // screen.
    const other = await open(width, height, mobile);
    const pages = [
      [PAID, 'Merci !', '#receipt'],
      [RESET, 'Nouveau mot de passe', 'input[name=password_again]'],
      [CONFIRM, 'Confirmer votre adresse e-mail', 'form button[type=submit]'],
      [INVITATION, 'Vous êtes invité(e) sur WOLO', 'input[name=phone]'],
    ];
    for (const [path, h1, visible] of pages) {
      await other.goto(BASE + path);
      assert.equal(await other.textContent('h1'), h1, path);
      assert.ok(await other.isVisible(visible), `${path}: ${visible}`);
      await fits(other, `${path} at ${width}px`);
    }
    await other.goto(BASE + INVITATION);
    assert.ok((await other.textContent('main')).includes('Awa vous invite à rejoindre WOLO.'));

    const failed = await open(width, height, mobile);
    await failed.goto(BASE + FAILED);
    assert.equal(await failed.textContent('h1'), "Le paiement n'a pas abouti");
    assert.ok((await failed.getAttribute('a.button', 'href')).includes('#participer'));
    await fits(failed, `error page at ${width}px`);
  }

  // Live: a page left open sees a donation land (paid in another tab), without a reload.
  const watching = await open(360, 740, true);
  await watching.goto(BASE + POT);
  const before = await watching.textContent('#raised');
  await watching.evaluate(() => { window.__stillHere = true; });

  const donor = await open(360, 740, true);
  await donor.goto(BASE + POT);
  await donor.fill('#amount', '2500');
  await donor.fill('#donor_name', 'Khady Ba');
  await donor.fill('#message', 'Joyeux anniversaire !');
  await Promise.all([donor.waitForURL((u) => u.href.startsWith(WAVE)), donor.click('form button[type=submit]')]);
  await pay(donor);
  // The thank-you page reloads itself until the webhook is in, then is a receipt.
  await donor.waitForSelector('#receipt', { timeout: 30000 });
  assert.equal(await donor.textContent('h1'), 'Merci !');
  assert.ok((await donor.textContent('#receipt')).includes('2\u202f500\u00a0FCFA'));
  await fits(donor, 'receipt at 360px');
  await donor.screenshot({ path: join(SHOTS, 'receipt-360.png'), fullPage: true });

  await watching.waitForFunction((b) => document.getElementById('raised').textContent !== b, before, { timeout: 30000 });
  assert.equal(await watching.evaluate(() => window.__stillHere), true, 'updated without a reload');
  const after = await watching.textContent('#raised');
  const n = (s) => Number(s.replace(/[^0-9]/g, ''));
  assert.equal(n(after), n(before) + 2500, `${before} -> ${after}`);
  assert.ok((await watching.textContent('#summary')).includes('participant'));
  await watching.screenshot({ path: join(SHOTS, 'pot-live-360.png'), fullPage: true });

  assert.deepEqual(errors, [], 'no script error on any page');
  console.log('pages ok');
} finally {
  await browser.close();
}
