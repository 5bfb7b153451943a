// A browser on another origin uses the WOLO REST layer (CORS), driven with playwright-core
// and the system's Chromium (/usr/bin/chromium, `apt-get install chromium`; never a
// downloaded browser).
//
// A static server on a second loopback port serves cors.html (and the postgrest-js bundle
// it imports); the page calls fetch() on WOLO_BASE, which is another origin (another port).
// The server must allow any origin (WOLO_CORS_ORIGINS unset), answer preflights, and expose
// Content-Range, Location and the other PostgREST headers.
//
// Run by suite/tests/clients/main.rs; by hand: WOLO_BASE=... node --test cors.test.mjs

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { loadEnv } from './lib/env.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const env = loadEnv();
const CHROMIUM = process.env.WOLO_CHROMIUM || '/usr/bin/chromium';
const suffix = randomUUID().slice(0, 8);
const key = `clients_cors_${suffix}`;

// The only files the page origin serves.
const FILES = {
  '/': ['cors.html', 'text/html; charset=utf-8'],
  '/cors.html': ['cors.html', 'text/html; charset=utf-8'],
  '/postgrest-js.mjs': ['node_modules/@supabase/postgrest-js/dist/index.mjs', 'text/javascript; charset=utf-8'],
};

let server;
let pageOrigin;
let profile;
let context;
let page;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run \`make test\` (it installs chromium with apt-get)`);
  server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const file = FILES[path];
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': file[1], 'Cache-Control': 'no-store' });
    res.end(await readFile(join(here, file[0])));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  pageOrigin = `http://127.0.0.1:${server.address().port}`;
  assert.notEqual(pageOrigin, new URL(env.base).origin, 'the page and the API must be two origins');

  profile = await mkdtemp(join(tmpdir(), 'wolo-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 60_000,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  page.on('console', (m) => console.log(`[page console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => console.log(`[page error] ${e}`));
  await page.goto(`${pageOrigin}/cors.html`);
  await page.waitForFunction(() => window.woloReady === true);
});

after(async () => {
  await context?.close().catch(() => {});
  if (profile) await rm(profile, { recursive: true, force: true }).catch(() => {});
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
});

const call = (name, ...args) => page.evaluate(({ name, args }) => window.wolo[name](...args), { name, args });

/** Fails with what the page saw when the fetch itself failed (a CORS refusal). */
function reached(out) {
  assert.equal(out.error, undefined, `the browser refused the response: ${out.error}`);
  assert.equal(out.type, 'cors', 'a cross-origin (cors) response');
  return out;
}

describe('a page on another origin', () => {
  test('runs on its own origin', async () => {
    assert.equal(await call('origin'), pageOrigin);
  });

  test('GET with Prefer: count=exact reads the exposed Content-Range', async () => {
    const out = reached(await call('countPublicPots', env.base));
    // Anonymous: the three public pots.
    assert.equal(out.status, 206);
    assert.equal(out.contentRange, '0-1/3');
    assert.equal(out.body.length, 2);
    assert.ok(out.requestId, 'x-request-id is exposed');
    assert.equal(out.contentType, 'application/json; charset=utf-8');
    assert.equal(out.vary, null, 'headers the server does not expose stay hidden');
  });

  test('POST with Authorization, Content-Type json and Prefer return=representation (preflighted)', async () => {
    const out = reached(
      await call('createFlag', env.base, env.adminToken, { flag_key: key, name: 'CORS', rollout_percentage: 30 }),
    );
    assert.equal(out.status, 201, JSON.stringify(out.body));
    assert.equal(out.body.length, 1);
    assert.equal(out.body[0].flag_key, key);
    assert.equal(out.body[0].rollout_percentage, 30);
    assert.match(out.body[0].id, /^[0-9a-f-]{36}$/);
    assert.equal(out.contentRange, '*/*');
    assert.match(out.preferenceApplied, /return=representation/);
  });

  test('POST with Prefer return=headers-only reads the exposed Location', async () => {
    const out = reached(
      await call('createFlagHeadersOnly', env.base, env.adminToken, { flag_key: `${key}_loc`, name: 'CORS location' }),
    );
    assert.equal(out.status, 201);
    assert.match(out.location ?? '', /^\/feature_flags\?id=eq\.[0-9a-f-]{36}$/);
  });

  test('PATCH and DELETE pass their preflight', async () => {
    const patched = reached(await call('patchFlag', env.base, env.adminToken, key, { rollout_percentage: 90 }));
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.deepEqual(patched.body, [{ flag_key: key, rollout_percentage: 90 }]);
    assert.equal(patched.contentRange, '0-0/*');
    const deleted = reached(await call('deleteFlags', env.base, env.adminToken, `${key}*`));
    assert.equal(deleted.status, 204);
    assert.equal(deleted.contentRange, '*/2');
  });

  test('an error response is readable too (CORS headers on errors)', async () => {
    const out = reached(await call('anonymousOnAdmin', env.base));
    assert.equal(out.status, 401);
    assert.equal(out.body.code, '42501');
  });

  test('postgrest-js runs in the page, cross-origin', async () => {
    const out = await call('postgrestJs', env.base, env.adminToken);
    assert.equal(out.error, null, JSON.stringify(out.error));
    assert.equal(out.status, 206);
    assert.equal(out.count, 5);
    assert.equal(out.rows.length, 2);
    assert.ok(Array.isArray(out.rows[0].donations));
    assert.equal(out.headError, null, JSON.stringify(out.headError));
    assert.equal(out.headStatus, 200);
    assert.equal(out.headCount, 16);
  });
});

describe('the preflight itself', () => {
  test('OPTIONS answers any origin with the asked method and headers', async () => {
    const res = await fetch(`${env.base}/admin/feature_flags`, {
      method: 'OPTIONS',
      headers: {
        Origin: pageOrigin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type,prefer',
      },
    });
    assert.ok(res.status === 200 || res.status === 204, `status ${res.status}`);
    const allowOrigin = res.headers.get('access-control-allow-origin');
    assert.ok(allowOrigin === '*' || allowOrigin === pageOrigin, `allow-origin ${allowOrigin}`);
    assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
    const allowHeaders = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const h of ['authorization', 'content-type', 'prefer']) assert.ok(allowHeaders.includes(h), allowHeaders);
  });
});
