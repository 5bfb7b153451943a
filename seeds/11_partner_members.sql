-- Partner staff memberships (packs.partner_members, added by V30): the demo partner
-- users sign in with partner tokens and see their own partner's data.
set local timezone to 'Africa/Dakar';

insert into packs.partner_members (partner_id, user_id, role) values
    -- Pape Seck, staff at CinéTeranga (scanned Cheikh's QR code)
    ('00000000-0000-4000-a000-060100000001', '00000000-0000-4000-a000-010100000013', 'staff'),
    -- Rokhaya Thiam, manager of Keur Bien-Être Spa
    ('00000000-0000-4000-a000-060100000003', '00000000-0000-4000-a000-010100000014', 'manager')
on conflict do nothing;
