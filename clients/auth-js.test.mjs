// @supabase/auth-js, unchanged, against the GoTrue-shaped identity API (`/identity`, see
// docs/identity.md): SMS code, sessions and refresh rotation, e-mail + password, recovery,
// logout, the password policy (AuthWeakPasswordError.reasons) and sign-in throttling (429).
//
// Run by suite/tests/clients/main.rs (`cargo test -p suite --test clients`), which
// serves the suite over a fresh seeded database and sets WOLO_BASE and WOLO_DATABASE_URL.
// The SMS code only exists in the `notification.requested` outbox event, so it is read
// from `wolo.outbox` with psql.
//
// By hand: WOLO_BASE=http://127.0.0.1:8080 WOLO_DATABASE_URL=postgres://… node --test auth-js.test.mjs

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomInt, randomUUID } from 'node:crypto';

import * as authJs from '@supabase/auth-js';

import { required, recordingFetch } from './lib/env.mjs';

const AuthClient = authJs.AuthClient ?? authJs.GoTrueClient;
const base = required('WOLO_BASE').replace(/\/+$/, '');
const databaseUrl = required('WOLO_DATABASE_URL');
const wire = recordingFetch();

const newClient = () =>
  new AuthClient({
    url: `${base}/identity`,
    persistSession: false,
    autoRefreshToken: false,
    fetch: wire,
  });

/** The code of the latest SMS the identity service asked for. */
function latestSmsCode() {
  return execFileSync(
    'psql',
    [
      databaseUrl,
      '-Atc',
      "select payload->'data'->>'code' from wolo.outbox where topic='notification.requested' order by id desc limit 1",
    ],
    { encoding: 'utf8' },
  ).trim();
}

function psql(sql) {
  return execFileSync('psql', [databaseUrl, '-Atc', sql], { encoding: 'utf8' }).trim();
}

/** The code of the latest e-mail (sign-up confirmation, e-mail change) sent to `email`. */
function latestEmailCode(email) {
  return psql(
    `select payload->'data'->>'code' from wolo.outbox where topic='notification.requested' and payload->'recipient'->>'email' = '${email}' order by id desc limit 1`,
  );
}

/** Moves the rotation of `refreshToken` past the reuse interval (10 s). */
function ageRotation(refreshToken) {
  const hash = createHash('sha256').update(refreshToken).digest('hex');
  psql(`update identity.user_sessions set revoked_at = revoked_at - interval '11 seconds' where token_hash = '${hash}'`);
}

/** Asserts a successful auth-js result; on failure shows the wire exchange. */
function ok(res) {
  assert.equal(
    res.error,
    null,
    `unexpected error ${JSON.stringify(res.error)} (${res.error?.name}: ${res.error?.message})\nlast exchange: ${wire.describeLast()}`,
  );
  return res.data;
}

/** Asserts a failed auth-js result with `status` (and `code`, if given). */
function failed(res, status, code) {
  assert.ok(res.error, `expected an error, got data ${JSON.stringify(res.data)}\nlast exchange: ${wire.describeLast()}`);
  const shown = `error ${res.error.name} ${JSON.stringify(res.error)} (${res.error.message})\nlast exchange: ${wire.describeLast()}`;
  if (status !== undefined) assert.equal(res.error.status, status, shown);
  if (code !== undefined) assert.equal(res.error.code, code, shown);
  return res.error;
}

const suffix = randomUUID().slice(0, 8);
// A fresh Orange number in the national format; the server answers it in E.164.
const localDigits = `77${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;
const phoneLocal = `${localDigits.slice(0, 2)} ${localDigits.slice(2, 5)} ${localDigits.slice(5, 7)} ${localDigits.slice(7)}`;
const phoneE164 = `+221${localDigits}`;

/** signUp (no session until the e-mail is confirmed), then verifyOtp with the e-mailed code. */
async function signUpConfirmed(client, email, password, options) {
  const up = ok(await client.signUp({ email, password, options }));
  assert.equal(up.session, null, `signUp gave a session before confirmation: ${JSON.stringify(up)}`);
  const token = latestEmailCode(email);
  assert.match(token, /^\d{6}$/, `code read from wolo.outbox: ${JSON.stringify(token)}`);
  return ok(await client.verifyOtp({ email, token, type: 'signup' }));
}

describe('phone + SMS code', () => {
  const client = newClient();
  let session;

  test('signInWithOtp then verifyOtp gives a session', async () => {
    ok(await client.signInWithOtp({ phone: phoneLocal }));
    const token = latestSmsCode();
    assert.match(token, /^\d{6}$/, `code read from wolo.outbox: ${JSON.stringify(token)}`);
    const data = ok(await client.verifyOtp({ phone: phoneLocal, token, type: 'sms' }));
    assert.ok(data.session, `no session in ${JSON.stringify(data)}`);
    assert.ok(data.session.access_token);
    assert.ok(data.session.refresh_token);
    assert.equal(data.session.token_type, 'bearer');
    assert.equal(data.user.phone, phoneE164);
    assert.equal(data.session.user.phone, phoneE164);
    session = data.session;
    const current = ok(await client.getSession());
    assert.equal(current.session?.access_token, session.access_token);
  });

  test('getUser with the session', async () => {
    const { user } = ok(await client.getUser());
    assert.equal(user.phone, phoneE164);
    assert.equal(user.id, session.user.id);
    const byToken = ok(await client.getUser(session.access_token));
    assert.equal(byToken.user.id, session.user.id);
  });

  // The access token says what GoTrue's say (docs/identity.md, "Access tokens").
  test("the access token carries GoTrue's claims", async () => {
    const payload = JSON.parse(Buffer.from(session.access_token.split('.')[1], 'base64url').toString('utf8'));
    const shown = JSON.stringify(payload);
    assert.equal(payload.sub, session.user.id, shown);
    assert.equal(payload.role, 'wolo_user', shown);
    assert.equal(payload.aal, 'aal1', shown);
    assert.equal(payload.is_anonymous, false, shown);
    assert.equal(payload.phone, phoneE164, shown);
    assert.equal(payload.email, '', shown);
    assert.match(payload.session_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, shown);
    assert.equal(payload.amr.length, 1, shown);
    assert.equal(payload.amr[0].method, 'otp', shown);
    assert.ok(Math.abs(payload.amr[0].timestamp - Date.now() / 1000) < 120, shown);
    assert.equal(payload.app_metadata.provider, 'phone', shown);
    assert.deepEqual(payload.app_metadata.providers, ['phone'], shown);
    assert.deepEqual(payload.user_metadata, {}, shown);
    assert.equal(payload.exp - payload.iat, session.expires_in, shown);
    // auth-js's own readers of the token: getClaims (checked through getUser for HS256)
    // and the assurance level.
    const { claims } = ok(await client.getClaims());
    assert.deepEqual(claims, payload);
    const aal = ok(await client.mfa.getAuthenticatorAssuranceLevel());
    assert.equal(aal.currentLevel, 'aal1');
    assert.deepEqual(aal.currentAuthenticationMethods, payload.amr);
  });

  test('refreshSession rotates the refresh token; the old one then fails', async () => {
    const old = session.refresh_token;
    const data = ok(await client.refreshSession());
    assert.ok(data.session);
    assert.notEqual(data.session.refresh_token, old);
    assert.equal(data.user.id, session.user.id);
    // The refreshed token keeps the sign-in's session_id and amr.
    const claims = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
    const before = claims(session.access_token);
    const after = claims(data.session.access_token);
    assert.equal(after.session_id, before.session_id);
    assert.deepEqual(after.amr, before.amr);
    session = data.session;
    // Another tab refreshing the same token within the reuse interval gets a session too.
    ok(await newClient().refreshSession({ refresh_token: old }));
    // After the interval it is reuse: refused, and the whole sign-in is revoked.
    ageRotation(old);
    const reused = await newClient().refreshSession({ refresh_token: old });
    failed(reused, 400, 'refresh_token_already_used');
    assert.equal(reused.error.name, 'AuthApiError', wire.describeLast());
    assert.equal(reused.data.session, null);
    failed(await newClient().refreshSession({ refresh_token: session.refresh_token }), 400, 'session_expired');
  });
});

describe('e-mail + password', () => {
  const client = newClient();
  const email = `awa.${suffix}@example.sn`;
  const password = `Teranga-${suffix}`;
  const newPassword = `Jamm-ak-${suffix}`;
  let session;
  let signedOut;

  test('signUp, confirm the e-mail with its code, then signInWithPassword', async () => {
    const up = ok(await client.signUp({ email, password, options: { data: { prenom: 'Awa' } } }));
    assert.equal(up.session, null, `signUp gave a session before confirmation: ${JSON.stringify(up)}`);
    assert.equal(up.user.email, email);
    assert.deepEqual(up.user.user_metadata, { prenom: 'Awa' });
    failed(await newClient().signInWithPassword({ email, password }), 400, 'email_not_confirmed');
    failed(await newClient().verifyOtp({ email, token: '000000', type: 'signup' }), 403, 'otp_expired');
    const confirmed = ok(await client.verifyOtp({ email, token: latestEmailCode(email), type: 'signup' }));
    assert.ok(confirmed.session);
    assert.equal(confirmed.user.id, up.user.id);
    assert.ok(confirmed.user.email_confirmed_at);
    const data = ok(await client.signInWithPassword({ email, password }));
    assert.ok(data.session);
    assert.equal(data.user.email, email);
    assert.equal(data.user.id, up.user.id);
    session = data.session;
  });

  test('a wrong password is refused with 400', async () => {
    const res = await newClient().signInWithPassword({ email, password: `${password}-wrong` });
    failed(res, 400);
    assert.equal(res.data.session, null);
  });

  test('updateUser({password}) changes the password', async () => {
    const { user } = ok(await client.updateUser({ password: newPassword }));
    assert.equal(user.email, email);
    failed(await newClient().signInWithPassword({ email, password }), 400);
    ok(await newClient().signInWithPassword({ email, password: newPassword }));
  });

  test('updateUser({data}) keeps user_metadata; null removes a key', async () => {
    const { user } = ok(await client.updateUser({ data: { ville: 'Thiès', quartier: 'Randoulène' } }));
    assert.deepEqual(user.user_metadata, { prenom: 'Awa', ville: 'Thiès', quartier: 'Randoulène' });
    ok(await client.updateUser({ data: { quartier: null } }));
    const fresh = ok(await client.getUser());
    assert.deepEqual(fresh.user.user_metadata, { prenom: 'Awa', ville: 'Thiès' });
  });

  test('updateUser({email}) takes effect once the new address is confirmed', async () => {
    const changed = `awa.new.${suffix}@example.sn`;
    const { user } = ok(await client.updateUser({ email: changed }));
    assert.equal(user.email, email);
    assert.equal(user.new_email, changed);
    failed(await newClient().verifyOtp({ email: changed, token: '000000', type: 'email_change' }), 403, 'otp_expired');
    const data = ok(await client.verifyOtp({ email: changed, token: latestEmailCode(changed), type: 'email_change' }));
    assert.equal(data.user.email, changed);
    assert.equal(data.user.new_email, null);
    ok(await newClient().signInWithPassword({ email: changed, password: newPassword }));
    // And back, so the rest of this block signs in with the first address.
    ok(await client.updateUser({ email }));
    ok(await client.verifyOtp({ email, token: latestEmailCode(email), type: 'email_change' }));
  });

  test('resetPasswordForEmail resolves without error', async () => {
    ok(await newClient().resetPasswordForEmail(email));
    ok(await newClient().resetPasswordForEmail(`nobody.${suffix}@example.sn`));
  });

  test("signOut({scope: 'global'}) then getUser fails", async () => {
    const accessToken = (ok(await client.getSession())).session.access_token;
    const refreshToken = (ok(await client.getSession())).session.refresh_token;
    ok(await client.signOut({ scope: 'global' }));
    const logout = wire.last();
    assert.match(logout.url, /\/identity\/logout\?scope=global$/, wire.describeLast());
    assert.equal(logout.response.status, 204, wire.describeLast());
    assert.equal(ok(await client.getSession()).session, null);
    failed(await client.getUser());
    // The refresh token is revoked on the server: GoTrue's 400, not a missing session.
    const refused = await newClient().refreshSession({ refresh_token: refreshToken });
    failed(refused, 400, 'session_expired');
    assert.equal(refused.error.name, 'AuthApiError', wire.describeLast());
    signedOut = { accessToken, refreshToken };
  });

  // GoTrue refuses an access token whose session_id no longer has a session
  // (403 session_not_found, which auth-js turns into AuthSessionMissingError).
  test(
    'after a global signOut the old access token no longer gets the user',
    {},
    async () => {
    const res = await newClient().getUser(signedOut.accessToken);
    failed(res);
    assert.equal(res.error.name, 'AuthSessionMissingError', `${res.error.name}\nlast exchange: ${wire.describeLast()}`);
    },
  );
});

describe('error codes reach auth-js (error.code)', () => {
  test('wrong password: invalid_credentials', async () => {
    const email = `code.${suffix}@example.sn`;
    await signUpConfirmed(newClient(), email, `Teranga-${suffix}`);
    failed(await newClient().signInWithPassword({ email, password: 'not-the-password' }), 400, 'invalid_credentials');
  });

  test('signUp with an address that has an account answers as for a new one', async () => {
    const email = `twice.${suffix}@example.sn`;
    const first = await signUpConfirmed(newClient(), email, `Teranga-${suffix}`);
    const mailsBefore = psql(`select count(*) from wolo.outbox where payload->'recipient'->>'email' = '${email}'`);
    const again = ok(await newClient().signUp({ email, password: `Autre-${suffix}` }));
    const fresh = ok(await newClient().signUp({ email: `fresh.${suffix}@example.sn`, password: `Teranga-${suffix}` }));
    assert.equal(again.session, null);
    assert.deepEqual(Object.keys(again.user).sort(), Object.keys(fresh.user).sort());
    assert.notEqual(again.user.id, first.user.id);
    assert.equal(again.user.email_confirmed_at, null);
    // Nothing sent, nothing changed: the first password still signs in.
    assert.equal(psql(`select count(*) from wolo.outbox where payload->'recipient'->>'email' = '${email}'`), mailsBefore);
    ok(await newClient().signInWithPassword({ email, password: `Teranga-${suffix}` }));
  });

  test('weak password: AuthWeakPasswordError', async () => {
    const res = await newClient().signUp({ email: `weak.${suffix}@example.sn`, password: 'short' });
    failed(res, 422, 'weak_password');
    assert.equal(res.error.name, 'AuthWeakPasswordError', wire.describeLast());
    assert.deepEqual(res.error.reasons, ['length'], wire.describeLast());
  });

  test('reused refresh token: refresh_token_already_used', async () => {
    const email = `reuse.${suffix}@example.sn`;
    const { session } = await signUpConfirmed(newClient(), email, `Teranga-${suffix}`);
    ok(await newClient().refreshSession({ refresh_token: session.refresh_token }));
    ageRotation(session.refresh_token);
    failed(await newClient().refreshSession({ refresh_token: session.refresh_token }), 400, 'refresh_token_already_used');
  });

  test('unknown refresh token: refresh_token_not_found', async () => {
    const res = await newClient().refreshSession({ refresh_token: `nope-${suffix}` });
    failed(res, 400, 'refresh_token_not_found');
    assert.equal(res.error.name, 'AuthApiError', wire.describeLast());
  });
});

describe('password policy and throttling', () => {
  // A fresh address: the weak password is refused before any account is created.
  test('signUp with a common password (12345678): AuthWeakPasswordError with reasons', async () => {
    const res = await newClient().signUp({ email: `common.${suffix}@example.sn`, password: '12345678' });
    failed(res, 422, 'weak_password');
    assert.equal(res.error.name, 'AuthWeakPasswordError', wire.describeLast());
    assert.deepEqual(res.error.reasons, ['pwned'], wire.describeLast());
    assert.equal(res.data.user, null);
  });

  // Failures are counted per address whether or not it is registered (the answer says
  // nothing about it): 10 per 15 minutes, then 429 for every try.
  test('repeated wrong signInWithPassword ends in 429 over_request_rate_limit', async () => {
    const email = `locked.${suffix}@example.sn`;
    let tries = 0;
    let res;
    for (; tries < 20; tries += 1) {
      res = await newClient().signInWithPassword({ email, password: `mauvais-${tries}` });
      if (res.error?.status === 429) break;
      failed(res, 400, 'invalid_credentials');
    }
    failed(res, 429, 'over_request_rate_limit');
    assert.equal(tries, 10, 'the 11th try is the first refused');
    assert.equal(res.data.session, null);
  });
});
