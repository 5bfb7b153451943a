-- V50: identity sign-in (GoTrue-shaped endpoints of services/identity).
--
-- - identity.otp_codes: one-time SMS codes, stored hashed (SHA-256 hex), 10 minutes,
--   at most 5 wrong tries; the rows also serve the resend and hourly rate limits.
-- - identity.user_sessions: each row is one refresh token. chain_id groups the rows of one
--   sign-in (the session id in the access token); parent_session_id links a rotated row to
--   its predecessor, so presenting an already-rotated token is detected as reuse.
-- - identity.users.password_hash: argon2id PHC string for e-mail/password sign-in; not
--   readable by users or partners (column grants below).
--
-- Only the service's own connection (table owner) writes these rows; the API roles get
-- what V30/V31 give them plus an admin read-only view of otp_codes.

create table identity.otp_codes (
    id uuid primary key default gen_random_uuid(),
    phone varchar(20) not null,
    code_hash varchar(64) not null,
    expires_at timestamp with time zone not null,
    attempts integer not null default 0,
    consumed_at timestamp with time zone,
    created_at timestamp with time zone not null default now(),
    ip inet
);

create index idx_otp_codes_phone_created on identity.otp_codes(phone, created_at desc);
create index idx_otp_codes_ip_created on identity.otp_codes(ip, created_at desc) where ip is not null;

comment on table identity.otp_codes is
    'One-time SMS sign-in codes (SHA-256 of the code only), valid 10 minutes, dead after 5 wrong tries or once used. Written by the identity service only; admins read.';

alter table identity.user_sessions
    add column chain_id uuid,
    add column parent_session_id uuid references identity.user_sessions(id) on delete set null,
    add column revoked_at timestamp with time zone;

update identity.user_sessions set chain_id = id where chain_id is null;
alter table identity.user_sessions alter column chain_id set not null;

-- Rows inserted without a chain (seeds, older writers) start their own.
create function identity.session_chain_default()
returns trigger
language plpgsql
as $$
begin
    if new.chain_id is null then
        new.chain_id := new.id;
    end if;
    return new;
end;
$$;

revoke execute on function identity.session_chain_default() from public;

create trigger session_chain_default
    before insert on identity.user_sessions
    for each row execute function identity.session_chain_default();

create index idx_user_sessions_chain_id on identity.user_sessions(chain_id);
create index idx_user_sessions_parent on identity.user_sessions(parent_session_id)
    where parent_session_id is not null;

comment on column identity.user_sessions.chain_id is
    'The sign-in this refresh token belongs to (the access token''s session_id); shared by every rotation.';
comment on column identity.user_sessions.parent_session_id is
    'The refresh token this one replaced. A revoked row with a child was rotated: presenting it again revokes the whole chain.';

alter table identity.users add column password_hash text;

comment on column identity.users.password_hash is
    'argon2id PHC string for e-mail/password sign-in; NULL for phone-only users. Not readable by wolo_user or wolo_partner.';

-- ---------------------------------------------------------------- grants

revoke all on identity.otp_codes from public;
grant select on identity.otp_codes to wolo_admin;

-- users: users and partners read every column of their own row but password_hash (V30
-- granted the whole table). Admins keep V30's table grants (they read every table, like
-- the hashes of password_reset_tokens); the value is an argon2id hash, never a password.
revoke select on identity.users from wolo_user, wolo_partner;
grant select (id, phone, email, auth_provider, roles, is_active, created_at, updated_at, last_login_at)
    on identity.users to wolo_user, wolo_partner;

-- user_sessions: the new columns are readable by their owner like the others.
grant select (chain_id, parent_session_id, revoked_at) on identity.user_sessions to wolo_user, wolo_partner;

-- ---------------------------------------------------------------- row-level security

alter table identity.otp_codes enable row level security;
create policy admin_select on identity.otp_codes
    for select to wolo_admin using (wolo.is_admin());
