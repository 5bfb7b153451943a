-- V62: pots service — admin writes to pots and invitations are audited
-- (wolo.audit_row_change, V55): an admin editing or closing a pot through the
-- REST layer or the pots endpoints leaves an admin.audit_logs row with the old
-- and new values. The invitee's address is redacted in the log.

create trigger audit_row_change
    after insert or update or delete on pots.pots
    for each row execute function wolo.audit_row_change();

create trigger audit_row_change
    after insert or update or delete on pots.pot_invitations
    for each row execute function wolo.audit_row_change('recipient_identifier');
