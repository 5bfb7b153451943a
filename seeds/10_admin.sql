-- Demo data: extra feature flags, audit log, health checks, admin sessions.
--
-- The product's own flags and system_config defaults come from migration
-- V21 and are left as they are: whatsapp_notifications, sponsor_campaigns and
-- points_conversion stay off there, even though the demo contains a running
-- campaign and a past points conversion (switch the flags on in the admin to
-- see those features live).

set local timezone to 'Africa/Dakar';

insert into admin.feature_flags
    (id, flag_key, name, description, is_enabled, flag_type, flag_value, rollout_percentage,
     target_user_groups, target_regions, environment, created_by_user_id, last_modified_by_user_id,
     created_at, updated_at)
values
    ('00000000-0000-4000-a000-100100000001', 'demo_data_banner', 'Bandeau « données de démonstration »',
     'Affiche un bandeau rappelant que les données sont fictives.',
     true, 'boolean', null, 100, null, null, 'development',
     '00000000-0000-4000-a000-010100000012', '00000000-0000-4000-a000-010100000012',
     now() - interval '100 days', now() - interval '100 days'),
    ('00000000-0000-4000-a000-100100000002', 'wolof_interface', 'Interface en wolof (bêta)',
     'Propose l''application en wolof aux testeurs des régions ciblées.',
     true, 'boolean', null, 25, array['beta_users'], array['Dakar', 'Thiès', 'Saint-Louis'], 'production',
     '00000000-0000-4000-a000-010100000012', '00000000-0000-4000-a000-010100000012',
     now() - interval '40 days', current_date - 5 + time '11:20'),
    ('00000000-0000-4000-a000-100100000003', 'pot_page_cta_v2', 'Test A/B du bouton de la page cagnotte',
     'Répartit les visiteurs entre les variantes du test A/B pot_page_cta_v2.',
     true, 'json', '{"ab_test": "pot_page_cta_v2", "variants": ["control", "variant_a"]}', 100, null, null, 'production',
     '00000000-0000-4000-a000-010100000011', '00000000-0000-4000-a000-010100000011',
     current_date - 15 + time '10:00', current_date - 14 + time '08:00'),
    ('00000000-0000-4000-a000-100100000004', 'partner_self_service', 'Espace partenaire en libre-service',
     'Les partenaires gèrent eux-mêmes leurs lieux et leurs packs.',
     false, 'boolean', null, 0, array['partners_pilot'], null, 'staging',
     '00000000-0000-4000-a000-010100000011', '00000000-0000-4000-a000-010100000011',
     now() - interval '20 days', now() - interval '20 days')
on conflict do nothing;

insert into admin.audit_logs
    (id, actor_user_id, actor_type, actor_ip, action, resource_type, resource_id,
     old_values, new_values, reason, metadata, timestamp, request_id, user_agent, created_at)
values
    ('00000000-0000-4000-a000-100200000001', '00000000-0000-4000-a000-010100000012', 'user', '196.207.230.14',
     'user_role_granted', 'user', '00000000-0000-4000-a000-010100000011',
     '{"roles": ["user"]}', '{"roles": ["user", "admin"]}', 'Arrivée dans l''équipe opérations.', null,
     now() - interval '364 days', 'req-demo-0001', 'Mozilla/5.0 (Windows NT 10.0) Chrome/120', now() - interval '364 days'),
    ('00000000-0000-4000-a000-100200000002', '00000000-0000-4000-a000-010100000011', 'user', '196.207.230.20',
     'partner_verified', 'partner', '00000000-0000-4000-a000-060100000001',
     '{"status": "pending"}', '{"status": "active"}', 'RCCM et NINEA vérifiés, contrat signé.', null,
     now() - interval '95 days', 'req-demo-0002', 'Mozilla/5.0 (Windows NT 10.0) Chrome/124', now() - interval '95 days'),
    ('00000000-0000-4000-a000-100200000003', '00000000-0000-4000-a000-010100000011', 'user', '196.207.230.20',
     'partner_verified', 'partner', '00000000-0000-4000-a000-060100000002',
     '{"status": "pending"}', '{"status": "active"}', 'RCCM et NINEA vérifiés, contrat signé.', null,
     now() - interval '95 days', 'req-demo-0003', 'Mozilla/5.0 (Windows NT 10.0) Chrome/124', now() - interval '95 days'),
    ('00000000-0000-4000-a000-100200000004', '00000000-0000-4000-a000-010100000011', 'user', '196.207.230.20',
     'partner_verified', 'partner', '00000000-0000-4000-a000-060100000003',
     '{"status": "pending"}', '{"status": "active"}', 'RCCM et NINEA vérifiés, contrat signé.', null,
     now() - interval '90 days', 'req-demo-0004', 'Mozilla/5.0 (Windows NT 10.0) Chrome/124', now() - interval '90 days'),
    ('00000000-0000-4000-a000-100200000005', '00000000-0000-4000-a000-010100000012', 'user', '196.207.230.14',
     'partner_verified', 'partner', '00000000-0000-4000-a000-060100000004',
     '{"status": "pending"}', '{"status": "active"}', 'RCCM et NINEA vérifiés, contrat signé.', null,
     now() - interval '85 days', 'req-demo-0005', 'Mozilla/5.0 (Windows NT 10.0) Chrome/124', now() - interval '85 days'),
    ('00000000-0000-4000-a000-100200000006', '00000000-0000-4000-a000-010100000011', 'user', '196.207.230.20',
     'identity_verified', 'user', '00000000-0000-4000-a000-010100000007',
     '{"id_verified_at": null}', '{"id_type": "birth_certificate", "id_country": "SEN"}',
     'Mineure : acte de naissance vérifié, tuteur Ibrahima Sarr (parent) vérifié.',
     '{"referral_id": "00000000-0000-4000-a000-030100000008", "guardian_user_id": "00000000-0000-4000-a000-010100000006"}',
     now() - interval '60 days', 'req-demo-0006', 'Mozilla/5.0 (Windows NT 10.0) Chrome/125', now() - interval '60 days'),
    ('00000000-0000-4000-a000-100200000007', null, 'system', null,
     'pot_expired', 'pot', '00000000-0000-4000-a000-040100000004',
     '{"status": "open"}', '{"status": "expired"}', 'Anniversaire passé sans atteindre l''objectif (8 000 / 35 000 FCFA).',
     '{"job": "pots.expire_after_birthday"}',
     current_date - 19 + time '00:05', 'job-demo-0007', null, current_date - 19 + time '00:05'),
    ('00000000-0000-4000-a000-100200000008', '00000000-0000-4000-a000-010100000011', 'user', '196.207.230.20',
     'refund_processed', 'donation', '00000000-0000-4000-a000-050100000011',
     '{"status": "succeeded"}', '{"status": "refunded"}', 'Participation versée sur la mauvaise cagnotte, à la demande du donateur.',
     '{"refund_id": "00000000-0000-4000-a000-050300000001", "amount_cfa": 2000}',
     current_date - 30 + time '10:00', 'req-demo-0008', 'Mozilla/5.0 (Windows NT 10.0) Chrome/126', current_date - 30 + time '10:00'),
    ('00000000-0000-4000-a000-100200000009', null, 'system', null,
     'points_revoked', 'points_ledger', '00000000-0000-4000-a000-030200000004',
     '{"status": "pending"}', '{"status": "revoked"}', 'La participation qui avait rapporté ces points a été remboursée.',
     '{"donation_id": "00000000-0000-4000-a000-050100000011"}',
     current_date - 30 + time '10:01', 'job-demo-0009', null, current_date - 30 + time '10:01'),
    ('00000000-0000-4000-a000-100200000010', '00000000-0000-4000-a000-010100000012', 'user', '196.207.230.14',
     'feature_flag_updated', 'feature_flag', '00000000-0000-4000-a000-100100000002',
     '{"rollout_percentage": 10}', '{"rollout_percentage": 25}', 'Bons retours des testeurs, on élargit.', null,
     current_date - 5 + time '11:20', 'req-demo-0010', 'Mozilla/5.0 (Windows NT 10.0) Chrome/126', current_date - 5 + time '11:20')
on conflict do nothing;

-- The settlement audit row takes its date from the settlement (07_qr.sql).
insert into admin.audit_logs
    (id, actor_user_id, actor_type, actor_ip, action, resource_type, resource_id,
     old_values, new_values, reason, metadata, timestamp, request_id, user_agent, created_at)
select
    '00000000-0000-4000-a000-100200000011', '00000000-0000-4000-a000-010100000011', 'user', '196.207.230.20',
    'settlement_paid', 'partner_settlement', s.id,
    '{"status": "approved"}', '{"status": "paid"}', null,
    jsonb_build_object('partner_id', s.partner_id, 'partner_share_cfa', s.partner_share_cfa,
                       'payment_reference', s.payment_reference),
    s.paid_at, 'req-demo-0011', 'Mozilla/5.0 (Windows NT 10.0) Chrome/126', s.paid_at
from qr.partner_settlements s
where s.id = '00000000-0000-4000-a000-070200000001'
on conflict do nothing;

insert into admin.system_health_checks
    (id, service_name, check_name, status, response_time_ms, check_data, error_message, checked_at, created_at)
values
    ('00000000-0000-4000-a000-100300000001', 'identity', 'database', 'healthy', 3,
     '{"pool_size": 10, "idle": 8}', null, now() - interval '1 minute', now() - interval '1 minute'),
    ('00000000-0000-4000-a000-100300000002', 'donations', 'wave_api', 'healthy', 182,
     '{"endpoint": "GET /v1/checkout/sessions/:id", "http_status": 200}', null, now() - interval '1 minute', now() - interval '1 minute'),
    ('00000000-0000-4000-a000-100300000003', 'notifications', 'sms_provider', 'degraded', 2410,
     '{"provider": "twilio", "p95_ms": 2410, "threshold_ms": 1500}', 'Latence élevée du fournisseur SMS.', now() - interval '1 minute', now() - interval '1 minute'),
    ('00000000-0000-4000-a000-100300000004', 'notifications', 'smtp', 'unhealthy', null,
     '{"host": "smtp.example.com", "port": 587}', '421 Service not available, try again later', now() - interval '4 minutes', now() - interval '4 minutes'),
    ('00000000-0000-4000-a000-100300000005', 'pots', 'j30_opening_job', 'healthy', 48,
     '{"last_run_at": "08:00", "pots_opened_last_run": 0}', null, now() - interval '1 minute', now() - interval '1 minute'),
    ('00000000-0000-4000-a000-100300000006', 'qr', 'database', 'healthy', 4,
     '{"pool_size": 10, "idle": 9}', null, now() - interval '1 minute', now() - interval '1 minute')
on conflict do nothing;

insert into admin.admin_sessions
    (id, user_id, session_token_hash, ip_address, user_agent, admin_level, permissions_granted,
     created_at, last_activity_at, expires_at, terminated_at, termination_reason, is_suspicious, security_flags)
values
    -- Ndeye is in the back office right now.
    ('00000000-0000-4000-a000-100400000001', '00000000-0000-4000-a000-010100000012',
     encode(sha256(convert_to('demo-admin-session-ndeye', 'UTF8')), 'hex'), '196.207.230.14',
     'Mozilla/5.0 (Windows NT 10.0) Chrome/126', 'super',
     array['users:write', 'partners:write', 'refunds:write', 'flags:write', 'config:write'],
     now() - interval '30 minutes', now() - interval '2 minutes', now() + interval '8 hours', null, null, false, null),
    ('00000000-0000-4000-a000-100400000002', '00000000-0000-4000-a000-010100000011',
     encode(sha256(convert_to('demo-admin-session-abdoulaye', 'UTF8')), 'hex'), '196.207.230.20',
     'Mozilla/5.0 (Windows NT 10.0) Chrome/126', 'regular',
     array['users:read', 'partners:write', 'refunds:write'],
     current_date - 1 + time '09:00', current_date - 1 + time '16:38', current_date - 1 + time '17:00',
     current_date - 1 + time '16:40', 'logout', false, null),
    -- A login from an unusual country was flagged and revoked.
    ('00000000-0000-4000-a000-100400000003', '00000000-0000-4000-a000-010100000011',
     encode(sha256(convert_to('demo-admin-session-suspicious', 'UTF8')), 'hex'), '185.220.101.4',
     'Mozilla/5.0 (X11; Linux x86_64) Firefox/115', 'regular',
     array['users:read'],
     current_date - 10 + time '03:12', current_date - 10 + time '03:13', current_date - 10 + time '11:12',
     current_date - 10 + time '03:20', 'revoked', true, '{"reason": "new_country", "country": "NL", "hour_local": "03:12"}'),
    ('00000000-0000-4000-a000-100400000004', '00000000-0000-4000-a000-010100000013',
     encode(sha256(convert_to('demo-admin-session-pape', 'UTF8')), 'hex'), '41.82.200.9',
     'WOLO Partenaires/2.0 (Android 12)', 'partner',
     array['qr:scan', 'settlements:read'],
     current_date - 1 + time '11:00', current_date - 1 + time '12:30', current_date - 1 + time '23:00',
     current_date - 1 + time '23:00', 'timeout', false, null)
on conflict do nothing;
