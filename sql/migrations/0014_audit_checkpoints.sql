-- Signed checkpoints of the audit chain's head (hub/checkpoints.py): append-only, like hub.audit_log.
--
-- A checkpoint says "entry <entry_id>, the <entry_count>th entry of the chain, has hash <entry_hash>",
-- signed with the hub's Ed25519 key (HUB_AUDIT_SIGNING_KEY, a file: never in the database) at <signed_at>.
-- seq numbers the checkpoints (the signer holds an advisory lock and takes the next number); signature is
-- the base64 Ed25519 signature of the checkpoint's message (hub/checkpoints.py), key_id the SHA-256 of the
-- public key (DER).
-- The signer also appends each checkpoint to an export file kept elsewhere: `hub audit verify
-- --checkpoints FILE` checks that the chain still extends every exported head.
-- No foreign key to hub.audit_log: a checkpoint must outlive any tampering with the entries it covers.

create table hub.audit_checkpoints (
    seq bigint primary key check (seq >= 1),
    entry_id bigint not null,
    entry_hash text not null check (entry_hash ~ '^[0-9a-f]{64}$'),
    entry_count bigint not null check (entry_count >= 1),
    signed_at timestamptz not null,
    key_id text not null check (key_id ~ '^[0-9a-f]{64}$'),
    signature text not null
);

comment on table hub.audit_checkpoints is
    'Append-only signed heads of hub.audit_log (Ed25519); verify with `hub audit verify --checkpoints FILE`.';

create function hub.audit_checkpoints_refuse() returns trigger
language plpgsql as $$
begin
  raise exception 'hub.audit_checkpoints is append-only'
    using errcode = '2F003', hint = 'signed checkpoints cannot be updated, deleted or truncated';
end
$$;

create trigger audit_checkpoints_no_update before update on hub.audit_checkpoints
  for each row execute function hub.audit_checkpoints_refuse();
create trigger audit_checkpoints_no_delete before delete on hub.audit_checkpoints
  for each row execute function hub.audit_checkpoints_refuse();
create trigger audit_checkpoints_no_truncate before truncate on hub.audit_checkpoints
  for each statement execute function hub.audit_checkpoints_refuse();
