-- V70: packs service — catalog availability, prices, partner verification,
-- venues, audited admin changes, sponsor campaign boosts.
--
-- Depends on V6 (packs tables), V7 (qr.qr_codes, for the quantity left),
-- V30/V31 (roles, policies), V55 (wolo.audit_row_change).
--
-- - packs.effective_price_cfa(pack_id): the price used everywhere (the
--   discounted price when set, else the base price).
-- - packs.quantity_left(pack_id): total_available_quantity minus the QR codes
--   issued for the pack and not cancelled; NULL = unlimited.
-- - The public catalog policy also hides packs with no quantity left.
-- - partners: verified_at / verified_by_user_id are stamped when an admin
--   makes a partner active; venues are normalised (every venue gets an id).
-- - Every admin change of partners, packs, sponsor_campaigns, partner_members
--   is audited (wolo.audit_row_change).
-- - packs.apply_campaign_boost(sponsor, points, context): the referral
--   service's way to boost points with an active matching campaign, within
--   budget even under concurrency (conditional update).
-- - packs.record_campaign_event(campaign_id, kind): impressions and clicks.

-- ---------------------------------------------------------------- prices

-- Beyond the spec: a discount is a positive price not above the base price.
alter table packs.packs add constraint check_packs_discounted_price
    check (discounted_price_cfa is null or discounted_price_cfa between 1 and base_price_cfa);

create or replace function packs.effective_price_cfa(p_pack_id uuid)
returns integer
language sql
stable
security definer
set search_path = ''
as $$
    select coalesce(p.discounted_price_cfa, p.base_price_cfa) from packs.packs p where p.id = p_pack_id
$$;

comment on function packs.effective_price_cfa(uuid) is
    'The price of a pack in CFA: discounted_price_cfa when set, else base_price_cfa. NULL for an unknown pack.';

create or replace function packs.quantity_left(p_pack_id uuid)
returns integer
language sql
stable
security definer
set search_path = ''
as $$
    select case when p.total_available_quantity is null then null
                else greatest(p.total_available_quantity
                     - (select count(*)::integer from qr.qr_codes c
                        where c.pack_id = p.id and c.status <> 'cancelled'), 0) end
    from packs.packs p where p.id = p_pack_id
$$;

comment on function packs.quantity_left(uuid) is
    'Units of a pack still available: total_available_quantity minus its QR codes not cancelled. NULL = unlimited.';

create or replace function packs.is_available(p_pack_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
    select coalesce((
        select p.is_active is true
           and (p.available_from is null or p.available_from <= (now() at time zone 'Africa/Dakar')::date)
           and (p.available_until is null or p.available_until >= (now() at time zone 'Africa/Dakar')::date)
           and (p.total_available_quantity is null or packs.quantity_left(p.id) > 0)
        from packs.packs p where p.id = p_pack_id), false)
$$;

comment on function packs.is_available(uuid) is
    'True when a pack is active, within its availability dates (Africa/Dakar) and has quantity left.';

revoke all on function packs.effective_price_cfa(uuid), packs.quantity_left(uuid),
    packs.is_available(uuid) from public;
grant execute on function packs.effective_price_cfa(uuid), packs.quantity_left(uuid),
    packs.is_available(uuid) to wolo_anon, wolo_user, wolo_partner, wolo_admin;

-- The public catalog: active, within its dates, with quantity left.
drop policy public_select on packs.packs;
create policy public_select on packs.packs
    for select to wolo_anon, wolo_user, wolo_partner
    using (is_active is true
           and (available_from is null or available_from <= current_date)
           and (available_until is null or available_until >= current_date)
           and (total_available_quantity is null or packs.quantity_left(id) > 0));

comment on table packs.packs is
    'Gift packs on sale: active packs within their availability window and with quantity left are public. Price used: packs.effective_price_cfa(id).';

-- ---------------------------------------------------------------- partners

-- Venues: a JSON array of objects {id, name, address, city, is_active};
-- a venue without an id gets one, ids are unique within the partner.
-- Verification: an admin making a partner active stamps who and when.
create or replace function packs.partners_before_write()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    v_out jsonb := '[]'::jsonb;
    v jsonb;
begin
    if new.venues is not null then
        if jsonb_typeof(new.venues) <> 'array' then
            raise exception using errcode = '22023',
                message = 'venues doit être une liste d''objets (venues must be a JSON array)';
        end if;
        for v in select * from jsonb_array_elements(new.venues) loop
            if jsonb_typeof(v) <> 'object' then
                raise exception using errcode = '22023',
                    message = 'chaque lieu doit être un objet (each venue must be an object)';
            end if;
            if coalesce(v ->> 'id', '') = '' then
                v := v || jsonb_build_object('id', gen_random_uuid()::text);
            end if;
            v_out := v_out || jsonb_build_array(v);
        end loop;
        if (select count(distinct e ->> 'id') from jsonb_array_elements(v_out) e)
           <> jsonb_array_length(v_out) then
            raise exception using errcode = '23505',
                message = 'deux lieux ont le même id (duplicate venue id)';
        end if;
        new.venues := v_out;
    end if;
    if new.status = 'active'
       and (tg_op = 'INSERT' or old.status is distinct from 'active')
       and new.verified_at is null then
        new.verified_at := now();
        new.verified_by_user_id := coalesce(new.verified_by_user_id,
            (select u.id from identity.users u where u.id = wolo.current_user_id()));
    end if;
    return new;
end;
$$;

create trigger partners_before_write
    before insert or update on packs.partners
    for each row execute function packs.partners_before_write();

-- ---------------------------------------------------------------- audit

create trigger audit_row_change
    after insert or update or delete on packs.packs
    for each row execute function wolo.audit_row_change();
create trigger audit_row_change
    after insert or update or delete on packs.partners
    for each row execute function wolo.audit_row_change('tax_id');
create trigger audit_row_change
    after insert or update or delete on packs.sponsor_campaigns
    for each row execute function wolo.audit_row_change();
create trigger audit_row_change
    after insert or update or delete on packs.partner_members
    for each row execute function wolo.audit_row_change();

-- ---------------------------------------------------------------- campaigns

-- Does a campaign's targeting match a context? Each criterion the campaign
-- sets must be satisfied by the context; a criterion the context does not
-- carry is not satisfied. Criteria (all optional):
--   pack_categories            ⟷ context.pack_category
--   target_demographics.regions   ⟷ context.region
--   target_demographics.min_age / max_age ⟷ context.age
--   target_demographics.interests ⟷ context.interests (any in common)
create or replace function packs.campaign_matches(c packs.sponsor_campaigns, p_context jsonb)
returns boolean
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    select (coalesce(cardinality(c.pack_categories), 0) = 0
            or (p_context ->> 'pack_category') = any (c.pack_categories))
       and (c.target_demographics -> 'regions' is null
            or jsonb_typeof(c.target_demographics -> 'regions') <> 'array'
            or jsonb_array_length(c.target_demographics -> 'regions') = 0
            or (c.target_demographics -> 'regions') ? coalesce(p_context ->> 'region', ''))
       and (c.target_demographics ->> 'min_age' is null
            or (p_context ->> 'age')::numeric >= (c.target_demographics ->> 'min_age')::numeric)
       and (c.target_demographics ->> 'max_age' is null
            or (p_context ->> 'age')::numeric <= (c.target_demographics ->> 'max_age')::numeric)
       and (c.target_demographics -> 'interests' is null
            or jsonb_typeof(c.target_demographics -> 'interests') <> 'array'
            or jsonb_array_length(c.target_demographics -> 'interests') = 0
            or (jsonb_typeof(p_context -> 'interests') = 'array'
                and exists (select 1 from jsonb_array_elements_text(p_context -> 'interests') i
                            where (c.target_demographics -> 'interests') ? i)))
$$;

-- Applies the best active matching campaign to a referral reward.
--
-- bonus points = floor(p_points * (multiplier - 1)); their cost in CFA =
-- bonus * point value (context.point_value_cfa, default 1 CFA per point).
-- The campaign pays only if its whole cost fits in what is left of its
-- budget: `spent_cfa + cost <= budget_cfa` is re-checked by the UPDATE itself
-- (row lock, READ COMMITTED re-evaluation), so concurrent calls can never
-- overspend. A campaign that cannot pay is skipped and the next best one is
-- tried. Each boost counts one conversion. Returns the points to credit
-- (p_points when nothing applied) and the campaign used (NULL when none).
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

comment on function packs.apply_campaign_boost(uuid, integer, jsonb) is
    'Boosts referral points with the best active campaign matching the context (pack_category, region, age, interests, point_value_cfa), within its budget even under concurrency; counts a conversion. Returns (points to credit, campaign id or NULL). For the referral service (runs as table owner).';

revoke all on function packs.apply_campaign_boost(uuid, integer, jsonb) from public;

-- Impressions and clicks (anyone: the app reports a campaign shown or tapped).
create or replace function packs.record_campaign_event(p_campaign_id uuid, p_kind text)
returns boolean
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    if p_kind = 'impression' then
        update packs.sponsor_campaigns set impressions = coalesce(impressions, 0) + 1
        where id = p_campaign_id and status = 'active';
    elsif p_kind = 'click' then
        update packs.sponsor_campaigns set clicks = coalesce(clicks, 0) + 1
        where id = p_campaign_id and status = 'active';
    else
        raise exception using errcode = '22023', message = 'kind: impression or click';
    end if;
    return found;
end;
$$;

comment on function packs.record_campaign_event(uuid, text) is
    'Counts an impression or a click of an active campaign; false when the campaign is not active.';

revoke all on function packs.record_campaign_event(uuid, text) from public;
