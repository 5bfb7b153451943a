-- V90: analytics service (issue 9).
--
-- - analytics_events.source_event_id: the wolo.outbox id of a domain event copied
--   by the `analytics.domain` consumer (unique: a domain event lands once). Not
--   granted to the API roles: clients cannot set it.
-- - analytics_events_archive: the monthly-partitioned archive (spec phase 4). The spec
--   keeps `id` as the sole primary key of analytics_events, and a partitioned table's
--   primary key must contain the partition key, so the hot table stays a plain table
--   (spec-check) and the job `partitions_once` moves events older than 90 days into
--   the archive, partitioned by month of `timestamp`, whose partitions older than
--   2 years are dropped (retention). See docs/analytics.md.
-- - analytics.ensure_archive_partition(month): creates one month's partition with
--   row-level security (admins only), idempotent.

alter table analytics.analytics_events add column source_event_id bigint unique;
comment on column analytics.analytics_events.source_event_id is
    'wolo.outbox id of the domain event this row was copied from (analytics.domain consumer); null for client events.';

create index idx_analytics_events_user_time on analytics.analytics_events(user_id, timestamp) where user_id is not null;

create table analytics.analytics_events_archive (
    like analytics.analytics_events including defaults,
    primary key (id, timestamp)
) partition by range (timestamp);

comment on table analytics.analytics_events_archive is
    'Events older than 90 days, moved out of analytics_events by the partitions job; one partition per month (analytics_events_archive_YYYY_MM), dropped after 2 years. Admins read only.';

alter table analytics.analytics_events_archive enable row level security;
create policy admin_all on analytics.analytics_events_archive for all to wolo_admin
    using (wolo.is_admin()) with check (wolo.is_admin());
revoke all on analytics.analytics_events_archive from public;
grant select on analytics.analytics_events_archive to wolo_admin;

create or replace function analytics.ensure_archive_partition(p_month date)
returns text
language plpgsql
as $$
declare
    v_start date := date_trunc('month', p_month)::date;
    v_name text := format('analytics_events_archive_%s', to_char(v_start, 'YYYY_MM'));
begin
    if to_regclass(format('analytics.%I', v_name)) is null then
        execute format(
            'create table analytics.%I partition of analytics.analytics_events_archive
                 for values from (%L) to (%L)',
            v_name,
            (v_start::timestamp at time zone 'UTC'),
            ((v_start + interval '1 month')::timestamp at time zone 'UTC'));
        execute format('alter table analytics.%I enable row level security', v_name);
        execute format('create policy admin_all on analytics.%I for all to wolo_admin using (wolo.is_admin()) with check (wolo.is_admin())', v_name);
        execute format('revoke all on analytics.%I from public', v_name);
        execute format('grant select on analytics.%I to wolo_admin', v_name);
    end if;
    return v_name;
end;
$$;

comment on function analytics.ensure_archive_partition(date) is
    'Creates the archive partition of the month of p_month (UTC month bounds) if missing, with RLS for admins; returns its name.';
revoke all on function analytics.ensure_archive_partition(date) from public;

-- Metrics and funnel rows for "no dimensions" use '{}' (not null) so reruns upsert.
