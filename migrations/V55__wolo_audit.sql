-- V55: the audit trail's writers, shared by every service.
--
-- - wolo.audit(action, resource_type, resource_id, old_values, new_values, reason, metadata)
--   appends one admin.audit_logs row in the caller's transaction. Actor, IP, request id and
--   user agent come from the request context the REST layer sets per transaction
--   (request.jwt.claims and request.headers; the edge writes the client IP as
--   x-wolo-client-ip and the request id as x-request-id). Without a request context the
--   actor is 'system'. SECURITY DEFINER, so custom endpoints running as an API role can
--   write the row even though only admins may insert into audit_logs directly.
-- - wolo.audit_row_change() is a row trigger for tables admins manage through the REST
--   layer: every INSERT/UPDATE/DELETE made by an admin request (wolo.is_admin()) is
--   audited as '<table>_<insert|update|delete>' with the old and new rows. Trigger
--   arguments name columns to redact ('[redacted]' in the logged values). Pass 'always'
--   as the first argument to audit every writer, not only admins.

create or replace function wolo.audit(
    p_action text,
    p_resource_type text,
    p_resource_id uuid,
    p_old_values jsonb default null,
    p_new_values jsonb default null,
    p_reason text default null,
    p_metadata jsonb default null
)
returns uuid
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_headers jsonb := coalesce(nullif(current_setting('request.headers', true), ''), '{}')::jsonb;
    v_sub text := wolo.jwt_claims() ->> 'sub';
    v_actor uuid := wolo.current_user_id();
    v_ip inet;
    v_id uuid;
begin
    begin
        v_ip := nullif(v_headers ->> 'x-wolo-client-ip', '')::inet;
    exception when others then
        v_ip := null;
    end;
    if v_actor is not null and not exists (select 1 from identity.users u where u.id = v_actor) then
        v_actor := null;
    end if;
    insert into admin.audit_logs
        (actor_user_id, actor_type, actor_ip, action, resource_type, resource_id,
         old_values, new_values, reason, metadata, request_id, user_agent)
    values
        (v_actor,
         case when v_sub is null then 'system' else 'user' end,
         v_ip, p_action, p_resource_type, p_resource_id,
         p_old_values, p_new_values, p_reason,
         case when v_sub is null then p_metadata
              else coalesce(p_metadata, '{}'::jsonb) || jsonb_build_object('actor_sub', v_sub,
                       'actor_role', wolo.jwt_claims() ->> 'role') end,
         left(v_headers ->> 'x-request-id', 100),
         v_headers ->> 'user-agent')
    returning id into v_id;
    return v_id;
end;
$$;

comment on function wolo.audit(text, text, uuid, jsonb, jsonb, text, jsonb) is
    'Appends an admin.audit_logs row in the current transaction, actor/IP/request id/user agent taken from the request context (system when none). Returns the row id.';

revoke all on function wolo.audit(text, text, uuid, jsonb, jsonb, text, jsonb) from public;
grant execute on function wolo.audit(text, text, uuid, jsonb, jsonb, text, jsonb)
    to wolo_anon, wolo_user, wolo_partner, wolo_admin;

create or replace function wolo.audit_row_change()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_always boolean := tg_nargs > 0 and tg_argv[0] = 'always';
    v_old jsonb;
    v_new jsonb;
    v_col text;
    i integer;
begin
    if not (v_always or wolo.is_admin()) then
        return null;
    end if;
    if tg_op in ('UPDATE', 'DELETE') then v_old := to_jsonb(old); end if;
    if tg_op in ('INSERT', 'UPDATE') then v_new := to_jsonb(new); end if;
    if tg_op = 'UPDATE' and v_old = v_new then
        return null;
    end if;
    for i in 0 .. tg_nargs - 1 loop
        v_col := tg_argv[i];
        continue when v_col = 'always';
        if v_old ? v_col and v_old -> v_col <> 'null'::jsonb then
            v_old := jsonb_set(v_old, array[v_col], '"[redacted]"');
        end if;
        if v_new ? v_col and v_new -> v_col <> 'null'::jsonb then
            v_new := jsonb_set(v_new, array[v_col], '"[redacted]"');
        end if;
    end loop;
    perform wolo.audit(
        tg_table_name || '_' || lower(tg_op),
        tg_table_name,
        case when coalesce(v_new ->> 'id', v_old ->> 'id') ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
             then coalesce(v_new ->> 'id', v_old ->> 'id')::uuid end,
        v_old,
        v_new,
        null,
        jsonb_build_object('schema', tg_table_schema, 'table', tg_table_name));
    return null;
end;
$$;

comment on function wolo.audit_row_change() is
    'AFTER row trigger: audits INSERT/UPDATE/DELETE made by admin requests (or by anyone with the argument ''always''); other arguments name columns to redact.';
