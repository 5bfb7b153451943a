-- V116: `donations.set_public_donor_name` runs only when what it derives from is written
-- (issue #16).
--
-- The trigger fired on every UPDATE of a donation, and a Wave webhook's update (status,
-- transaction id, confirmation time) paid it each time: 48 µs of a 215 µs update, measured
-- with EXPLAIN ANALYZE on 200 confirmations (docs/benchmarks.md). `public_donor_name` derives
-- from `is_anonymous`, `donor_name` and the pot's `show_donor_names`; the pot's switch reaches
-- the donations through `pots.propagate_show_donor_names`, which writes `public_donor_name`,
-- and a write of `public_donor_name` itself (by anyone) is recomputed as before. `pot_id`
-- stays in the list: a donation moved to another pot follows that pot's switch.
drop trigger set_public_donor_name on donations.donations;
create trigger set_public_donor_name
    before insert or update of is_anonymous, donor_name, pot_id, public_donor_name
    on donations.donations
    for each row execute function donations.set_public_donor_name();

comment on function donations.set_public_donor_name() is
    'BEFORE INSERT or UPDATE OF is_anonymous, donor_name, pot_id, public_donor_name row trigger (V116): public_donor_name := donor_name unless the donation is anonymous or its pot hides donor names (show_donor_names false).';
