-- V107: an admin cannot take over an account, nor rewrite the evidence, through the REST layer
-- (issue 13, item 3). V30 gave wolo_admin every write on every table; V103 took roles and
-- password_hash away. Three more doors led to signing in as someone else, a super admin
-- included, without any audit row:
--   identity.users     UPDATE (email, phone): point a victim's e-mail or phone at one's own,
--                      then /identity/recover or /identity/otp signs in as the victim;
--   identity.user_sessions INSERT (and UPDATE of token_hash, chain, expiry): a session row
--                      with a chosen token hash, then /identity/token?grant_type=refresh_token;
--   identity.otp_codes SELECT (code_hash) and writes: a six-digit code's SHA-256 is reversed
--                      at once, so reading it after asking a code for the victim's phone
--                      signs in as the victim.
-- Admins keep what the back office needs: suspending accounts (is_active), revoking a
-- sign-in (user_sessions.is_revoked, which every service honours at once: V104), deleting
-- sessions, reading OTP requests without their hashes.
--
-- And the evidence stays as it was written: Wave's webhook events and the QR scan log are
-- read, never written, by admins (the donations and qr services write them as their own
-- login, V102). No custom endpoint writes them under the admin role.
-- Depends on V30, V31, V50, V103, V104.

revoke update (email, phone) on identity.users from wolo_admin;

revoke insert, update on identity.user_sessions from wolo_admin;
grant update (is_revoked) on identity.user_sessions to wolo_admin;

revoke select, insert, update on identity.otp_codes from wolo_admin;
grant select (id, phone, expires_at, attempts, consumed_at, created_at, ip)
    on identity.otp_codes to wolo_admin;

revoke insert, update, delete on donations.wave_webhook_events from wolo_admin;
revoke insert, update, delete on qr.qr_redemption_logs from wolo_admin;

comment on table identity.otp_codes is
    'SMS sign-in codes, stored as hashes. Admins read when and for which phone a code was asked, never the hash; nobody writes them through the REST layer.';

comment on table identity.users is
    'Accounts. A user reads their own row; e-mail, phone, roles and passwords change through the identity service''s verified flows only. Admins suspend (is_active) and create accounts through the REST layer.';

-- A token without a session id (identity never issues one; only a holder of the signing key
-- mints one) is refused by every service once its account is deactivated or deleted through
-- DELETE /profiles/me (rest::sessions asks this, cached like wolo.session_active). An id
-- that is no account at all is left to the grants and policies: it owns no row.
create or replace function wolo.account_active(p_user uuid)
returns boolean
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select coalesce((select coalesce(u.is_active, true) from identity.users u where u.id = p_user),
                    true)
$$;

comment on function wolo.account_active(uuid) is
    'False when the account p_user exists and is deactivated. Every service asks it for a token that carries no session_id.';

revoke all on function wolo.account_active(uuid) from public;
grant execute on function wolo.account_active(uuid) to wolo_authenticator;

do $$
declare
    svc text;
begin
    foreach svc in array array['identity', 'profiles', 'referral', 'pots', 'donations', 'packs',
                               'qr', 'notifications', 'analytics', 'admin'] loop
        if exists (select from pg_catalog.pg_roles where rolname = 'wolo_svc_' || svc) then
            execute format('grant execute on function wolo.account_active(uuid) to %I',
                           'wolo_svc_' || svc);
        end if;
    end loop;
end;
$$;
