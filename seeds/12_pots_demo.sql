-- Pots totals (V60/V61): the demo pots' raised_amount_cfa and donor_count, and the
-- pots service's donation ledger (pots.pot_donation_credits), as the donations
-- consumer would have kept them from the seeded donations (06_donations).
-- Idempotent: ledger rows keyed by donation id; totals only written when they differ.
set local timezone to 'Africa/Dakar';

insert into pots.pot_donation_credits (donation_id, pot_id, amount_cfa, credited_at, refunded_at, pot_status_at_credit)
select d.id, d.pot_id, d.amount_cfa, coalesce(d.confirmed_at, d.created_at, now()),
       case when d.status = 'refunded' then coalesce(d.refunded_at, now()) end,
       'open'
from donations.donations d
where d.pot_id::text like '00000000-0000-4000-a000-0401%'
  and (d.status = 'succeeded' or (d.status = 'refunded' and d.confirmed_at is not null))
on conflict do nothing;

update pots.pots p
set raised_amount_cfa = t.raised, donor_count = t.donors
from (select pp.id,
             coalesce(sum(c.amount_cfa) filter (where c.refunded_at is null), 0)::integer as raised,
             count(c.donation_id) filter (where c.refunded_at is null)::integer as donors
      from pots.pots pp
      left join pots.pot_donation_credits c on c.pot_id = pp.id
      where pp.id::text like '00000000-0000-4000-a000-0401%'
      group by pp.id) t
where p.id = t.id
  and (p.raised_amount_cfa is distinct from t.raised or p.donor_count is distinct from t.donors);
