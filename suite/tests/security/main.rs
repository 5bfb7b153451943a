//! Security tests: the API roles, grants and row-level security of migrations V30/V31
//! (see docs/security.md). Each test gets its own database, loads a small fixture as the
//! superuser, then acts the way the REST layer will: one transaction per request that does
//! `set local role <role>` and sets `request.jwt.claims`.

mod admin;
mod donations;
mod doors;
mod hidden;
mod identity;
mod notifications_analytics;
mod partners;
mod pots;
mod profiles;
mod referral;
mod roles;
mod service_roles;

use sqlx::{PgPool, Postgres, Transaction};
use testkit::TestDb;
use uuid::Uuid;

/// The four roles a request may run as.
pub const API_ROLES: [&str; 4] = ["wolo_anon", "wolo_user", "wolo_partner", "wolo_admin"];

/// The ten service schemas.
pub const SCHEMAS: [&str; 10] = [
    "identity",
    "profiles",
    "referral",
    "pots",
    "donations",
    "packs",
    "qr",
    "notifications",
    "analytics",
    "admin",
];

const fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_4000_b000_0000_0000_0000 | n)
}

// Users.
/// Owner of a public and a private pot; sponsor of Bob; public profile.
pub const ALICE: Uuid = id(0x0101);
/// Donor to Alice's pots; guardian of Mia; private profile.
pub const BOB: Uuid = id(0x0102);
/// A user with no data of her own (not even a profile).
pub const CAROL: Uuid = id(0x0103);
/// A minor (private profile, guardian Bob).
pub const MIA: Uuid = id(0x0104);
/// Staff of partner P1 (CinéTest).
pub const PAT: Uuid = id(0x0105);
/// Staff of partner P2 (SpaTest).
pub const QUINN: Uuid = id(0x0106);
/// An admin.
pub const ADAM: Uuid = id(0x0107);

// Sessions.
pub const ALICE_SESSION: Uuid = id(0x0201);
pub const BOB_SESSION: Uuid = id(0x0202);

// Partners and packs.
/// Active partner of Pat.
pub const P1: Uuid = id(0x0301);
/// Active partner of Quinn.
pub const P2: Uuid = id(0x0302);
/// Pending partner (not in the public directory).
pub const P3: Uuid = id(0x0303);
/// Active pack of P1.
pub const PACK1: Uuid = id(0x0311);
/// Active pack of P2.
pub const PACK2: Uuid = id(0x0312);
/// Inactive pack of P1.
pub const PACK3: Uuid = id(0x0313);

// Pots.
pub const ALICE_PUBLIC_POT: Uuid = id(0x0401);
pub const ALICE_PRIVATE_POT: Uuid = id(0x0402);
pub const BOB_PRIVATE_POT: Uuid = id(0x0403);

// Donations.
/// Succeeded, named ("Bob Donor"), by Bob, to Alice's public pot.
pub const D_NAMED: Uuid = id(0x0501);
/// Succeeded, anonymous (donor_name "Secret Giver"), no account, to Alice's public pot.
pub const D_ANONYMOUS: Uuid = id(0x0502);
/// Pending, named, no account, to Alice's public pot.
pub const D_PENDING: Uuid = id(0x0503);
/// Succeeded, by Bob, to Alice's private pot.
pub const D_PRIVATE_POT: Uuid = id(0x0504);

// QR codes, settlements, scan logs.
/// Alice's public pot, pack of P1, issued.
pub const QR1: Uuid = id(0x0601);
/// Alice's public pot, pack of P2, redeemed at P2.
pub const QR2: Uuid = id(0x0602);
pub const SETTLEMENT_P1: Uuid = id(0x0611);
pub const SETTLEMENT_P2: Uuid = id(0x0612);
/// Pat scanned QR1.
pub const LOG1: Uuid = id(0x0621);
/// Quinn scanned QR2.
pub const LOG2: Uuid = id(0x0622);

// Referrals.
/// Alice invited Bob, who joined.
pub const REFERRAL_ALICE_BOB: Uuid = id(0x0701);

/// The fixture every test starts from, loaded as the superuser (RLS does not apply).
const FIXTURE: &str = r#"
insert into identity.users (id, phone, email, roles) values
    ('00000000-0000-4000-b000-000000000101', '+221770000101', 'alice@example.com', array['user']),
    ('00000000-0000-4000-b000-000000000102', '+221770000102', 'bob@example.com', array['user']),
    ('00000000-0000-4000-b000-000000000103', '+221770000103', null, array['user']),
    ('00000000-0000-4000-b000-000000000104', '+221770000104', null, array['user']),
    ('00000000-0000-4000-b000-000000000105', '+221770000105', 'pat@example.com', array['partner']),
    ('00000000-0000-4000-b000-000000000106', '+221770000106', 'quinn@example.com', array['partner']),
    ('00000000-0000-4000-b000-000000000107', '+221770000107', 'adam@example.org', array['user', 'admin']);

insert into identity.user_sessions (id, user_id, token_hash, expires_at) values
    ('00000000-0000-4000-b000-000000000201', '00000000-0000-4000-b000-000000000101', 'hash-alice', now() + interval '30 days'),
    ('00000000-0000-4000-b000-000000000202', '00000000-0000-4000-b000-000000000102', 'hash-bob', now() + interval '30 days');

insert into identity.password_reset_tokens (user_id, token_hash, expires_at) values
    ('00000000-0000-4000-b000-000000000101', 'reset-alice', now() + interval '1 hour');

insert into profiles.profiles (user_id, full_name, date_of_birth, is_profile_public, id_number, id_type) values
    ('00000000-0000-4000-b000-000000000101', 'Alice Ndiaye', current_date - interval '30 years', true, 'SN-1234', 'national_id'),
    ('00000000-0000-4000-b000-000000000102', 'Bob Diop', current_date - interval '45 years', false, null, null);
insert into profiles.profiles (user_id, full_name, date_of_birth, is_profile_public, guardian_user_id, relationship_type, id_number, id_type) values
    ('00000000-0000-4000-b000-000000000104', 'Mia Diop', current_date - interval '15 years', false,
     '00000000-0000-4000-b000-000000000102', 'parent', 'BC-777', 'birth_certificate');

insert into profiles.user_addresses (user_id, city) values
    ('00000000-0000-4000-b000-000000000101', 'Dakar'),
    ('00000000-0000-4000-b000-000000000102', 'Thiès');

insert into packs.partners (id, name, type, description, contact_email, tax_id, revenue_split_percentage, status) values
    ('00000000-0000-4000-b000-000000000301', 'CinéTest', 'cinema', 'Cinéma', 'contact@cinetest.example.com', 'TAX-P1', 80, 'active'),
    ('00000000-0000-4000-b000-000000000302', 'SpaTest', 'spa', 'Spa', 'contact@spatest.example.com', 'TAX-P2', 75, 'active'),
    ('00000000-0000-4000-b000-000000000303', 'PendingTest', 'restaurant', 'Bientôt', 'contact@pending.example.com', 'TAX-P3', 70, 'pending');

insert into packs.packs (id, name, description, category, base_price_cfa, partner_id, is_active) values
    ('00000000-0000-4000-b000-000000000311', 'Ciné Duo', 'Deux places', 'cinema', 10000, '00000000-0000-4000-b000-000000000301', true),
    ('00000000-0000-4000-b000-000000000312', 'Pause Spa', 'Un massage', 'spa', 25000, '00000000-0000-4000-b000-000000000302', true),
    ('00000000-0000-4000-b000-000000000313', 'Ciné Nuit', 'Retiré', 'cinema', 12000, '00000000-0000-4000-b000-000000000301', false);

insert into packs.partner_members (partner_id, user_id, role) values
    ('00000000-0000-4000-b000-000000000301', '00000000-0000-4000-b000-000000000105', 'staff'),
    ('00000000-0000-4000-b000-000000000302', '00000000-0000-4000-b000-000000000106', 'manager');

insert into packs.sponsor_campaigns (sponsor_company_name, campaign_name, budget_cfa, starts_at, ends_at, status) values
    ('Orange', 'Active campaign', 100000, now() - interval '1 day', now() + interval '10 days', 'active'),
    ('Free', 'Draft campaign', 100000, now() - interval '1 day', now() + interval '10 days', 'draft');

insert into referral.referrals (id, sponsor_user_id, referral_code, invited_phone, status, sponsored_user_id) values
    ('00000000-0000-4000-b000-000000000701', '00000000-0000-4000-b000-000000000101', 'ALICE-BOB', '+221770000102',
     'accepted', '00000000-0000-4000-b000-000000000102');
insert into referral.points_ledger (sponsor_user_id, referral_id, event_type, points_earned) values
    ('00000000-0000-4000-b000-000000000101', '00000000-0000-4000-b000-000000000701', 'referral_accepted', 100);
insert into referral.sponsor_daily_limits (sponsor_user_id) values ('00000000-0000-4000-b000-000000000101');

insert into pots.pots (id, owner_user_id, title, target_amount_cfa, birthday_date, scheduled_open_at, status, visibility) values
    ('00000000-0000-4000-b000-000000000401', '00000000-0000-4000-b000-000000000101', 'Alice public', 50000,
     current_date + 40, now() + interval '10 days', 'open', 'public'),
    ('00000000-0000-4000-b000-000000000402', '00000000-0000-4000-b000-000000000101', 'Alice private', 50000,
     current_date + 40, now() + interval '10 days', 'open', 'private'),
    ('00000000-0000-4000-b000-000000000403', '00000000-0000-4000-b000-000000000102', 'Bob private', 50000,
     current_date + 40, now() + interval '10 days', 'open', 'private');

insert into pots.pot_invitations (pot_id, invited_by_user_id, invitation_method, recipient_identifier) values
    ('00000000-0000-4000-b000-000000000401', '00000000-0000-4000-b000-000000000101', 'sms', '+221770000999'),
    ('00000000-0000-4000-b000-000000000403', '00000000-0000-4000-b000-000000000102', 'sms', '+221770000998');
insert into pots.pot_analytics (pot_id, snapshot_date) values
    ('00000000-0000-4000-b000-000000000401', current_date),
    ('00000000-0000-4000-b000-000000000403', current_date);

insert into donations.donations (id, pot_id, donor_user_id, donor_name, donor_phone, amount_cfa, status, is_anonymous) values
    ('00000000-0000-4000-b000-000000000501', '00000000-0000-4000-b000-000000000401', '00000000-0000-4000-b000-000000000102',
     'Bob Donor', '+221770000102', 5000, 'succeeded', false),
    ('00000000-0000-4000-b000-000000000502', '00000000-0000-4000-b000-000000000401', null,
     'Secret Giver', '+221770000555', 3000, 'succeeded', true),
    ('00000000-0000-4000-b000-000000000503', '00000000-0000-4000-b000-000000000401', null,
     'Pending Payer', '+221770000556', 2000, 'pending', false),
    ('00000000-0000-4000-b000-000000000504', '00000000-0000-4000-b000-000000000402', '00000000-0000-4000-b000-000000000102',
     'Bob Donor', '+221770000102', 7000, 'succeeded', false);

insert into qr.qr_codes (id, pot_id, pack_id, code, redeemable_from, expires_at, status, redeemed_at, redeemed_by_partner_id) values
    ('00000000-0000-4000-b000-000000000601', '00000000-0000-4000-b000-000000000401', '00000000-0000-4000-b000-000000000311',
     'CODE-ONE', now(), now() + interval '90 days', 'issued', null, null),
    ('00000000-0000-4000-b000-000000000602', '00000000-0000-4000-b000-000000000401', '00000000-0000-4000-b000-000000000312',
     'CODE-TWO', now() - interval '2 days', now() + interval '88 days', 'redeemed', now(), '00000000-0000-4000-b000-000000000302');

insert into qr.partner_settlements (id, partner_id, period_start, period_end, total_revenue_cfa) values
    ('00000000-0000-4000-b000-000000000611', '00000000-0000-4000-b000-000000000301', date '2025-01-01', date '2025-01-31', 10000),
    ('00000000-0000-4000-b000-000000000612', '00000000-0000-4000-b000-000000000302', date '2025-01-01', date '2025-01-31', 25000);

insert into qr.qr_redemption_logs (id, qr_code_id, partner_user_id, validation_result) values
    ('00000000-0000-4000-b000-000000000621', '00000000-0000-4000-b000-000000000601', '00000000-0000-4000-b000-000000000105', 'not_yet_valid'),
    ('00000000-0000-4000-b000-000000000622', '00000000-0000-4000-b000-000000000602', '00000000-0000-4000-b000-000000000106', 'success');

insert into notifications.notifications (user_id, recipient_identifier, template_id, channel, body)
select u.id, u.phone, (select id from notifications.notification_templates order by template_key limit 1), 'sms', 'Bonjour'
from identity.users u
where u.id in ('00000000-0000-4000-b000-000000000101', '00000000-0000-4000-b000-000000000102');
insert into notifications.notification_preferences (user_id) values ('00000000-0000-4000-b000-000000000102');

insert into analytics.analytics_events (event_name, event_category, user_id) values
    ('pot_viewed', 'pot', '00000000-0000-4000-b000-000000000101');

insert into admin.audit_logs (actor_user_id, actor_type, action, resource_type) values
    ('00000000-0000-4000-b000-000000000107', 'user', 'user_suspended', 'user');
"#;

/// A fresh database with the fixture loaded.
pub async fn world() -> TestDb {
    let db = TestDb::new().await;
    sqlx::raw_sql(FIXTURE)
        .execute(&db.pool)
        .await
        .expect("loading the security fixture");
    db
}

/// The claims the REST layer sets for a caller (`{}` for anonymous callers).
pub fn claims(role: &str, sub: Option<Uuid>) -> serde_json::Value {
    match sub {
        Some(sub) => serde_json::json!({ "sub": sub, "role": role, "exp": 4_102_444_800_i64 }),
        None if role == "wolo_anon" => serde_json::json!({}),
        None => serde_json::json!({ "role": role, "exp": 4_102_444_800_i64 }),
    }
}

/// A transaction set up like one REST request: `set local role` and the JWT claims.
pub async fn as_role(
    pool: &PgPool,
    role: &str,
    sub: Option<Uuid>,
) -> Transaction<'static, Postgres> {
    assert!(API_ROLES.contains(&role), "not an API role: {role}");
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(&format!("set local role {role}"))
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("select set_config('request.jwt.claims', $1, true)")
        .bind(claims(role, sub).to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx
}

pub async fn anon(pool: &PgPool) -> Transaction<'static, Postgres> {
    as_role(pool, "wolo_anon", None).await
}

pub async fn user(pool: &PgPool, sub: Uuid) -> Transaction<'static, Postgres> {
    as_role(pool, "wolo_user", Some(sub)).await
}

pub async fn partner(pool: &PgPool, sub: Uuid) -> Transaction<'static, Postgres> {
    as_role(pool, "wolo_partner", Some(sub)).await
}

pub async fn admin(pool: &PgPool) -> Transaction<'static, Postgres> {
    as_role(pool, "wolo_admin", Some(ADAM)).await
}

/// Runs `sql` in `tx` and returns the ids (first column, a UUID) of the rows, sorted.
pub async fn ids(tx: &mut Transaction<'static, Postgres>, sql: &str) -> Vec<Uuid> {
    let mut v: Vec<Uuid> = sqlx::query_scalar(sql)
        .fetch_all(&mut **tx)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    v.sort();
    v
}

/// Sorted copy of `ids`.
pub fn sorted(ids: &[Uuid]) -> Vec<Uuid> {
    let mut v = ids.to_vec();
    v.sort();
    v
}

/// Runs `sql` in `tx` and returns the number of rows it affected.
pub async fn affected(tx: &mut Transaction<'static, Postgres>, sql: &str) -> u64 {
    sqlx::query(sql)
        .execute(&mut **tx)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .rows_affected()
}

/// Runs `sql` in `tx`, expects it to fail, and returns (SQLSTATE, message). The
/// transaction is unusable afterwards; start a new one.
pub async fn refused(tx: &mut Transaction<'static, Postgres>, sql: &str) -> (String, String) {
    match sqlx::query(sql).execute(&mut **tx).await {
        Ok(r) => panic!(
            "expected {sql:?} to fail, it affected {} rows",
            r.rows_affected()
        ),
        Err(sqlx::Error::Database(e)) => (
            e.code().map(|c| c.to_string()).unwrap_or_default(),
            e.message().to_string(),
        ),
        Err(other) => panic!("{sql}: expected a database error, got {other}"),
    }
}

/// Asserts `sql` fails with 42501 "permission denied" (a missing grant).
pub async fn assert_permission_denied(pool: &PgPool, role: &str, sub: Option<Uuid>, sql: &str) {
    let mut tx = as_role(pool, role, sub).await;
    let (code, message) = refused(&mut tx, sql).await;
    assert_eq!(code, "42501", "{role}: {sql}: {message}");
    assert!(
        message.starts_with("permission denied"),
        "{role}: {sql}: expected a missing grant, got {message:?}"
    );
}

/// Asserts `sql` fails with 42501 "new row violates row-level security policy".
pub async fn assert_rls_violation(pool: &PgPool, role: &str, sub: Option<Uuid>, sql: &str) {
    let mut tx = as_role(pool, role, sub).await;
    let (code, message) = refused(&mut tx, sql).await;
    assert_eq!(code, "42501", "{role}: {sql}: {message}");
    assert!(
        message.starts_with("new row violates row-level security policy"),
        "{role}: {sql}: expected an RLS violation, got {message:?}"
    );
}
