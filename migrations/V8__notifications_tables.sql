-- V8: notifications service.
--
-- Owns schema `notifications`: notification_templates, notifications,
-- notification_preferences, notification_analytics
-- (spec section 3.8 and the notifications indexes of section 4).
-- Depends on V1 (identity.users, wolo.set_updated_at).

create schema if not exists notifications;

-- Notification templates
create table notifications.notification_templates (
    id uuid primary key default gen_random_uuid(),

    -- Template identification
    template_key varchar(100) not null unique, -- e.g., 'referral_accepted'
    name varchar(255) not null,
    description text,

    -- Template content
    subject varchar(500), -- For email
    body_text text not null,
    body_html text, -- For email

    -- Channels supported
    channels varchar(20)[] default array['email'], -- 'email', 'sms', 'whatsapp'

    -- Localization
    locale varchar(10) default 'fr-SN',

    -- Template variables (for documentation)
    variables jsonb, -- {"user_name": "string", "amount": "number"}

    -- Status
    is_active boolean default true,
    version integer default 1,

    created_at timestamp with time zone default now(),
    updated_at timestamp with time zone default now()
);

-- Notification queue and delivery
create table notifications.notifications (
    id uuid primary key default gen_random_uuid(),

    -- Recipient
    user_id uuid references identity.users(id),
    recipient_identifier varchar(255) not null, -- email/phone for the channel

    -- Message details
    template_id uuid not null references notifications.notification_templates(id),
    channel varchar(20) not null, -- 'email', 'sms', 'whatsapp'

    -- Content (after template processing)
    subject varchar(500),
    body text not null,

    -- Template data used
    template_data jsonb,

    -- Delivery status
    status varchar(20) default 'pending', -- 'pending', 'sent', 'delivered', 'failed', 'bounced'

    -- Scheduling
    scheduled_at timestamp with time zone default now(),
    sent_at timestamp with time zone,
    delivered_at timestamp with time zone,
    failed_at timestamp with time zone,

    -- Provider tracking
    provider varchar(50), -- 'resend', 'twilio', 'whatsapp_business'
    provider_message_id varchar(255),
    provider_response jsonb,

    -- Retry logic
    retry_count integer default 0,
    max_retries integer default 3,
    next_retry_at timestamp with time zone,

    -- Error handling
    error_message text,
    error_code varchar(50),

    created_at timestamp with time zone default now(),
    updated_at timestamp with time zone default now(),

    -- Beyond the spec: exactly the values documented for status.
    constraint check_notifications_status check (
        status in ('pending', 'sent', 'delivered', 'failed', 'bounced')
    )
);

-- Notification preferences (user-level), one row per user
create table notifications.notification_preferences (
    user_id uuid primary key references identity.users(id) on delete cascade,

    -- Channel preferences
    email_enabled boolean default true,
    sms_enabled boolean default true,
    whatsapp_enabled boolean default true,
    push_enabled boolean default true,

    -- Event type preferences
    referral_notifications boolean default true,
    pot_notifications boolean default true,
    donation_notifications boolean default true,
    marketing_notifications boolean default false,

    -- Frequency controls
    digest_frequency varchar(20) default 'daily', -- 'immediate', 'daily', 'weekly'
    quiet_hours_start time default '22:00',
    quiet_hours_end time default '08:00',

    updated_at timestamp with time zone default now()
);

-- Notification analytics and metrics
create table notifications.notification_analytics (
    id uuid primary key default gen_random_uuid(),

    -- Time period
    date date not null,
    template_key varchar(100) not null,
    channel varchar(20) not null,

    -- Metrics
    sent_count integer default 0,
    delivered_count integer default 0,
    failed_count integer default 0,
    bounce_count integer default 0,

    -- Engagement (for email/WhatsApp)
    opened_count integer default 0,
    clicked_count integer default 0,

    -- Calculated rates
    delivery_rate decimal(5,4),
    open_rate decimal(5,4),
    click_rate decimal(5,4),

    created_at timestamp with time zone default now(),

    unique (date, template_key, channel)
);

-- Indexes from spec section 4.
create index idx_notifications_user_id on notifications.notifications(user_id) where user_id is not null;
create index idx_notifications_status on notifications.notifications(status);
create index idx_notifications_scheduled_at on notifications.notifications(scheduled_at);
create index idx_notification_templates_template_key on notifications.notification_templates(template_key);

-- Beyond the spec: foreign key the product queries by.
create index idx_notifications_template_id on notifications.notifications(template_id);

-- Keep updated_at current.
create trigger set_updated_at
    before update on notifications.notification_templates
    for each row execute function wolo.set_updated_at();

create trigger set_updated_at
    before update on notifications.notifications
    for each row execute function wolo.set_updated_at();

create trigger set_updated_at
    before update on notifications.notification_preferences
    for each row execute function wolo.set_updated_at();
