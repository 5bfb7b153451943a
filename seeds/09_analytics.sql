-- Demo data: analytics events, business metrics, a funnel, A/B tests.
--
-- Events retrace the story told by the other files (sign-up through Awa's
-- invitation, pot opening, donations, QR issue and redemption...). Metrics
-- and the funnel are consistent with the demo rows: e.g. 73 000 FCFA of
-- succeeded donations in total, 5 pots of which 2 reached their target.
-- business_metrics and funnel_analytics store '{}' (not null) for "no
-- dimensions", so their unique keys stay meaningful.

set local timezone to 'Africa/Dakar';

insert into analytics.analytics_events
    (id, event_name, event_category, user_id, session_id, anonymous_id, properties, timestamp,
     ip_address, user_agent, referrer, page_url, platform, device_type, os, browser,
     country, region, city, created_at)
values
    ('00000000-0000-4000-a000-090100000001', 'user_signed_up', 'referral', '00000000-0000-4000-a000-010100000002', 'sess-demo-0001', null,
     '{"method": "phone", "referral_code": "AWA-K7Q2M"}', current_date - 45 + time '12:05',
     '41.83.122.7', 'WOLO/1.4.0 (Android 13)', null, null, 'mobile_app', 'mobile', 'Android 13', null,
     'SEN', 'Dakar', 'Dakar', current_date - 45 + time '12:05'),
    ('00000000-0000-4000-a000-090100000002', 'referral_accepted', 'referral', '00000000-0000-4000-a000-010100000002', 'sess-demo-0001', null,
     '{"referral_id": "00000000-0000-4000-a000-030100000001", "sponsor_user_id": "00000000-0000-4000-a000-010100000001"}', current_date - 45 + time '12:05',
     '41.83.122.7', 'WOLO/1.4.0 (Android 13)', null, null, 'mobile_app', 'mobile', 'Android 13', null,
     'SEN', 'Dakar', 'Dakar', current_date - 45 + time '12:05'),
    ('00000000-0000-4000-a000-090100000003', 'pot_opened', 'pot', '00000000-0000-4000-a000-010100000002', null, null,
     '{"pot_id": "00000000-0000-4000-a000-040100000002", "trigger": "j30_job"}', current_date - 18 + time '08:00',
     null, null, null, null, 'api', null, null, null,
     'SEN', 'Dakar', 'Dakar', current_date - 18 + time '08:00'),
    ('00000000-0000-4000-a000-090100000004', 'pot_shared', 'pot', '00000000-0000-4000-a000-010100000002', 'sess-demo-0002', null,
     '{"pot_id": "00000000-0000-4000-a000-040100000002", "method": "whatsapp"}', current_date - 18 + time '08:30',
     '41.83.122.7', 'WOLO/1.4.1 (Android 13)', null, null, 'mobile_app', 'mobile', 'Android 13', null,
     'SEN', 'Dakar', 'Dakar', current_date - 18 + time '08:30'),
    ('00000000-0000-4000-a000-090100000005', 'pot_viewed', 'pot', null, null, 'anon-7f2c9a',
     '{"pot_id": "00000000-0000-4000-a000-040100000002", "ab_variant": "variant_a"}', current_date - 6 + time '13:01',
     '41.83.5.77', 'Mozilla/5.0 (Linux; Android 12) Chrome/125 Mobile', 'https://l.facebook.com/', 'https://wolo.example.com/p/moussa-diop-28',
     'web', 'mobile', 'Android 12', 'Chrome',
     'SEN', 'Dakar', 'Pikine', current_date - 6 + time '13:01'),
    ('00000000-0000-4000-a000-090100000006', 'donation_started', 'donation', null, null, 'anon-7f2c9a',
     '{"pot_id": "00000000-0000-4000-a000-040100000002", "amount_cfa": 3000, "anonymous": true}', current_date - 6 + time '13:05',
     '41.83.5.77', 'Mozilla/5.0 (Linux; Android 12) Chrome/125 Mobile', null, 'https://wolo.example.com/p/moussa-diop-28',
     'web', 'mobile', 'Android 12', 'Chrome',
     'SEN', 'Dakar', 'Pikine', current_date - 6 + time '13:05'),
    ('00000000-0000-4000-a000-090100000007', 'donation_succeeded', 'donation', null, null, 'anon-7f2c9a',
     '{"donation_id": "00000000-0000-4000-a000-050100000002", "pot_id": "00000000-0000-4000-a000-040100000002", "amount_cfa": 3000, "anonymous": true}', current_date - 6 + time '13:05:52',
     null, null, null, null, 'api', null, null, null,
     'SEN', 'Dakar', 'Pikine', current_date - 6 + time '13:05:52'),
    ('00000000-0000-4000-a000-090100000008', 'donation_failed', 'donation', '00000000-0000-4000-a000-010100000010', 'sess-demo-0003', null,
     '{"donation_id": "00000000-0000-4000-a000-050100000005", "amount_cfa": 2000, "error_code": "insufficient-funds"}', current_date - 3 + time '14:30',
     null, null, null, null, 'api', null, null, null,
     'SEN', 'Saint-Louis', 'Saint-Louis', current_date - 3 + time '14:30'),
    ('00000000-0000-4000-a000-090100000009', 'donation_started', 'donation', '00000000-0000-4000-a000-010100000008', 'sess-demo-0004', null,
     '{"donation_id": "00000000-0000-4000-a000-050100000004", "pot_id": "00000000-0000-4000-a000-040100000002", "amount_cfa": 5000}', now() - interval '10 minutes',
     '90.12.45.200', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15', 'https://mail.example.com/', 'https://wolo.example.com/p/moussa-diop-28',
     'web', 'desktop', 'macOS 14', 'Safari',
     'FRA', 'Île-de-France', 'Paris', now() - interval '10 minutes'),
    ('00000000-0000-4000-a000-090100000010', 'pot_funded', 'pot', '00000000-0000-4000-a000-010100000003', null, null,
     '{"pot_id": "00000000-0000-4000-a000-040100000003", "raised_cfa": 40000, "target_amount_cfa": 40000}', current_date - 8 + time '17:56',
     null, null, null, null, 'api', null, null, null,
     'SEN', 'Thiès', 'Thiès', current_date - 8 + time '17:56'),
    ('00000000-0000-4000-a000-090100000011', 'qr_issued', 'qr', '00000000-0000-4000-a000-010100000003', null, null,
     '{"qr_code_id": "00000000-0000-4000-a000-070100000001", "pack_id": "00000000-0000-4000-a000-060200000003"}', current_date - 8 + time '18:00',
     null, null, null, null, 'api', null, null, null,
     'SEN', 'Thiès', 'Thiès', current_date - 8 + time '18:00'),
    ('00000000-0000-4000-a000-090100000012', 'qr_redeemed', 'qr', '00000000-0000-4000-a000-010100000004', null, null,
     '{"qr_code_id": "00000000-0000-4000-a000-070100000002", "partner_id": "00000000-0000-4000-a000-060100000001", "venue_id": "cineteranga-plateau"}', current_date - 38 + time '20:15',
     '41.82.200.9', 'WOLO Partenaires/2.0 (Android 12)', null, null, 'api', null, null, null,
     'SEN', 'Dakar', 'Dakar', current_date - 38 + time '20:15'),
    ('00000000-0000-4000-a000-090100000013', 'referral_sent', 'referral', '00000000-0000-4000-a000-010100000001', 'sess-demo-0005', null,
     '{"referral_id": "00000000-0000-4000-a000-030100000003", "method": "sms", "selection": "individual"}', current_date + time '09:15',
     '41.82.10.21', 'WOLO/1.4.2 (Android 14)', null, null, 'mobile_app', 'mobile', 'Android 14', null,
     'SEN', 'Dakar', 'Dakar', current_date + time '09:15'),
    ('00000000-0000-4000-a000-090100000014', 'referral_sent', 'referral', '00000000-0000-4000-a000-010100000001', 'sess-demo-0005', null,
     '{"referral_id": "00000000-0000-4000-a000-030100000004", "method": "sms", "selection": "individual"}', current_date + time '09:16',
     '41.82.10.21', 'WOLO/1.4.2 (Android 14)', null, null, 'mobile_app', 'mobile', 'Android 14', null,
     'SEN', 'Dakar', 'Dakar', current_date + time '09:16'),
    ('00000000-0000-4000-a000-090100000015', 'points_converted', 'referral', '00000000-0000-4000-a000-010100000001', 'sess-demo-0006', null,
     '{"conversion_id": "00000000-0000-4000-a000-030300000001", "points": 200, "credits_cfa": 2000}', current_date - 20 + time '21:10',
     '41.82.10.21', 'WOLO/1.4.1 (Android 14)', null, null, 'mobile_app', 'mobile', 'Android 14', null,
     'SEN', 'Dakar', 'Dakar', current_date - 20 + time '21:10'),
    ('00000000-0000-4000-a000-090100000016', 'pot_expired', 'pot', '00000000-0000-4000-a000-010100000005', null, null,
     '{"pot_id": "00000000-0000-4000-a000-040100000004", "raised_cfa": 8000, "target_amount_cfa": 35000}', current_date - 19 + time '00:05',
     null, null, null, null, 'api', null, null, null,
     'SEN', 'Ziguinchor', 'Ziguinchor', current_date - 19 + time '00:05')
on conflict do nothing;

insert into analytics.business_metrics
    (id, metric_date, metric_type, metric_value, metric_count, dimensions,
     previous_period_value, period_over_period_change, created_at)
values
    ('00000000-0000-4000-a000-090200000001', current_date - 1, 'daily_active_users', 38, 38, '{}', 35, 0.0857, current_date + time '01:00'),
    ('00000000-0000-4000-a000-090200000002', current_date - 1, 'daily_active_users', 24, 24, '{"region": "Dakar"}', 22, 0.0909, current_date + time '01:00'),
    ('00000000-0000-4000-a000-090200000003', current_date - 1, 'daily_active_users', 9, 9, '{"region": "Thiès"}', 8, 0.1250, current_date + time '01:00'),
    -- Awa's 50 invitations yesterday.
    ('00000000-0000-4000-a000-090200000004', current_date - 1, 'referrals_sent', 50, 50, '{}', 0, null, current_date + time '01:00'),
    -- All succeeded donations so far (refunded ones excluded): 13 donations.
    ('00000000-0000-4000-a000-090200000005', current_date - 1, 'donations_total_cfa', 73000, 13, '{}', 73000, 0.0000, current_date + time '01:00'),
    -- Khady's 2 000 FCFA to Moussa's pot.
    ('00000000-0000-4000-a000-090200000006', current_date - 2, 'donations_volume_cfa', 2000, 1, '{}', 0, null, current_date - 1 + time '01:00'),
    ('00000000-0000-4000-a000-090200000007', current_date - 1, 'pots_by_status', 5, 5, '{}', 5, 0.0000, current_date + time '01:00'),
    ('00000000-0000-4000-a000-090200000008', current_date - 1, 'pots_by_status', 1, 1, '{"status": "open"}', 1, 0.0000, current_date + time '01:00'),
    ('00000000-0000-4000-a000-090200000009', current_date - 1, 'pots_by_status', 1, 1, '{"status": "funded"}', 1, 0.0000, current_date + time '01:00')
on conflict do nothing;

-- Life of the 5 demo pots, from creation to the gift being used.
insert into analytics.funnel_analytics
    (id, funnel_name, step_number, step_name, period_start, period_end,
     users_entered, users_completed, completion_rate, segment_filters, created_at)
values
    ('00000000-0000-4000-a000-090300000001', 'pot_lifecycle', 1, 'pot_created',     current_date - 100, current_date - 1, 5, 5, 1.0000, '{}', current_date + time '01:30'),
    ('00000000-0000-4000-a000-090300000002', 'pot_lifecycle', 2, 'pot_opened',      current_date - 100, current_date - 1, 5, 4, 0.8000, '{}', current_date + time '01:30'),
    ('00000000-0000-4000-a000-090300000003', 'pot_lifecycle', 3, 'first_donation',  current_date - 100, current_date - 1, 4, 4, 1.0000, '{}', current_date + time '01:30'),
    ('00000000-0000-4000-a000-090300000004', 'pot_lifecycle', 4, 'target_reached',  current_date - 100, current_date - 1, 4, 2, 0.5000, '{}', current_date + time '01:30'),
    ('00000000-0000-4000-a000-090300000005', 'pot_lifecycle', 5, 'gift_redeemed',   current_date - 100, current_date - 1, 2, 1, 0.5000, '{}', current_date + time '01:30')
on conflict do nothing;

insert into analytics.ab_tests
    (id, test_name, description, variants, traffic_allocation, primary_metric, secondary_metrics,
     start_date, end_date, status, results, winner_variant, confidence_level, created_at, updated_at)
values
    -- Running; shown through the demo flag pot_page_cta_v2 (10_admin.sql).
    ('00000000-0000-4000-a000-090400000001', 'pot_page_cta_v2',
     'Libellé du bouton principal de la page cagnotte : « Participer » ou « Offrir un cadeau ».',
     '{"control": {"cta_label": "Participer"}, "variant_a": {"cta_label": "Offrir un cadeau"}}',
     '{"control": 0.5, "variant_a": 0.5}',
     'donation_conversion_rate', array['pot_share_rate', 'average_donation_cfa'],
     current_date - 14, null, 'running',
     '{"interim": true, "control": {"visitors": 31, "donations": 2}, "variant_a": {"visitors": 29, "donations": 3}}',
     null, null, current_date - 15 + time '10:00', current_date + time '01:45'),
    -- Finished: the warmer invitation text won.
    ('00000000-0000-4000-a000-090400000002', 'referral_message_tone',
     'Ton du SMS d''invitation : neutre ou chaleureux.',
     '{"control": {"tone": "neutre"}, "variant_a": {"tone": "chaleureux"}}',
     '{"control": 0.5, "variant_a": 0.5}',
     'referral_acceptance_rate', array['invitation_click_rate'],
     current_date - 90, current_date - 60, 'completed',
     '{"control": {"sent": 410, "accepted": 29}, "variant_a": {"sent": 402, "accepted": 47}, "p_value": 0.0488}',
     'variant_a', 0.9512, current_date - 91 + time '10:00', current_date - 59 + time '09:00')
on conflict do nothing;

insert into analytics.ab_test_assignments
    (id, test_id, user_id, anonymous_id, variant, assigned_at, ip_address, user_agent)
values
    ('00000000-0000-4000-a000-090500000001', '00000000-0000-4000-a000-090400000001', '00000000-0000-4000-a000-010100000001', null,
     'control', current_date - 10 + time '19:40', '41.82.10.21', 'WOLO/1.4.2 (Android 14)'),
    ('00000000-0000-4000-a000-090500000002', '00000000-0000-4000-a000-090400000001', '00000000-0000-4000-a000-010100000009', null,
     'variant_a', current_date - 12 + time '08:31', '154.124.12.40', 'WOLO/1.4.1 (Android 13)'),
    ('00000000-0000-4000-a000-090500000003', '00000000-0000-4000-a000-090400000001', '00000000-0000-4000-a000-010100000008', null,
     'variant_a', now() - interval '12 minutes', '90.12.45.200', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15'),
    ('00000000-0000-4000-a000-090500000004', '00000000-0000-4000-a000-090400000001', '00000000-0000-4000-a000-010100000010', null,
     'control', current_date - 3 + time '13:55', '41.214.3.18', 'WOLO/1.4.2 (Android 11)'),
    ('00000000-0000-4000-a000-090500000005', '00000000-0000-4000-a000-090400000001', null, 'anon-7f2c9a',
     'variant_a', current_date - 6 + time '13:01', '41.83.5.77', 'Mozilla/5.0 (Linux; Android 12) Chrome/125 Mobile'),
    ('00000000-0000-4000-a000-090500000006', '00000000-0000-4000-a000-090400000001', null, 'anon-3b81d0',
     'control', current_date - 5 + time '18:20', '196.207.1.33', 'Mozilla/5.0 (Windows NT 10.0) Chrome/126'),
    ('00000000-0000-4000-a000-090500000007', '00000000-0000-4000-a000-090400000002', '00000000-0000-4000-a000-010100000001', null,
     'variant_a', current_date - 85 + time '20:00', '41.82.10.21', 'WOLO/1.3.8 (Android 14)'),
    ('00000000-0000-4000-a000-090500000008', '00000000-0000-4000-a000-090400000002', '00000000-0000-4000-a000-010100000009', null,
     'control', current_date - 80 + time '09:10', '154.124.12.40', 'WOLO/1.3.8 (Android 13)')
on conflict do nothing;
