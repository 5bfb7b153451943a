-- V106: notifications.receipt_replays (V105) under the same rules as every other table of
-- the service schemas: row-level security on, and admins read it (the back office can see
-- which receipt requests were accepted); nobody else, through the REST layer, reads or
-- writes it. The notifications service writes it as its own login (V102).
-- Depends on V31, V105.

alter table notifications.receipt_replays enable row level security;

grant select on notifications.receipt_replays to wolo_admin;

create policy admin_select on notifications.receipt_replays
    for select to wolo_admin using (wolo.is_admin());
