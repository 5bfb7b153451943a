-- V92: the reference feature flags and configuration act on the product.
--
-- - admin.flag_on(key): whether a product switch is on (is_enabled). Services check it
--   inside their own transactions: wave_payments (checkout), points_conversion (points to
--   CFA), sponsor_campaigns (packs.apply_campaign_boost, redefined below),
--   whatsapp_notifications (the WhatsApp channel).
-- - admin.config_int(key, default): an integer system_config value (default when absent or
--   not an integer). donations.min_amount_cfa and notifications.max_retries are read with it.
-- - notifications.quiet_hours is the window for recipients without saved preferences.
-- - Reference settings nothing could honour at run time are removed, so an admin never edits
--   a value that changes nothing: J-30 (pots.open_days_before_birthday) is the product's
--   definition (pots.scheduled_open_at), the retention periods are the jobs' documented
--   constants, and the webhook tolerance is WOLO_WAVE_SIGNATURE_TOLERANCE_SECS (a deployment
--   setting next to the secrets).

create or replace function admin.flag_on(p_key text)
returns boolean
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select coalesce((select f.is_enabled from admin.feature_flags f where f.flag_key = p_key), false)
$$;

comment on function admin.flag_on(text) is
    'True when the feature flag p_key exists and is enabled. For the product''s server-side switches (whole-product on/off: rollout, targeting and environment are for GET /admin/flags/evaluate).';

revoke all on function admin.flag_on(text) from public;
grant execute on function admin.flag_on(text) to wolo_anon, wolo_user, wolo_partner, wolo_admin;

create or replace function admin.config_int(p_key text, p_default integer)
returns integer
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(
        (select case when jsonb_typeof(c.config_value) = 'number'
                     then (c.config_value #>> '{}')::numeric::integer end
         from admin.system_config c
         where c.config_key = p_key and not coalesce(c.is_sensitive, false)),
        p_default)
$$;

comment on function admin.config_int(text, integer) is
    'The integer value of system_config p_key, or p_default when absent, not a number or sensitive. For the services (table owner) and admins.';

revoke all on function admin.config_int(text, integer) from public;
grant execute on function admin.config_int(text, integer) to wolo_admin;

create or replace function packs.apply_campaign_boost(
    p_sponsor_user_id uuid,
    p_points integer,
    p_context jsonb default '{}'::jsonb
)
returns table (points integer, campaign_id uuid)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    c packs.sponsor_campaigns;
    v_bonus integer;
    v_cost integer;
    v_value numeric := coalesce(nullif(p_context ->> 'point_value_cfa', '')::numeric, 1);
    v_id uuid;
begin
    -- The admins' kill switch: with the flag off, no campaign boosts anything.
    if not admin.flag_on('sponsor_campaigns') then
        return query select coalesce(p_points, 0), null::uuid;
        return;
    end if;
    if p_points is null or p_points <= 0 then
        return query select coalesce(p_points, 0), null::uuid;
        return;
    end if;
    for c in
        select * from packs.sponsor_campaigns s
        where s.status = 'active' and s.starts_at <= now() and s.ends_at > now()
          and s.points_multiplier > 1
          and packs.campaign_matches(s, coalesce(p_context, '{}'::jsonb) ||
                                        jsonb_build_object('sponsor_user_id', p_sponsor_user_id))
        order by s.points_multiplier desc, s.starts_at, s.id
    loop
        v_bonus := floor(p_points * (c.points_multiplier - 1))::integer;
        continue when v_bonus <= 0;
        v_cost := ceil(v_bonus * v_value)::integer;
        update packs.sponsor_campaigns s
        set spent_cfa = s.spent_cfa + v_cost,
            conversions = coalesce(s.conversions, 0) + 1
        where s.id = c.id and s.status = 'active'
          and coalesce(s.spent_cfa, 0) + v_cost <= s.budget_cfa
        returning s.id into v_id;
        if v_id is not null then
            return query select p_points + v_bonus, v_id;
            return;
        end if;
    end loop;
    return query select p_points, null::uuid;
end;
$$;


delete from admin.system_config
where config_key in ('pots.open_days_before_birthday', 'retention.analytics_events_days',
                     'retention.sessions_days', 'wave.webhook_tolerance_seconds');
