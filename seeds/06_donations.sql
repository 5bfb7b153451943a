-- Demo data: donations, Wave webhook events, a refund, donation analytics.
--
-- Succeeded donations per pot (= the pot's raised total):
--   Moussa (open)     5 000 Awa + 3 000 anonymous + 2 000 Khady  = 10 000 / 22 500
--                     + 5 000 pending (Ousmane, paying right now)
--                     + 2 000 failed (Seynabou, insufficient funds)
--   Fatou (funded)    10 000 Awa + 10 000 Cheikh + 5 000 anonymous
--                     + 7 500 Khady + 7 500 Ibrahima            = 40 000 / 40 000
--   Aminata (expired) 5 000 Fatou + 3 000 Khady (anonymous)    =  8 000 / 35 000
--                     + 2 000 refunded (Ibrahima, wrong pot)
--   Cheikh (closed)   5 000 Awa + 5 000 Ibrahima + 5 000 Aminata = 15 000 / 15 000
-- Anonymous donations have is_anonymous = true and no donor_name; two come
-- from people without an account (donor_user_id null), one from Khady.
-- Wave ids are fake but shaped like Wave's: checkout session "cos-...",
-- transaction "TCN...", event "AE_sn_...".

set local timezone to 'Africa/Dakar';

insert into donations.donations
    (id, pot_id, donor_user_id, donor_name, donor_phone, amount_cfa, wave_transaction_id, wave_payment_url,
     status, initiated_at, wave_notified_at, confirmed_at, failed_at, refunded_at,
     donation_message, is_anonymous, show_amount, wave_webhook_data,
     ip_address, user_agent, risk_score, created_at, updated_at)
select
    v.id, v.pot_id, v.donor_user_id, v.donor_name, v.donor_phone, v.amount_cfa,
    w.transaction_id, w.launch_url,
    v.status, v.initiated_at, w.notified_at, w.confirmed_at, w.failed_at, v.refunded_at,
    v.donation_message, v.is_anonymous, v.show_amount,
    -- The Wave checkout session as last reported by a webhook (none yet for
    -- the pending donation).
    case when v.status <> 'pending' then jsonb_build_object(
        'id', w.session_id,
        'amount', v.amount_cfa::text,
        'currency', 'XOF',
        'checkout_status', case when v.status = 'failed' then 'open' else 'complete' end,
        'payment_status', case when v.status = 'failed' then 'processing' else 'succeeded' end,
        'client_reference', v.id::text,
        'business_name', 'WOLO',
        'transaction_id', w.transaction_id,
        'last_payment_error', case when v.status = 'failed' then
            jsonb_build_object('code', 'insufficient-funds', 'message', 'Solde insuffisant') end,
        'wave_launch_url', w.launch_url,
        'when_created', to_char(v.initiated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'when_expires', to_char((v.initiated_at + interval '30 minutes') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'when_completed', to_char(w.confirmed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    ) end,
    v.ip_address, v.user_agent, v.risk_score,
    v.initiated_at,
    coalesce(v.refunded_at, w.failed_at, w.confirmed_at, v.initiated_at)
from (values
    -- n, id, pot, donor user, donor name, Wave phone, amount, status, initiated, refunded, message, anonymous, show amount, ip, user agent, risk
    (1, '00000000-0000-4000-a000-050100000001'::uuid, '00000000-0000-4000-a000-040100000002'::uuid, '00000000-0000-4000-a000-010100000001'::uuid,
     'Awa Ndiaye', '+221771234567', 5000, 'succeeded', (current_date - 10 + time '19:42')::timestamptz, null::timestamptz,
     'Joyeux anniversaire Moussa ! Profite bien de ton dîner.', false, true, '41.82.10.21'::inet, 'WOLO/1.4.2 (Android 14)', 3),
    (2, '00000000-0000-4000-a000-050100000002', '00000000-0000-4000-a000-040100000002', null,
     null, '+221775550404', 3000, 'succeeded', (current_date - 6 + time '13:05')::timestamptz, null,
     'Bon anniversaire, de la part d''un ami.', true, true, '41.83.5.77', 'Mozilla/5.0 (Linux; Android 12) Chrome/125 Mobile', 18),
    (3, '00000000-0000-4000-a000-050100000003', '00000000-0000-4000-a000-040100000002', '00000000-0000-4000-a000-010100000009',
     'Khady Diallo', '+221784445566', 2000, 'succeeded', (current_date - 2 + time '20:28')::timestamptz, null,
     null, false, true, '154.124.12.40', 'WOLO/1.4.2 (Android 13)', 4),
    (4, '00000000-0000-4000-a000-050100000004', '00000000-0000-4000-a000-040100000002', '00000000-0000-4000-a000-010100000008',
     'Ousmane Gueye', null, 5000, 'pending', now() - interval '10 minutes', null,
     'Happy birthday bro, enjoy!', false, true, '90.12.45.200', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15', 12),
    (5, '00000000-0000-4000-a000-050100000005', '00000000-0000-4000-a000-040100000002', '00000000-0000-4000-a000-010100000010',
     'Seynabou Kane', '+221705556677', 2000, 'failed', (current_date - 3 + time '14:00')::timestamptz, null,
     null, false, true, '41.214.3.18', 'WOLO/1.4.2 (Android 11)', 35),
    (6, '00000000-0000-4000-a000-050100000006', '00000000-0000-4000-a000-040100000003', '00000000-0000-4000-a000-010100000001',
     'Awa Ndiaye', '+221771234567', 10000, 'succeeded', (current_date - 25 + time '13:00')::timestamptz, null,
     'Pour ma Fatou, détends-toi bien !', false, true, '41.82.10.21', 'WOLO/1.4.1 (Android 14)', 3),
    (7, '00000000-0000-4000-a000-050100000007', '00000000-0000-4000-a000-040100000003', '00000000-0000-4000-a000-010100000004',
     'Cheikh Fall', '+221701234570', 10000, 'succeeded', (current_date - 22 + time '18:05')::timestamptz, null,
     'Bésu juddu bu neex, Fatou !', false, true, '41.82.77.3', 'WOLO/1.4.1 (Android 12)', 5),
    (8, '00000000-0000-4000-a000-050100000008', '00000000-0000-4000-a000-040100000003', null,
     null, '+221705550505', 5000, 'succeeded', (current_date - 18 + time '09:20')::timestamptz, null,
     null, true, false, '196.1.95.20', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Safari/604.1', 20),
    (9, '00000000-0000-4000-a000-050100000009', '00000000-0000-4000-a000-040100000003', '00000000-0000-4000-a000-010100000009',
     'Khady Diallo', '+221784445566', 7500, 'succeeded', (current_date - 12 + time '08:35')::timestamptz, null,
     'Joyeux anniversaire ma sœur !', false, true, '154.124.12.40', 'WOLO/1.4.1 (Android 13)', 4),
    (10, '00000000-0000-4000-a000-050100000010', '00000000-0000-4000-a000-040100000003', '00000000-0000-4000-a000-010100000006',
     'Ibrahima Sarr', '+221772223344', 7500, 'succeeded', (current_date - 8 + time '17:55')::timestamptz, null,
     'Bon anniversaire Fatou, de la part de toute la famille Sarr.', false, true, '41.82.150.60', 'WOLO/1.4.2 (iOS 17.5)', 2),
    (11, '00000000-0000-4000-a000-050100000011', '00000000-0000-4000-a000-040100000004', '00000000-0000-4000-a000-010100000006',
     'Ibrahima Sarr', '+221772223344', 2000, 'refunded', (current_date - 48 + time '13:18')::timestamptz, (current_date - 30 + time '10:00')::timestamptz,
     null, false, true, '41.82.150.60', 'WOLO/1.4.0 (iOS 17.4)', 2),
    (12, '00000000-0000-4000-a000-050100000012', '00000000-0000-4000-a000-040100000004', '00000000-0000-4000-a000-010100000003',
     'Fatou Sow', '+221761234569', 5000, 'succeeded', (current_date - 40 + time '12:00')::timestamptz, null,
     'Bon anniversaire Aminata !', false, true, '154.124.66.3', 'WOLO/1.4.0 (Android 11)', 3),
    (13, '00000000-0000-4000-a000-050100000013', '00000000-0000-4000-a000-040100000004', '00000000-0000-4000-a000-010100000009',
     null, '+221784445566', 3000, 'succeeded', (current_date - 30 + time '21:00')::timestamptz, null,
     'Avec toute mon affection.', true, true, '154.124.12.40', 'WOLO/1.4.1 (Android 13)', 4),
    (14, '00000000-0000-4000-a000-050100000014', '00000000-0000-4000-a000-040100000005', '00000000-0000-4000-a000-010100000001',
     'Awa Ndiaye', '+221771234567', 5000, 'succeeded', (current_date - 68 + time '12:30')::timestamptz, null,
     'Bon ciné Cheikh !', false, true, '41.82.10.21', 'WOLO/1.3.9 (Android 14)', 3),
    (15, '00000000-0000-4000-a000-050100000015', '00000000-0000-4000-a000-040100000005', '00000000-0000-4000-a000-010100000006',
     'Ibrahima Sarr', '+221772223344', 5000, 'succeeded', (current_date - 62 + time '08:10')::timestamptz, null,
     null, false, true, '41.82.150.60', 'WOLO/1.3.9 (iOS 17.3)', 2),
    (16, '00000000-0000-4000-a000-050100000016', '00000000-0000-4000-a000-040100000005', '00000000-0000-4000-a000-010100000005',
     'Aminata Ba', '+221771112233', 5000, 'succeeded', (current_date - 55 + time '19:05')::timestamptz, null,
     'Bésu juddu bu neex, Cheikh !', false, true, '41.83.200.12', 'WOLO/1.3.9 (Android 13)', 3)
) as v(n, id, pot_id, donor_user_id, donor_name, donor_phone, amount_cfa, status, initiated_at, refunded_at,
       donation_message, is_anonymous, show_amount, ip_address, user_agent, risk_score)
cross join lateral (
    select
        'cos-demo' || lpad(v.n::text, 6, '0') as session_id,
        'https://pay.wave.com/c/cos-demo' || lpad(v.n::text, 6, '0') as launch_url,
        case when v.status in ('succeeded', 'refunded') then 'TCNDEMO' || lpad(v.n::text, 4, '0') end as transaction_id,
        case when v.status <> 'pending' then v.initiated_at + interval '50 seconds' end as notified_at,
        case when v.status in ('succeeded', 'refunded') then v.initiated_at + interval '52 seconds' end as confirmed_at,
        -- A failed attempt does not end a Wave session; the donation is
        -- marked failed when the session expires (30 minutes).
        case when v.status = 'failed' then v.initiated_at + interval '30 minutes' end as failed_at
) as w
on conflict do nothing;

-- One stored delivery per Wave event: checkout.session.completed for the
-- paid donations (including the one refunded later: Wave sends no refund
-- event), checkout.session.payment_failed for the failed one. Webhook row N
-- belongs to donation N.
insert into donations.wave_webhook_events
    (id, wave_event_id, event_type, donation_id, raw_payload, processed_at, processing_error,
     idempotency_key, retry_count, created_at)
select
    ('00000000-0000-4000-a000-0502' || right(d.id::text, 8))::uuid,
    e.event_id,
    e.event_type,
    d.id,
    jsonb_build_object('id', e.event_id, 'type', e.event_type, 'data', d.wave_webhook_data),
    d.wave_notified_at + interval '1 second',
    null,
    'wave:' || e.event_id,
    -- Khady's 7 500 FCFA: the first delivery timed out and Wave delivered it again.
    case when d.id = '00000000-0000-4000-a000-050100000009' then 1 else 0 end,
    d.wave_notified_at
from donations.donations d
cross join lateral (
    select
        'AE_sn_demo' || right(d.id::text, 4) as event_id,
        case when d.status = 'failed' then 'checkout.session.payment_failed'
             else 'checkout.session.completed' end as event_type
) as e
where d.id in (
    '00000000-0000-4000-a000-050100000001', '00000000-0000-4000-a000-050100000002',
    '00000000-0000-4000-a000-050100000003', '00000000-0000-4000-a000-050100000005',
    '00000000-0000-4000-a000-050100000006', '00000000-0000-4000-a000-050100000007',
    '00000000-0000-4000-a000-050100000008', '00000000-0000-4000-a000-050100000009',
    '00000000-0000-4000-a000-050100000010', '00000000-0000-4000-a000-050100000011',
    '00000000-0000-4000-a000-050100000012', '00000000-0000-4000-a000-050100000013',
    '00000000-0000-4000-a000-050100000014', '00000000-0000-4000-a000-050100000015',
    '00000000-0000-4000-a000-050100000016'
)
on conflict do nothing;

-- Ibrahima paid into Aminata's pot by mistake and asked for his money back;
-- an admin refunded the Wave session in full.
insert into donations.refunds
    (id, donation_id, refunded_by_user_id, amount_cfa, reason, reason_description,
     wave_refund_id, wave_refund_status, processed_at, completed_at, created_at)
values
    ('00000000-0000-4000-a000-050300000001', '00000000-0000-4000-a000-050100000011', '00000000-0000-4000-a000-010100000011',
     2000, 'user_request', 'Participation versée sur la mauvaise cagnotte ; remboursée à la demande du donateur.',
     'cos-demo000011', 'completed', current_date - 30 + time '09:58', current_date - 30 + time '10:00',
     current_date - 31 + time '18:00')
on conflict do nothing;

-- Aggregates computed from the demo donations above, so they always agree
-- with them: yesterday-but-one (daily), the last 7 days (weekly) and the
-- previous calendar month (monthly). A transaction is a finished attempt
-- (succeeded, failed or refunded); success_rate = succeeded / transactions;
-- the region is the donor's default address ("Non renseignée" without one).
insert into donations.donation_analytics
    (id, period_type, period_start, period_end, total_amount_cfa, transaction_count, unique_donors,
     average_donation_cfa, success_rate, region_breakdown, created_at)
select
    p.id, p.period_type, p.period_start, p.period_end,
    coalesce(sum(d.amount_cfa) filter (where d.status = 'succeeded'), 0),
    count(d.id),
    count(distinct coalesce(d.donor_user_id::text, d.donor_phone)) filter (where d.status = 'succeeded'),
    coalesce(round(avg(d.amount_cfa) filter (where d.status = 'succeeded')), 0),
    round((count(d.id) filter (where d.status = 'succeeded'))::numeric / nullif(count(d.id), 0), 4),
    coalesce((
        select jsonb_object_agg(r.region, r.total)
        from (
            select coalesce(a.region, 'Non renseignée') as region, sum(d2.amount_cfa) as total
            from donations.donations d2
            left join profiles.user_addresses a on a.user_id = d2.donor_user_id and a.is_default
            where d2.id::text like '00000000-0000-4000-a000-0501%'
              and d2.status = 'succeeded'
              and d2.initiated_at::date between p.period_start and p.period_end
            group by 1
        ) r
    ), '{}'::jsonb),
    least(p.period_end + 1 + time '01:00', now())
from (values
    ('00000000-0000-4000-a000-050400000001'::uuid, 'daily', current_date - 2, current_date - 2),
    ('00000000-0000-4000-a000-050400000002', 'weekly', current_date - 7, current_date - 1),
    ('00000000-0000-4000-a000-050400000003', 'monthly',
     (date_trunc('month', current_date) - interval '1 month')::date, (date_trunc('month', current_date) - interval '1 day')::date)
) as p(id, period_type, period_start, period_end)
left join donations.donations d
    on d.id::text like '00000000-0000-4000-a000-0501%'
   and d.status in ('succeeded', 'failed', 'refunded')
   and d.initiated_at::date between p.period_start and p.period_end
group by p.id, p.period_type, p.period_start, p.period_end
on conflict do nothing;
