-- V11: cross-schema links that could not be declared when their table was
-- created, because the referenced table belongs to a later migration.
--
-- Owns no tables. Beyond the spec (which only mentions these references in
-- comments), each is documented in docs/schema.md:
--   pots.pots.preferred_pack_id            -> packs.packs(id)  on delete set null
--   referral.points_conversions.applied_to_pot_id -> pots.pots(id) on delete set null
-- (packs.packs.partner_id -> packs.partners(id) is declared in V6.)
--
-- Constraint names follow PostgreSQL's own <table>_<column>_fkey convention,
-- i.e. the name an inline "references" would have produced.

-- A pot keeps existing when its preferred pack is deleted; it just has no
-- preference any more.
alter table pots.pots
    add constraint pots_preferred_pack_id_fkey
    foreign key (preferred_pack_id) references packs.packs(id) on delete set null;

-- The conversion (a points ledger fact) outlives the pot it was applied to.
alter table referral.points_conversions
    add constraint points_conversions_applied_to_pot_id_fkey
    foreign key (applied_to_pot_id) references pots.pots(id) on delete set null;

-- Indexes backing the two foreign keys: "conversions applied to this pot" and
-- the ON DELETE SET NULL scans when a pack or pot is deleted.
create index idx_pots_preferred_pack_id on pots.pots(preferred_pack_id) where preferred_pack_id is not null;
create index idx_points_conversions_applied_to_pot_id on referral.points_conversions(applied_to_pot_id) where applied_to_pot_id is not null;
