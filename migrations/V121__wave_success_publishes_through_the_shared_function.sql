-- V121: a Wave delivery that confirms a donation appends its events through
-- donations.publish_succeeded (V119), as PayDunya's confirmation does: one definition of what
-- a succeeded donation publishes (`donation.succeeded`, the owner's `donation_received`, and
-- for a USSD or SMS donor the SMS receipt), where V114 and V119 each wrote their own.
-- apply_wave_event is otherwise V114's, unchanged (its rules and outcomes are held by the
-- same tests).

create or replace function donations.apply_wave_event(p_event jsonb)
returns text
language plpgsql
set search_path = ''
as $$
declare
    v_id text := p_event ->> 'id';
    v_kind text := p_event ->> 'type';
    v_data jsonb := coalesce(p_event -> 'data', 'null'::jsonb);
    v_row uuid;
    v_ref uuid;
    d record;
    v_found boolean := false;
    v_donation uuid;
    v_error text;
    v_outcome text;
    v_tx text;
    v_other uuid;
    v_confirmed timestamptz;
begin
    if v_kind in ('checkout.session.completed', 'checkout.session.payment_failed') then
        -- The donation, locked first (twins of one delivery wait here for each other, then
        -- the second finds the first's event row): by client_reference (the donation id),
        -- else by the stored session id.
        -- (A client_reference that is no uuid is not one of ours: no lookup, no cast error.)
        if jsonb_typeof(v_data -> 'client_reference') = 'string'
           and (v_data ->> 'client_reference') ~*
               '^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$' then
            v_ref := (v_data ->> 'client_reference')::uuid;
            select id, pot_id, status, amount_cfa, wave_session_id, donor_user_id, donor_phone,
                   donor_name, coalesce(is_anonymous, true) as is_anonymous
              into d
              from donations.donations where id = v_ref for update;
            v_found := found;
        end if;
        if not v_found and jsonb_typeof(v_data -> 'id') = 'string' then
            select id, pot_id, status, amount_cfa, wave_session_id, donor_user_id, donor_phone,
                   donor_name, coalesce(is_anonymous, true) as is_anonymous
              into d
              from donations.donations where wave_session_id = v_data ->> 'id' for update;
            v_found := found;
        end if;
        if v_found then
            v_donation := d.id;
        end if;
    end if;

    -- Stored once, under Wave's event id, already marked processed (now() is the
    -- transaction's time either way): one row written, updated only to record an error.
    insert into donations.wave_webhook_events
        (wave_event_id, event_type, raw_payload, processed_at, donation_id)
    values (v_id, left(v_kind, 50), p_event, now(), v_donation)
    on conflict (wave_event_id) do nothing
    returning id into v_row;
    if v_row is null then
        update donations.wave_webhook_events
           set retry_count = coalesce(retry_count, 0) + 1
         where wave_event_id = v_id;
        return 'duplicate';
    end if;

    if v_kind in ('checkout.session.completed', 'checkout.session.payment_failed') then
        if not v_found then
            v_outcome := 'error';
            v_error := 'unknown donation (client_reference and session id match none)';
        else
            -- Only the donation's own session applies.
            if d.wave_session_id is null then
                v_error := 'session mismatch: the donation has no Wave session';
            elsif v_data -> 'id' is distinct from to_jsonb(d.wave_session_id) then
                v_error := format('session mismatch: Wave session %s, donation''s session %s',
                                  donations.wave_preview(v_data -> 'id'), d.wave_session_id);
            end if;
        end if;
    end if;

    if v_kind = 'checkout.session.completed' and v_found then
        if v_data -> 'payment_status' is distinct from '"succeeded"'::jsonb then
            v_error := format('completed event with payment_status %s',
                              donations.wave_preview(v_data -> 'payment_status'));
        elsif v_data -> 'currency' is distinct from '"XOF"'::jsonb
              or v_data -> 'amount' is distinct from to_jsonb(d.amount_cfa::text) then
            v_error := format('amount mismatch: Wave %s %s, donation %s XOF',
                              donations.wave_preview(v_data -> 'amount'),
                              donations.wave_preview(v_data -> 'currency'), d.amount_cfa);
        elsif v_error is not null then
            if d.status = 'succeeded' then
                v_error := v_error || '; second paid session for a succeeded donation: refund it';
            end if;
        elsif coalesce(v_data -> 'transaction_id', 'null'::jsonb) <> 'null'::jsonb
              and (jsonb_typeof(v_data -> 'transaction_id') <> 'string'
                   or char_length(v_data ->> 'transaction_id') not between 1 and 100) then
            v_error := format('transaction_id must be a string of 1 to 100 characters (got %s)',
                              donations.wave_preview(v_data -> 'transaction_id'));
        else
            v_tx := v_data ->> 'transaction_id';
            if v_tx is not null then
                select id into v_other from donations.donations
                 where wave_transaction_id = v_tx and id <> d.id;
                if v_other is not null then
                    v_error := format('transaction %s already confirmed donation %s', v_tx, v_other);
                end if;
            end if;
        end if;
        if v_error is not null then
            v_outcome := 'error';
        else
            update donations.donations
               set status = 'succeeded', wave_transaction_id = v_tx, confirmed_at = now(),
                   wave_notified_at = now(), wave_webhook_data = v_data, failure_reason = null,
                   failed_at = null
             where id = d.id and status in ('pending', 'processing', 'failed')
            returning confirmed_at into v_confirmed;
            if v_confirmed is null then
                v_outcome := 'ignored';
                v_error := format('ignored: donation already %s', coalesce(d.status, ''));
            else
                v_outcome := 'applied';
                -- donation.succeeded and the owner's donation_received: the events of every
                -- provider's success (V119).
                perform donations.publish_succeeded(d.id);
            end if;
        end if;
    elsif v_kind = 'checkout.session.payment_failed' and v_found then
        if v_error is not null then
            v_outcome := 'error';
        else
            update donations.donations
               set payment_attempts_failed = payment_attempts_failed + 1,
                   last_payment_error = v_data -> 'last_payment_error', wave_notified_at = now()
             where id = d.id and status in ('pending', 'processing', 'failed');
            if found then
                v_outcome := 'applied';
            else
                v_outcome := 'ignored';
                v_error := format('ignored: late payment failure: donation already %s',
                                  coalesce(d.status, ''));
            end if;
        end if;
    elsif v_kind = 'test.test_event' then
        v_outcome := 'ignored';
        v_error := 'ignored: test event';
    elsif v_outcome is null then
        v_outcome := 'error';
        v_error := format('unsupported event type %s', v_kind);
    end if;

    if v_error is not null then
        update donations.wave_webhook_events set processing_error = v_error where id = v_row;
    end if;
    return v_outcome;
end;
$$;
