-- V40: notifications service — the delivery queue, template history, digests.
--
-- Owns (in schema `notifications`):
-- - new columns of notifications.notifications that the dispatcher, the digest
--   job and delivery receipts need (message_key, locale, body_html, claim
--   lease, digest hold, engagement timestamps);
-- - the wider status check (adds 'digested');
-- - notifications.notification_template_versions, the history of templates,
--   filled by a trigger on update that also bumps `version`;
-- - the `digest.<locale>` templates the digest job renders.
-- Depends on V8, V20, V30, V31. docs/notifications.md describes the flows.

-- ---------------------------------------------------------------- queue columns

alter table notifications.notifications
    -- The message the row was rendered from ('otp', 'donation_received'...):
    -- the template_key without its locale, kept for digests and analytics.
    add column message_key varchar(100),
    add column locale varchar(10),
    -- HTML alternative of an e-mail (body is the plain text part).
    add column body_html text,
    -- A dispatcher claims a row by setting claimed_until (a lease) under
    -- FOR UPDATE SKIP LOCKED; another dispatcher skips the row until the
    -- lease ends, so a crashed dispatcher's rows are retried later.
    add column claimed_until timestamp with time zone,
    add column claim_token uuid,
    -- Low-priority message waiting for the user's daily/weekly digest: the
    -- dispatcher leaves it alone; the digest job folds it into one message.
    add column held_for_digest boolean not null default false,
    add column digest_id uuid references notifications.notifications(id) on delete set null,
    -- Engagement reported by delivery receipts.
    add column opened_at timestamp with time zone,
    add column clicked_at timestamp with time zone;

-- 'digested': folded into a digest message (digest_id), never sent on its own.
alter table notifications.notifications drop constraint check_notifications_status;
alter table notifications.notifications add constraint check_notifications_status check (
    status in ('pending', 'sent', 'delivered', 'failed', 'bounced', 'digested')
);

-- What the dispatcher scans: pending rows that are due.
create index idx_notifications_due
    on notifications.notifications(scheduled_at)
    where status = 'pending' and not held_for_digest;
-- What the digest job scans.
create index idx_notifications_digest_held
    on notifications.notifications(user_id, channel)
    where status = 'pending' and held_for_digest;
-- Delivery receipts look a message up by the provider's id.
create index idx_notifications_provider_message_id
    on notifications.notifications(provider, provider_message_id)
    where provider_message_id is not null;
create index idx_notifications_digest_id
    on notifications.notifications(digest_id) where digest_id is not null;

-- ---------------------------------------------------------------- template history

create table notifications.notification_template_versions (
    id uuid primary key default gen_random_uuid(),
    template_id uuid not null references notifications.notification_templates(id) on delete cascade,
    -- The version this row was (the template's `version` before the update).
    version integer not null,
    template_key varchar(100) not null,
    name varchar(255) not null,
    description text,
    subject varchar(500),
    body_text text not null,
    body_html text,
    channels varchar(20)[],
    locale varchar(10),
    variables jsonb,
    is_active boolean,
    -- When that version was current: from its updated_at to archived_at.
    valid_from timestamp with time zone,
    archived_at timestamp with time zone not null default now(),
    constraint uq_notification_template_versions unique (template_id, version)
);

comment on table notifications.notification_template_versions is
    'Every earlier version of a notification template, archived by the trigger archive_version on notification_templates.';

-- Before an update that changes what a template says or to whom: archive the
-- old row and bump version. SECURITY DEFINER so an admin editing a template
-- through REST needs no write grant on the history.
create function notifications.archive_template_version()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if (old.template_key, old.name, old.description, old.subject, old.body_text, old.body_html,
        old.channels, old.locale, old.variables, old.is_active)
       is distinct from
       (new.template_key, new.name, new.description, new.subject, new.body_text, new.body_html,
        new.channels, new.locale, new.variables, new.is_active) then
        insert into notifications.notification_template_versions
            (template_id, version, template_key, name, description, subject, body_text, body_html,
             channels, locale, variables, is_active, valid_from)
        values
            (old.id, coalesce(old.version, 1), old.template_key, old.name, old.description,
             old.subject, old.body_text, old.body_html, old.channels, old.locale, old.variables,
             old.is_active, old.updated_at);
        new.version := coalesce(old.version, 1) + 1;
    end if;
    return new;
end;
$$;

revoke execute on function notifications.archive_template_version() from public;

create trigger archive_version
    before update on notifications.notification_templates
    for each row execute function notifications.archive_template_version();

-- Grants and row-level security, as V30/V31 do for every table: admins read
-- the history (writes come only from the trigger).
revoke all on notifications.notification_template_versions from public;
grant select on notifications.notification_template_versions to wolo_admin;
alter table notifications.notification_template_versions enable row level security;
create policy admin_all on notifications.notification_template_versions
    for all to wolo_admin using (wolo.is_admin()) with check (wolo.is_admin());

-- ---------------------------------------------------------------- digest templates

insert into notifications.notification_templates
    (template_key, locale, name, description, channels, variables, subject, body_text, body_html)
values
(
    'digest.fr-SN', 'fr-SN',
    'Résumé (quotidien ou hebdomadaire)',
    'Regroupe les messages peu urgents d''un utilisateur qui a choisi un résumé quotidien ou hebdomadaire. items : une ligne par message.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"count": "number", "items": "string"}',
    'Votre résumé WOLO',
    'WOLO : {{count}} nouvelles pour vous.
{{items}}',
    '<p>WOLO : {{count}} nouvelles pour vous.</p>
<pre>{{items}}</pre>'
),
(
    'digest.wo-SN', 'wo-SN',
    'Résumé (quotidien ou hebdomadaire) - wolof',
    'Regroupe les messages peu urgents d''un utilisateur qui a choisi un résumé quotidien ou hebdomadaire. items : une ligne par message.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"count": "number", "items": "string"}',
    'Sa résumé WOLO',
    'WOLO : am na {{count}} xibaar yu bees ci yow.
{{items}}',
    '<p>WOLO : am na {{count}} xibaar yu bees ci yow.</p>
<pre>{{items}}</pre>'
),
(
    'digest.en', 'en',
    'Résumé (quotidien ou hebdomadaire) - anglais',
    'Groups the low-priority messages of a user who chose a daily or weekly digest. items: one line per message.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"count": "number", "items": "string"}',
    'Your WOLO digest',
    'WOLO: {{count}} updates for you.
{{items}}',
    '<p>WOLO: {{count}} updates for you.</p>
<pre>{{items}}</pre>'
)
on conflict (template_key) do nothing;
