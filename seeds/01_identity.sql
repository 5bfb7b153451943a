-- Demo data: identity (users, sessions, password reset tokens).
--
-- Demo data only, never for production. `wolo seed` runs every seeds/*.sql
-- file in name order inside one transaction; each file can also be run again:
-- fixed ids + "on conflict do nothing" make a second run a no-op.
-- Dates are relative to the day the seeds run (Africa/Dakar), so the demo
-- always looks current. See seeds/README.md for who is who.
--
-- Id scheme: 00000000-0000-4000-a000-TTTT000000NN, TTTT = table code
-- (0101 = identity.users), NN = row number. Users are referenced by these ids
-- in every later file.

set local timezone to 'Africa/Dakar';

insert into identity.users
    (id, phone, email, auth_provider, roles, is_active, created_at, updated_at, last_login_at)
values
    -- 01 Awa Ndiaye: the most active sponsor (Dakar)
    ('00000000-0000-4000-a000-010100000001', '+221771234567', 'awa.ndiaye@example.com', 'phone',
     array['user'], true, now() - interval '200 days', now() - interval '200 days', now() - interval '2 hours'),
    -- 02 Moussa Diop: owner of the OPEN pot, invited by Awa (Dakar)
    ('00000000-0000-4000-a000-010100000002', '+221781234568', null, 'phone',
     array['user'], true, now() - interval '45 days', now() - interval '45 days', now() - interval '1 hour'),
    -- 03 Fatou Sow: owner of the FUNDED pot (Thiès)
    ('00000000-0000-4000-a000-010100000003', '+221761234569', 'fatou.sow@example.com', 'phone',
     array['user'], true, now() - interval '150 days', now() - interval '150 days', now() - interval '1 day'),
    -- 04 Cheikh Fall: owner of the CLOSED pot, speaks Wolof (Saint-Louis)
    ('00000000-0000-4000-a000-010100000004', '+221701234570', null, 'phone',
     array['user'], true, now() - interval '120 days', now() - interval '120 days', now() - interval '5 days'),
    -- 05 Aminata Ba: owner of the EXPIRED pot, invited by Awa (Ziguinchor)
    ('00000000-0000-4000-a000-010100000005', '+221771112233', 'aminata.ba@example.com', 'phone',
     array['user'], true, now() - interval '80 days', now() - interval '80 days', now() - interval '10 days'),
    -- 06 Ibrahima Sarr: parent and guardian of Mariama, sponsor (Dakar)
    ('00000000-0000-4000-a000-010100000006', '+221772223344', 'ibrahima.sarr@example.com', 'phone',
     array['user'], true, now() - interval '180 days', now() - interval '180 days', now() - interval '3 days'),
    -- 07 Mariama Sarr: MINOR (15), owner of the SCHEDULED pot (Dakar)
    ('00000000-0000-4000-a000-010100000007', '+221763334455', null, 'phone',
     array['user'], true, now() - interval '60 days', now() - interval '60 days', now() - interval '6 days'),
    -- 08 Ousmane Gueye: signed up with Google, e-mail only, English (lives abroad)
    ('00000000-0000-4000-a000-010100000008', null, 'ousmane.gueye@example.com', 'google',
     array['user'], true, now() - interval '30 days', now() - interval '30 days', now() - interval '15 minutes'),
    -- 09 Khady Diallo: second sponsor, generous donor (Thiès)
    ('00000000-0000-4000-a000-010100000009', '+221784445566', 'khady.diallo@example.com', 'phone',
     array['user'], true, now() - interval '160 days', now() - interval '160 days', now() - interval '2 days'),
    -- 10 Seynabou Kane: joined 3 days ago through Khady (Saint-Louis)
    ('00000000-0000-4000-a000-010100000010', '+221705556677', null, 'phone',
     array['user'], true, now() - interval '3 days', now() - interval '3 days', now() - interval '3 days'),
    -- 11 Abdoulaye Mbaye: WOLO operations, admin
    ('00000000-0000-4000-a000-010100000011', '+221776667788', 'abdoulaye.mbaye@example.org', 'phone',
     array['user', 'admin'], true, now() - interval '365 days', now() - interval '365 days', now() - interval '1 day'),
    -- 12 Ndeye Faye: WOLO super admin
    ('00000000-0000-4000-a000-010100000012', '+221777778899', 'ndeye.faye@example.org', 'phone',
     array['user', 'admin', 'super_admin'], true, now() - interval '365 days', now() - interval '365 days', now() - interval '30 minutes'),
    -- 13 Pape Seck: partner staff at CinéTeranga (scans QR codes)
    ('00000000-0000-4000-a000-010100000013', '+221708889900', 'pape.seck@example.com', 'phone',
     array['partner'], true, now() - interval '100 days', now() - interval '100 days', now() - interval '1 day'),
    -- 14 Rokhaya Thiam: partner staff at Keur Bien-Être Spa
    ('00000000-0000-4000-a000-010100000014', '+221789990011', 'rokhaya.thiam@example.com', 'phone',
     array['partner'], true, now() - interval '100 days', now() - interval '100 days', now() - interval '4 days')
on conflict do nothing;

-- Sessions: token_hash is the SHA-256 of a throwaway demo string, never a
-- usable token.
insert into identity.user_sessions
    (id, user_id, token_hash, device_info, ip_address, expires_at, created_at, is_revoked)
values
    ('00000000-0000-4000-a000-010200000001', '00000000-0000-4000-a000-010100000001',
     encode(sha256(convert_to('demo-session-awa-android', 'UTF8')), 'hex'),
     '{"platform": "mobile_app", "os": "Android 14", "model": "Tecno Camon 20"}',
     '41.82.10.21', now() + interval '28 days', now() - interval '2 hours', false),
    ('00000000-0000-4000-a000-010200000002', '00000000-0000-4000-a000-010100000002',
     encode(sha256(convert_to('demo-session-moussa-android', 'UTF8')), 'hex'),
     '{"platform": "mobile_app", "os": "Android 13", "model": "Samsung Galaxy A14"}',
     '41.83.122.7', now() + interval '29 days', now() - interval '1 hour', false),
    ('00000000-0000-4000-a000-010200000003', '00000000-0000-4000-a000-010100000008',
     encode(sha256(convert_to('demo-session-ousmane-web', 'UTF8')), 'hex'),
     '{"platform": "web", "os": "macOS", "browser": "Safari 17"}',
     '90.12.45.200', now() + interval '7 days', now() - interval '15 minutes', false),
    -- Fatou logged out of an old phone: revoked session.
    ('00000000-0000-4000-a000-010200000004', '00000000-0000-4000-a000-010100000003',
     encode(sha256(convert_to('demo-session-fatou-old-phone', 'UTF8')), 'hex'),
     '{"platform": "mobile_app", "os": "Android 11", "model": "Itel A58"}',
     '154.124.66.3', now() + interval '3 days', now() - interval '27 days', true),
    ('00000000-0000-4000-a000-010200000005', '00000000-0000-4000-a000-010100000012',
     encode(sha256(convert_to('demo-session-ndeye-web', 'UTF8')), 'hex'),
     '{"platform": "web", "os": "Windows 11", "browser": "Chrome 126"}',
     '196.207.230.14', now() + interval '8 hours', now() - interval '30 minutes', false),
    ('00000000-0000-4000-a000-010200000006', '00000000-0000-4000-a000-010100000013',
     encode(sha256(convert_to('demo-session-pape-scanner', 'UTF8')), 'hex'),
     '{"platform": "mobile_app", "os": "Android 12", "app": "WOLO Partenaires"}',
     '41.82.200.9', now() + interval '20 days', now() - interval '1 day', false)
on conflict do nothing;

insert into identity.password_reset_tokens
    (id, user_id, token_hash, expires_at, used_at, created_at)
values
    -- Fatou reset her password two months ago (used).
    ('00000000-0000-4000-a000-010300000001', '00000000-0000-4000-a000-010100000003',
     encode(sha256(convert_to('demo-reset-fatou', 'UTF8')), 'hex'),
     now() - interval '60 days' + interval '30 minutes', now() - interval '60 days' + interval '4 minutes',
     now() - interval '60 days'),
    -- Ousmane asked for a reset a moment ago (still valid, not used).
    ('00000000-0000-4000-a000-010300000002', '00000000-0000-4000-a000-010100000008',
     encode(sha256(convert_to('demo-reset-ousmane', 'UTF8')), 'hex'),
     now() + interval '25 minutes', null, now() - interval '5 minutes')
on conflict do nothing;
