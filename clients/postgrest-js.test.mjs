// @supabase/postgrest-js, unchanged, against the WOLO REST layer (seeded demo data).
//
// Run by suite/tests/clients/main.rs (`cargo test -p suite --test clients`), which
// serves the suite and sets WOLO_BASE, WOLO_ADMIN_TOKEN, WOLO_USER_TOKEN (Moussa),
// WOLO_USER_ID, WOLO_USER_POT (Moussa's open public pot), WOLO_OTHER_POT (Fatou's funded
// public pot). Reads use pots, pot_invitations and donations; writes use admin.feature_flags.
//
// By hand: WOLO_BASE=http://127.0.0.1:8080 ... node --test postgrest-js.test.mjs

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { PostgrestClient } from '@supabase/postgrest-js';

import { loadEnv, recordingFetch } from './lib/env.mjs';

const env = loadEnv();
const wire = recordingFetch();

const client = (service, token) =>
  new PostgrestClient(`${env.base}/${service}`, {
    headers: { Authorization: `Bearer ${token}` },
    fetch: wire,
  });

const pots = client('pots', env.adminToken);
const admin = client('admin', env.adminToken);
const userPots = client('pots', env.userToken);
const userAdmin = client('admin', env.userToken);

/** Asserts a successful response; on failure shows the wire exchange. */
function ok(res, status) {
  assert.equal(
    res.error,
    null,
    `unexpected error ${JSON.stringify(res.error)}\nlast exchange: ${wire.describeLast()}`,
  );
  if (status !== undefined) {
    assert.equal(res.status, status, `status\nlast exchange: ${wire.describeLast()}`);
  }
  return res.data;
}

/** Asserts a failed response with `code` and `status`. */
function failed(res, code, status) {
  assert.ok(res.error, `expected error ${code}, got data ${JSON.stringify(res.data)}\nlast exchange: ${wire.describeLast()}`);
  assert.equal(res.error.code, code, `error ${JSON.stringify(res.error)}\nlast exchange: ${wire.describeLast()}`);
  assert.equal(res.status, status, `status for ${JSON.stringify(res.error)}\nlast exchange: ${wire.describeLast()}`);
  assert.equal(res.data, null);
  return res.error;
}

const sorted = (xs) => [...xs].sort();
const suffix = randomUUID().slice(0, 8);

describe('reads: filters', () => {
  test('eq', async () => {
    const rows = ok(await pots.from('pots').select('id, title, status').eq('status', 'open'), 200);
    assert.deepEqual(rows, [{ id: env.userPot, title: "L'anniversaire de Moussa", status: 'open' }]);
  });

  test('in', async () => {
    const rows = ok(await pots.from('pots').select('id').in('id', [env.userPot, env.otherPot]), 200);
    assert.deepEqual(sorted(rows.map((r) => r.id)), sorted([env.userPot, env.otherPot]));
  });

  test('in with a value that needs quoting', async () => {
    const rows = ok(await pots.from('pots').select('title').in('title', ["L'anniversaire de Moussa", 'a,b (c)']), 200);
    assert.deepEqual(rows, [{ title: "L'anniversaire de Moussa" }]);
  });

  test('gt + order', async () => {
    const rows = ok(
      await pots.from('pots').select('target_amount_cfa').gt('target_amount_cfa', 30000).order('target_amount_cfa'),
      200,
    );
    assert.deepEqual(rows, [{ target_amount_cfa: 35000 }, { target_amount_cfa: 40000 }]);
  });

  test('ilike', async () => {
    const rows = ok(await pots.from('pots').select('id').ilike('title', '%MOUSSA%'), 200);
    assert.deepEqual(rows, [{ id: env.userPot }]);
  });

  test('or', async () => {
    const rows = ok(
      await pots.from('pots').select('status').or('status.eq.funded,status.eq.closed').order('status'),
      200,
    );
    assert.deepEqual(rows, [{ status: 'closed' }, { status: 'funded' }]);
  });

  test('match, filter, not in, contains and overlaps', async () => {
    const open = ok(await pots.from('pots').select('id').match({ status: 'open', visibility: 'public' }), 200);
    assert.deepEqual(open, [{ id: env.userPot }]);
    const two = ok(await pots.from('pots').select('status').filter('status', 'in', '(open,funded)').order('status'), 200);
    assert.deepEqual(two, [{ status: 'funded' }, { status: 'open' }]);
    const three = ok(await pots.from('pots').select('id').not('status', 'in', '(open,funded)'), 200);
    assert.equal(three.length, 3);
    const dakar = ok(
      await admin.from('feature_flags').select('flag_key').contains('target_regions', ['Dakar', 'Thiès']),
      200,
    );
    assert.ok(dakar.some((f) => f.flag_key === 'wolof_interface'), JSON.stringify(dakar));
    const lo = ok(
      await admin.from('feature_flags').select('flag_key').overlaps('target_regions', ['Saint-Louis', 'Nowhere']),
      200,
    );
    assert.ok(lo.some((f) => f.flag_key === 'wolof_interface'), JSON.stringify(lo));
  });

  test('or with a nested and, is and not', async () => {
    const rows = ok(
      await pots
        .from('pots')
        .select('status')
        .or('status.eq.open,and(target_amount_cfa.gte.35000,visibility.eq.public)')
        .not('actual_opened_at', 'is', null)
        .order('status'),
      200,
    );
    assert.deepEqual(rows, [{ status: 'funded' }, { status: 'open' }]);
  });
});

describe('reads: embedding', () => {
  test('pots with their pot_invitations (one-to-many)', async () => {
    const rows = ok(
      await pots.from('pots').select('id, title, pot_invitations(id, invitation_method)').eq('id', env.userPot),
      200,
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0].pot_invitations.length, 6);
    assert.deepEqual(
      sorted(new Set(rows[0].pot_invitations.map((i) => i.invitation_method))),
      ['email', 'sms', 'social', 'whatsapp'],
    );
  });

  test('pot_invitations with pots(title) (many-to-one)', async () => {
    const rows = ok(await pots.from('pot_invitations').select('id, pots(title)').eq('pot_id', env.otherPot), 200);
    assert.equal(rows.length, 4);
    for (const r of rows) assert.deepEqual(r.pots, { title: 'Les 31 ans de Fatou' });
  });

  test('pots with donations, across schemas, filtered and ordered inside the embed', async () => {
    const rows = ok(
      await pots
        .from('pots')
        .select('id, donations(amount_cfa, status)')
        .eq('id', env.otherPot)
        .eq('donations.status', 'succeeded')
        .order('amount_cfa', { referencedTable: 'donations', ascending: false }),
      200,
    );
    assert.equal(rows.length, 1);
    const amounts = rows[0].donations.map((d) => d.amount_cfa);
    assert.deepEqual(amounts, [10000, 10000, 7500, 7500, 5000]);
    assert.equal(amounts.reduce((a, b) => a + b, 0), 40000);
  });

  test('donations with pots(title) through the donations service', async () => {
    const donations = client('donations', env.adminToken);
    const rows = ok(
      await donations.from('donations').select('amount_cfa, pots(title)').eq('pot_id', env.userPot).eq('status', 'pending'),
      200,
    );
    assert.deepEqual(rows, [{ amount_cfa: 5000, pots: { title: "L'anniversaire de Moussa" } }]);
  });
});

describe('reads: order, limit, single, count, range', () => {
  test('order + limit', async () => {
    const rows = ok(
      await pots.from('pots').select('target_amount_cfa').order('target_amount_cfa', { ascending: false }).limit(2),
      200,
    );
    assert.deepEqual(rows, [{ target_amount_cfa: 40000 }, { target_amount_cfa: 35000 }]);
  });

  test('order on two columns with nullsFirst', async () => {
    const rows = ok(
      await pots
        .from('pots')
        .select('actual_opened_at, title')
        .order('actual_opened_at', { ascending: true, nullsFirst: true })
        .order('title')
        .limit(1),
      200,
    );
    assert.deepEqual(rows, [{ actual_opened_at: null, title: 'Les 16 ans de Mariama' }]);
  });

  test('single() on one row gives an object', async () => {
    const row = ok(await pots.from('pots').select('id, status').eq('id', env.userPot).single(), 200);
    assert.deepEqual(row, { id: env.userPot, status: 'open' });
  });

  test('single() on many rows fails with PGRST116 (406)', async () => {
    const err = failed(await pots.from('pots').select('id').single(), 'PGRST116', 406);
    assert.match(err.details, /5 rows/);
  });

  test('single() on no row fails with PGRST116 (406)', async () => {
    const err = failed(await pots.from('pots').select('id').eq('status', 'nope').single(), 'PGRST116', 406);
    assert.equal(err.details, 'The result contains 0 rows');
  });

  test('maybeSingle() on no row gives null, on one row the object', async () => {
    const none = await pots.from('pots').select('id').eq('status', 'nope').maybeSingle();
    assert.equal(ok(none, 200), null);
    const one = ok(await pots.from('pots').select('id').eq('id', env.otherPot).maybeSingle(), 200);
    assert.deepEqual(one, { id: env.otherPot });
    failed(await pots.from('pots').select('id').maybeSingle(), 'PGRST116', 406);
  });

  test("count: 'exact' with head: true", async () => {
    const res = await pots.from('pots').select('*', { count: 'exact', head: true });
    assert.equal(ok(res, 200), null);
    assert.equal(res.count, 5);
    const open = await pots.from('pots').select('*', { count: 'exact', head: true }).eq('status', 'open');
    ok(open, 200);
    assert.equal(open.count, 1);
  });

  test('range(0, 1) with count: 2 rows of 5, status 206', async () => {
    const res = await pots.from('pots').select('id', { count: 'exact' }).order('id').range(0, 1);
    const rows = ok(res, 206);
    assert.equal(rows.length, 2);
    assert.equal(res.count, 5);
    assert.equal(wire.last().response.headers['content-range'], '0-1/5');
  });

  test('an offset past the end: [] without count, 416 PGRST103 with count', async () => {
    const res = await pots.from('pots').select('id').order('id').range(10, 12);
    assert.deepEqual(ok(res, 200), []);
    const err = failed(
      await pots.from('pots').select('id', { count: 'exact' }).order('id').range(10, 12),
      'PGRST103',
      416,
    );
    assert.equal(err.details, 'An offset of 10 was requested, but there are only 5 rows.');
  });

  test('limit and order inside an embed (referencedTable)', async () => {
    const rows = ok(
      await pots
        .from('pots')
        .select('id, donations(amount_cfa)')
        .eq('id', env.otherPot)
        .order('amount_cfa', { referencedTable: 'donations' })
        .limit(2, { referencedTable: 'donations' }),
      200,
    );
    assert.deepEqual(rows[0].donations, [{ amount_cfa: 5000 }, { amount_cfa: 7500 }]);
  });

  test('!inner embed filters the parents', async () => {
    const rows = ok(
      await pots.from('pots').select('id, donations!inner(status)').eq('donations.status', 'pending'),
      200,
    );
    assert.deepEqual(rows, [{ id: env.userPot, donations: [{ status: 'pending' }] }]);
  });

  test('csv()', async () => {
    const res = await pots.from('pots').select('title, target_amount_cfa').eq('id', env.userPot).csv();
    assert.equal(ok(res, 200), "title,target_amount_cfa\nL'anniversaire de Moussa,22500");
  });

  test('schema(): the service schema is accepted, another one refused (406 PGRST106)', async () => {
    const rows = ok(await pots.schema('pots').from('pots').select('id').eq('id', env.userPot), 200);
    assert.deepEqual(rows, [{ id: env.userPot }]);
    failed(await pots.schema('donations').from('donations').select('id'), 'PGRST106', 406);
  });

  test('range(2, 10) past the end: the last 3 rows', async () => {
    const res = await pots.from('pots').select('id', { count: 'exact' }).order('id').range(2, 10);
    const rows = ok(res, 206);
    assert.equal(rows.length, 3);
    assert.equal(res.count, 5);
  });
});

describe('writes on admin.feature_flags', () => {
  const key = `clients_js_${suffix}`;
  let id;

  test('insert + select() returns the row (201)', async () => {
    const rows = ok(
      await admin
        .from('feature_flags')
        .insert({ flag_key: key, name: 'postgrest-js', rollout_percentage: 10, target_regions: ['Dakar', 'Thiès'] })
        .select(),
      201,
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0].flag_key, key);
    assert.equal(rows[0].rollout_percentage, 10);
    assert.deepEqual(rows[0].target_regions, ['Dakar', 'Thiès']);
    assert.equal(rows[0].is_enabled, false, 'column default applied');
    id = rows[0].id;
    assert.match(id, /^[0-9a-f-]{36}$/);
  });

  test('insert + select() + single() returns an object', async () => {
    const row = ok(
      await admin.from('feature_flags').insert({ flag_key: `${key}_one`, name: 'single' }).select('flag_key, name').single(),
      201,
    );
    assert.deepEqual(row, { flag_key: `${key}_one`, name: 'single' });
  });

  test('update + select() + single() on no row: 406 PGRST116', async () => {
    const err = failed(
      await admin.from('feature_flags').update({ name: 'x' }).eq('flag_key', 'no_such_flag').select().single(),
      'PGRST116',
      406,
    );
    assert.equal(err.details, 'The result contains 0 rows');
  });

  test("insert without select() returns no body (201); count: 'exact' counts it", async () => {
    const res = await admin
      .from('feature_flags')
      .insert({ flag_key: `${key}_min`, name: 'minimal' }, { count: 'exact' });
    assert.equal(ok(res, 201), null);
    assert.equal(res.count, 1);
  });

  test('bulk insert with differing keys (columns=, missing=default) + select(cols)', async () => {
    const rows = ok(
      await admin
        .from('feature_flags')
        .insert(
          [
            { flag_key: `${key}_a`, name: 'bulk a' },
            { flag_key: `${key}_b`, name: 'bulk b', rollout_percentage: 5 },
          ],
          { defaultToNull: false },
        )
        .select('flag_key, rollout_percentage, is_enabled'),
      201,
    );
    assert.deepEqual(
      rows.sort((a, b) => a.flag_key.localeCompare(b.flag_key)),
      [
        { flag_key: `${key}_a`, rollout_percentage: 0, is_enabled: false },
        { flag_key: `${key}_b`, rollout_percentage: 5, is_enabled: false },
      ],
    );
  });

  test('a duplicate flag_key is a unique violation: 23505, 409', async () => {
    const err = failed(
      await admin.from('feature_flags').insert({ flag_key: key, name: 'again' }).select(),
      '23505',
      409,
    );
    assert.match(err.message, /duplicate key value violates unique constraint/);
  });

  test('a check violation: 23514, 400', async () => {
    failed(
      await admin.from('feature_flags').update({ rollout_percentage: 150 }).eq('flag_key', key).select(),
      '23514',
      400,
    );
  });

  test('upsert with onConflict updates the existing row', async () => {
    const rows = ok(
      await admin
        .from('feature_flags')
        .upsert({ flag_key: key, name: 'postgrest-js upserted', rollout_percentage: 50 }, { onConflict: 'flag_key' })
        .select(),
      // PostgREST answers 200 when a merge-duplicates upsert inserted no new row.
      200,
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0].id, id, 'same row');
    assert.equal(rows[0].name, 'postgrest-js upserted');
    assert.equal(rows[0].rollout_percentage, 50);
  });

  test('upsert with onConflict inserts a new row', async () => {
    const rows = ok(
      await admin
        .from('feature_flags')
        .upsert({ flag_key: `${key}_new`, name: 'upsert new' }, { onConflict: 'flag_key' })
        .select('flag_key, name'),
      201,
    );
    assert.deepEqual(rows, [{ flag_key: `${key}_new`, name: 'upsert new' }]);
  });

  test('upsert with ignoreDuplicates leaves the existing row alone', async () => {
    const res = await admin
      .from('feature_flags')
      .upsert({ flag_key: key, name: 'ignored' }, { onConflict: 'flag_key', ignoreDuplicates: true })
      .select('name');
    assert.deepEqual(ok(res), []);
    const row = ok(await admin.from('feature_flags').select('name').eq('flag_key', key).single(), 200);
    assert.equal(row.name, 'postgrest-js upserted');
  });

  test('update with eq + select() returns the updated rows (200)', async () => {
    const rows = ok(
      await admin
        .from('feature_flags')
        .update({ rollout_percentage: 75, is_enabled: true })
        .eq('flag_key', key)
        .select('flag_key, rollout_percentage, is_enabled'),
      200,
    );
    assert.deepEqual(rows, [{ flag_key: key, rollout_percentage: 75, is_enabled: true }]);
  });

  test('update without select() (204) and matching no row', async () => {
    const res = await admin.from('feature_flags').update({ name: 'renamed' }).eq('flag_key', `${key}_min`);
    assert.equal(ok(res, 204), null);
    const none = await admin.from('feature_flags').update({ name: 'x' }).eq('flag_key', 'no_such_flag').select();
    assert.deepEqual(ok(none, 200), []);
  });

  test('maxAffected(1) on an update touching several rows: 400 PGRST124, nothing changed', async () => {
    failed(
      await admin.from('feature_flags').update({ name: 'too many' }).like('flag_key', `${key}_*`).maxAffected(1),
      'PGRST124',
      400,
    );
    const rows = ok(await admin.from('feature_flags').select('name').eq('name', 'too many'), 200);
    assert.deepEqual(rows, []);
  });

  test('update with count exact', async () => {
    const res = await admin
      .from('feature_flags')
      .update({ description: 'bulk' }, { count: 'exact' })
      .like('flag_key', `${key}_*`);
    ok(res, 204);
    assert.equal(res.count, 5);
  });

  test('delete with select() returns the deleted row; then it is gone', async () => {
    const rows = ok(await admin.from('feature_flags').delete().eq('flag_key', key).select('id'), 200);
    assert.deepEqual(rows, [{ id }]);
    const gone = ok(await admin.from('feature_flags').select('id').eq('flag_key', key), 200);
    assert.deepEqual(gone, []);
  });

  test('delete without select() (204)', async () => {
    const res = await admin.from('feature_flags').delete().like('flag_key', `${key}_*`);
    assert.equal(ok(res, 204), null);
    const { count } = await admin
      .from('feature_flags')
      .select('*', { count: 'exact', head: true })
      .like('flag_key', `clients_js_${suffix}*`);
    assert.equal(count, 0);
  });
});

describe('errors and row-level security', () => {
  test('unknown table: 404 PGRST205', async () => {
    const err = failed(await pots.from('no_such_table').select(), 'PGRST205', 404);
    assert.match(err.message, /no_such_table/);
  });

  test('unknown column: 400 42703', async () => {
    failed(await pots.from('pots').select('id, no_such_column'), '42703', 400);
  });

  test('a user token reads its own and public pots only', async () => {
    const rows = ok(await userPots.from('pots').select('id, visibility, owner_user_id').order('id'), 200);
    assert.equal(rows.length, 3);
    for (const r of rows) assert.ok(r.visibility === 'public' || r.owner_user_id === env.userId, JSON.stringify(r));
    const invitations = ok(await userPots.from('pot_invitations').select('pot_id'), 200);
    assert.equal(invitations.length, 6);
    for (const i of invitations) assert.equal(i.pot_id, env.userPot);
  });

  test('a user token may invite on its own pot', async () => {
    const rows = ok(
      await userPots
        .from('pot_invitations')
        .insert({
          pot_id: env.userPot,
          invited_by_user_id: env.userId,
          invitation_method: 'whatsapp',
          recipient_identifier: '+221770000001',
        })
        .select('pot_id, invitation_method'),
      201,
    );
    assert.deepEqual(rows, [{ pot_id: env.userPot, invitation_method: 'whatsapp' }]);
    // Leave the demo data as it was.
    const gone = ok(
      await pots.from('pot_invitations').delete().eq('recipient_identifier', '+221770000001').select('id'),
      200,
    );
    assert.equal(gone.length, 1);
  });

  test("RLS: a user token inviting on someone else's pot: 42501, 403", async () => {
    const err = failed(
      await userPots.from('pot_invitations').insert({
        pot_id: env.otherPot,
        invited_by_user_id: env.userId,
        invitation_method: 'sms',
        recipient_identifier: '+221770000002',
      }),
      '42501',
      403,
    );
    assert.match(err.message, /row-level security/);
  });

  test('grants: a user token on admin.feature_flags: 42501, 403', async () => {
    const err = failed(await userAdmin.from('feature_flags').select('flag_key'), '42501', 403);
    assert.match(err.message, /permission denied/);
  });

  test('an update of rows the user cannot see affects nothing', async () => {
    const rows = ok(
      await userPots.from('pots').update({ title: 'hijacked' }).eq('id', env.otherPot).select(),
      200,
    );
    assert.deepEqual(rows, []);
    const row = ok(await pots.from('pots').select('title').eq('id', env.otherPot).single(), 200);
    assert.equal(row.title, 'Les 31 ans de Fatou');
  });
});
