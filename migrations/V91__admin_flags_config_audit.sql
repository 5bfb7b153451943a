-- V91: admin service (issue 9).
--
-- - feature_flags: every write is audited (wolo.audit_row_change, V55) and stamps
--   created_by/last_modified_by with the acting user.
-- - system_config: values are validated in Rust against validation_rules (JSON Schema)
--   by PUT /admin/config/{key}; so admins may not insert, delete, or update the value,
--   the rules, the key, the type or the sensitivity through the REST layer (only
--   description and environment). Sensitive rows (is_sensitive) are invisible to the
--   API roles: GET /admin/config lists them with the value masked. Writes are audited
--   by admin.audit_system_config_change(), which redacts config_value of sensitive rows.
-- - admin_sessions: the admin JWT's session id (sid claim) hashed, one row per sign-in.

create or replace function admin.stamp_modified_by()
returns trigger
language plpgsql
as $$
declare
    v_actor uuid := wolo.current_user_id();
begin
    if v_actor is not null and exists (select 1 from identity.users u where u.id = v_actor) then
        if tg_op = 'INSERT' and new.created_by_user_id is null then
            new.created_by_user_id := v_actor;
        end if;
        new.last_modified_by_user_id := v_actor;
    end if;
    return new;
end;
$$;

create trigger stamp_modified_by
    before insert or update on admin.feature_flags
    for each row execute function admin.stamp_modified_by();

create trigger audit_row_change
    after insert or update or delete on admin.feature_flags
    for each row execute function wolo.audit_row_change();

create or replace function admin.stamp_config_modified_by()
returns trigger
language plpgsql
as $$
declare
    v_actor uuid := wolo.current_user_id();
begin
    if v_actor is not null and exists (select 1 from identity.users u where u.id = v_actor) then
        new.last_modified_by_user_id := v_actor;
    end if;
    return new;
end;
$$;

create trigger stamp_modified_by
    before insert or update on admin.system_config
    for each row execute function admin.stamp_config_modified_by();

create or replace function admin.audit_system_config_change()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_old jsonb;
    v_new jsonb;
    v_sensitive boolean := false;
begin
    if not wolo.is_admin() then
        return null;
    end if;
    if tg_op in ('UPDATE', 'DELETE') then
        v_old := to_jsonb(old);
        v_sensitive := v_sensitive or coalesce(old.is_sensitive, false);
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        v_new := to_jsonb(new);
        v_sensitive := v_sensitive or coalesce(new.is_sensitive, false);
    end if;
    if tg_op = 'UPDATE' and v_old = v_new then
        return null;
    end if;
    if v_sensitive then
        if v_old is not null then v_old := jsonb_set(v_old, '{config_value}', '"[redacted]"'); end if;
        if v_new is not null then v_new := jsonb_set(v_new, '{config_value}', '"[redacted]"'); end if;
    end if;
    perform wolo.audit(
        'system_config_' || lower(tg_op), 'system_config',
        coalesce(new.id, old.id), v_old, v_new, null,
        jsonb_build_object('schema', tg_table_schema, 'table', tg_table_name,
                           'config_key', coalesce(new.config_key, old.config_key)));
    return null;
end;
$$;

comment on function admin.audit_system_config_change() is
    'AFTER row trigger on admin.system_config: audits admin writes, config_value redacted when the row is sensitive.';

create trigger audit_row_change
    after insert or update or delete on admin.system_config
    for each row execute function admin.audit_system_config_change();

-- REST writes that would bypass the JSON Schema validation are refused.
revoke insert, update, delete on admin.system_config from wolo_admin;
grant update (description, environment) on admin.system_config to wolo_admin;

-- Sensitive rows are not visible to the API roles (values never leave in clear).
drop policy admin_all on admin.system_config;
create policy admin_select on admin.system_config for select to wolo_admin
    using (wolo.is_admin() and not coalesce(is_sensitive, false));
create policy admin_update on admin.system_config for update to wolo_admin
    using (wolo.is_admin() and not coalesce(is_sensitive, false))
    with check (wolo.is_admin() and not coalesce(is_sensitive, false));

comment on table admin.system_config is
    'System configuration. Admins read non-sensitive rows and edit descriptions through the REST layer; values are changed with PUT /admin/config/{key} (JSON Schema validated, audited); sensitive rows are listed masked by GET /admin/config only.';

-- Audited session lifecycle: admins end sessions through the REST layer too.
create trigger audit_row_change
    after insert or update or delete on admin.admin_sessions
    for each row execute function wolo.audit_row_change('session_token_hash');

create index idx_admin_sessions_open on admin.admin_sessions(expires_at) where terminated_at is null;
create index idx_system_health_checks_service_time on admin.system_health_checks(service_name, checked_at desc);
