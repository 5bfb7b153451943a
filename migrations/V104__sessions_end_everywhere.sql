-- V104: sessions that end, end everywhere (issue 13, item 11).
--
-- - wolo.session_active(session, user, admin): the one check every service makes for a
--   token carrying a session id (rest::sessions, cached a few seconds per process): the
--   sign-in (identity.user_sessions chain) has a live refresh token, the user exists and is
--   active, and for an admin token its admin session (admin.admin_sessions, keyed by the
--   SHA-256 of 'sid:<session id>') is open and not past its expiry.
-- - wolo.is_super_admin(): the caller's account holds super_admin (read fresh, not from
--   the token).
-- - wolo.open_admin_session / wolo.end_admin_sessions: identity opens the admin session of
--   an admin's sign-in when it signs them in (or refreshes a sign-in that has none), and ends
--   it when the sign-in is logged out or reset (SECURITY DEFINER: identity holds no write
--   on the admin schema).
-- - An admin session that ends (endpoint, REST PATCH or the expiry job) revokes its
--   sign-in (a trigger), so the admin signs in again.
-- - admin.admin_sessions: opened by identity when it signs an admin in, never by the API
--   roles; an ended session stays ended; only a super admin ends another admin's session
--   (on every door: the endpoint and a REST PATCH run the same trigger); its expiry cannot
--   be moved through the REST layer.

create index if not exists idx_user_sessions_live_chain
    on identity.user_sessions (chain_id, user_id)
    where not coalesce(is_revoked, false);

create or replace function wolo.session_active(p_session uuid, p_user uuid, p_admin boolean)
returns boolean
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select exists (
               select 1
                 from identity.user_sessions s
                 join identity.users u on u.id = s.user_id
                where s.chain_id = p_session
                  and s.user_id = p_user
                  and not coalesce(s.is_revoked, false)
                  and s.expires_at > now()
                  and coalesce(u.is_active, true))
       and (not p_admin or exists (
               select 1
                 from admin.admin_sessions a
                where a.session_token_hash
                          = encode(sha256(convert_to('sid:' || p_session::text, 'UTF8')), 'hex')
                  and a.user_id = p_user
                  and a.terminated_at is null
                  and a.expires_at > now()))
$$;

comment on function wolo.session_active(uuid, uuid, boolean) is
    'True while the sign-in p_session of p_user is live (a refresh token not revoked nor expired, the user active) and, when p_admin, its admin session is open. Every service asks it for every token carrying session_id.';

revoke all on function wolo.session_active(uuid, uuid, boolean) from public;
grant execute on function wolo.session_active(uuid, uuid, boolean) to wolo_authenticator;

create or replace function wolo.is_super_admin()
returns boolean
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select exists (
        select 1 from identity.users u
         where u.id = wolo.current_user_id()
           and 'super_admin' = any(coalesce(u.roles, array[]::text[]))
           and coalesce(u.is_active, true))
$$;

comment on function wolo.is_super_admin() is
    'True when the caller''s account (JWT sub) holds super_admin now.';

grant execute on function wolo.is_super_admin() to wolo_admin;

-- Admin sessions: the API roles end them (terminated_at, termination_reason, is_suspicious)
-- and nothing else; identity and the admin service open them as the service.
revoke insert, update, delete on admin.admin_sessions from wolo_admin;
grant update (terminated_at, termination_reason, is_suspicious) on admin.admin_sessions to wolo_admin;

create or replace function admin.guard_admin_session_end()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if old.terminated_at is not null
       and (new.terminated_at is distinct from old.terminated_at
            or new.termination_reason is distinct from old.termination_reason) then
        raise exception using
            errcode = '42501',
            message = 'Session déjà terminée : elle ne peut pas être rouverte (an ended admin session cannot be reopened)';
    end if;
    if old.terminated_at is null and new.terminated_at is not null
       and wolo.current_user_id() is not null
       and old.user_id is distinct from wolo.current_user_id()
       and not wolo.is_super_admin() then
        raise exception using
            errcode = '42501',
            message = 'Seul un super administrateur peut terminer la session d''un autre administrateur (only a super admin ends another admin''s session)';
    end if;
    return new;
end;
$$;

create trigger guard_admin_session_end
    before update on admin.admin_sessions
    for each row execute function admin.guard_admin_session_end();

comment on table admin.admin_sessions is
    'One row per admin sign-in (SHA-256 of ''sid:<session id>''), opened by identity at sign-in and expiring after WOLO_ADMIN_SESSION_HOURS. Admins read them and end their own; only a super admin ends another admin''s session; an ended session stays ended.';

-- ---------------------------------------------------------------- identity opens and ends admin sessions

create or replace function wolo.open_admin_session(
    p_user uuid, p_session uuid, p_ip inet, p_user_agent text, p_hours integer)
returns boolean
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_hash text := encode(sha256(convert_to('sid:' || p_session::text, 'UTF8')), 'hex');
    v_roles text[];
begin
    select coalesce(u.roles, array['user']) into v_roles
      from identity.users u where u.id = p_user and coalesce(u.is_active, true);
    if v_roles is null or not (v_roles && array['admin', 'super_admin']) then
        return false;
    end if;
    perform pg_advisory_xact_lock(hashtext(v_hash));
    if not exists (select 1 from admin.admin_sessions a
                    where a.session_token_hash = v_hash and a.user_id = p_user) then
        insert into admin.admin_sessions
            (user_id, session_token_hash, ip_address, user_agent, admin_level,
             permissions_granted, expires_at)
        values (p_user, v_hash, coalesce(p_ip, '0.0.0.0'::inet), left(p_user_agent, 500),
                case when 'super_admin' = any(v_roles) then 'super' else 'regular' end,
                v_roles, now() + make_interval(hours => greatest(1, least(p_hours, 720))));
    end if;
    return exists (select 1 from admin.admin_sessions a
                    where a.session_token_hash = v_hash and a.user_id = p_user
                      and a.terminated_at is null and a.expires_at > now());
end;
$$;

comment on function wolo.open_admin_session(uuid, uuid, inet, text, integer) is
    'Identity, when it issues an admin token: opens the admin session of sign-in p_session (once; p_hours long, 1..720) and tells whether it is open. An ended or expired one is never reopened.';

create or replace function wolo.end_admin_sessions(p_user uuid, p_sessions uuid[], p_reason text)
returns integer
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    with ended as (
        update admin.admin_sessions a
           set terminated_at = now(), termination_reason = p_reason
         where a.user_id = p_user
           and a.terminated_at is null
           and (p_sessions is null
                or a.session_token_hash in (
                    select encode(sha256(convert_to('sid:' || s::text, 'UTF8')), 'hex')
                      from unnest(p_sessions) s))
        returning 1)
    select count(*)::integer from ended
$$;

comment on function wolo.end_admin_sessions(uuid, uuid[], text) is
    'Identity, when sign-ins end (logout, password reset): ends the open admin sessions of those sign-ins (every one of the user when p_sessions is null).';

revoke all on function wolo.open_admin_session(uuid, uuid, inet, text, integer) from public;
revoke all on function wolo.end_admin_sessions(uuid, uuid[], text) from public;

-- The service login roles (V102): every service checks sessions; identity opens and ends
-- admin sessions. Granted only where the role exists, so the migration also runs where the
-- services still connect as the owner.
do $$
declare
    svc text;
begin
    foreach svc in array array['identity', 'profiles', 'referral', 'pots', 'donations', 'packs',
                               'qr', 'notifications', 'analytics', 'admin'] loop
        if exists (select from pg_catalog.pg_roles where rolname = 'wolo_svc_' || svc) then
            execute format('grant execute on function wolo.session_active(uuid, uuid, boolean) to %I',
                           'wolo_svc_' || svc);
        end if;
    end loop;
    if exists (select from pg_catalog.pg_roles where rolname = 'wolo_svc_identity') then
        grant execute on function wolo.open_admin_session(uuid, uuid, inet, text, integer),
            wolo.end_admin_sessions(uuid, uuid[], text) to wolo_svc_identity;
    end if;
end;
$$;

-- ---------------------------------------------------------------- an ended admin session ends its sign-in

create or replace function admin.end_sign_in_of_admin_session()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    update identity.user_sessions s
       set is_revoked = true, revoked_at = coalesce(s.revoked_at, now())
     where s.user_id = new.user_id
       and not coalesce(s.is_revoked, false)
       and encode(sha256(convert_to('sid:' || s.chain_id::text, 'UTF8')), 'hex') = new.session_token_hash;
    return null;
end;
$$;

create trigger end_sign_in_of_admin_session
    after update of terminated_at on admin.admin_sessions
    for each row
    when (old.terminated_at is null and new.terminated_at is not null)
    execute function admin.end_sign_in_of_admin_session();
