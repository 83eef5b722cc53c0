/**
 * The PostgreSQL functions the store calls (`postgres_store.ts`), each defined once, here.
 * `migratePostgres` (`schema.ts`) runs {@linkcode PG_FUNCTIONS_SQL} on every start, after the
 * schema migrations, in the same transaction under the same advisory lock: so the body below
 * is the one a database runs, whatever version it was created at, and servers starting
 * together take turns replacing it.
 *
 * Rules for changing this file:
 * - `CREATE OR REPLACE` keeps a function's OID and grants (what refers to it stays valid), but
 *   cannot change its argument types, argument names or result columns. To change those, add
 *   a `DROP FUNCTION IF EXISTS` of the old signature to `_OBSOLETE` and create the new one.
 * - Tables, columns, indexes and data belong in a new migration in `schema.ts`; a function that
 *   needs a new column ships with the migration that adds it (both run in one transaction).
 * - The last server to start installs its functions. When a change must not be undone by an
 *   older server restarting, bump the schema version (an empty migration documenting why):
 *   older servers then refuse the database instead of installing their bodies.
 *
 * @module
 */

import { PG_LOCKS } from "./locks.ts";

/**
 * Functions earlier schema versions created that no code calls any more, by signature: the
 * two-argument `fastchat_save_messages` and one-argument `fastchat_settle` (versions 1 to 3)
 * and `fastchat_pending_ended` (version 4 on; `fastchat_ack` does its work inline since 6).
 */
const _OBSOLETE = `
DROP FUNCTION IF EXISTS fastchat_save_messages(jsonb, bigint);
DROP FUNCTION IF EXISTS fastchat_settle(integer);
DROP FUNCTION IF EXISTS fastchat_pending_ended(bigint[], bigint[]);
`;

/**
 * Every live function, each once, with `CREATE OR REPLACE`.
 *
 * Settings the hot functions carry, and why:
 * - `enable_seqscan = off`: every lookup in them is by key. plpgsql caches its plans, and one
 *   made while a new table was small scans it whole; without sequential scans the cached plan
 *   stays an index lookup.
 * - `plan_cache_mode = force_generic_plan`: with `auto`, PostgreSQL kept re-planning most
 *   statements on every call (the disabled sequential scans made the generic plan look worse
 *   than a custom one), some 0.03-0.09 ms of planning each, about half of what an
 *   acknowledgement cost. Every lookup is by key, so the generic plan is the index lookup a
 *   custom plan would be.
 */
const _FUNCTIONS = `
-- Saves a batch of messages (a JSON array, see postgres_store.ts) in the calling statement's
-- transaction and returns one row per input, in order: its ID (0 when every recipient was
-- full), when it was accepted, whether it repeats one stored before, and its full recipients.
-- One statement, so a server that hangs between round trips never holds a transaction (or the
-- ID lock) open. Per message, a few plain steps: each statement is a key lookup or a write from
-- arrays, and the per-recipient arithmetic runs in PL/pgSQL variables. (Schema version 4 did it
-- in a single query of some 60 plan nodes, a dozen hash tables and sorts built for a row or
-- two: starting and ending it cost more than the work.)
CREATE OR REPLACE FUNCTION fastchat_save_messages(
  batch jsonb, now_ms bigint, max_messages bigint, max_bytes bigint)
RETURNS TABLE (msg_id bigint, msg_created_at bigint, is_duplicate boolean,
  full_recipients bigint[])
LANGUAGE plpgsql
SET enable_seqscan = off -- key lookups only; see the top of this file
SET plan_cache_mode = force_generic_plan -- likewise
AS $fn$
#variable_conflict use_column
DECLARE
  first_id bigint;
  tx_id xid8;
  n integer := jsonb_array_length(batch);
  stored integer := 0; -- new messages given an ID so far (they take the reserved IDs in order)
  -- The batch's recipients in user order, their index by ID (a JSON object, so a lookup does
  -- not grow with the batch), and per recipient: the totals before the batch, the batch's
  -- demand so far in input order (counting deliveries left out as full),
  -- and what the deliveries kept add.
  users bigint[];
  slot jsonb;
  tot_m bigint[];
  tot_b bigint[];
  dem_m bigint[];
  dem_b bigint[];
  add_m bigint[];
  add_b bigint[];
  nu integer;
  -- Per input: its position, the message or idempotency record stored before (else null),
  -- and the first input of the batch with the same (sender, client ID); for a new one, its
  -- ID (0: every recipient full) and its full recipients (as text: arrays of arrays must be
  -- rectangular).
  k integer;
  old_id bigint;
  old_at bigint;
  orig integer;
  res_id bigint[] := '{}';
  res_full text[] := '{}';
  -- The rows to write: messages, idempotency records, deliveries.
  nm integer := 0;
  m_id bigint[] := '{}';
  m_s bigint[] := '{}';
  m_c text[] := '{}';
  m_k text[] := '{}';
  m_g bigint[] := '{}';
  m_b text[] := '{}';
  m_r integer[] := '{}';
  nx integer := 0;
  x_s bigint[] := '{}';
  x_c text[] := '{}';
  x_id bigint[] := '{}';
  nd integer := 0;
  d_u bigint[] := '{}';
  d_m bigint[] := '{}';
  d_b text[] := '{}';
  d_n integer[] := '{}';
  -- The message and recipient at hand.
  msg jsonb;
  rs jsonb;
  nr integer;
  body text;
  id bigint;
  kept integer;
  full_ bigint[];
  rb text;
  u bigint;
  p integer;
  sz integer;
  tm bigint;
  tb bigint;
BEGIN
  -- IDs in transaction order: under a lock held for microseconds, this transaction takes
  -- its transaction ID and then a block of message IDs, so a transaction with a smaller
  -- transaction ID always has smaller message IDs. Readers return only messages whose
  -- transaction is older than every transaction still running; so when they return message
  -- X, every message with a smaller ID is already committed (or never will be). Commits
  -- themselves run in parallel. This comes before anything that writes, since a write would
  -- take the transaction ID outside the lock.
  PERFORM pg_advisory_lock(${PG_LOCKS.messageIds});
  BEGIN
    tx_id := pg_current_xact_id();
    first_id := nextval('message_ids');
    IF n > 1 THEN
      PERFORM setval('message_ids', first_id + n - 1);
    END IF;
  EXCEPTION WHEN query_canceled OR others THEN
    PERFORM pg_advisory_unlock(${PG_LOCKS.messageIds});
    RAISE;
  END;
  PERFORM pg_advisory_unlock(${PG_LOCKS.messageIds});

  -- Every recipient's total exists, then is locked and read in user order: concurrent
  -- batches to one recipient take turns, and the statements below (whose snapshots are taken
  -- after the locks) see every delivery counted in it. An unknown recipient fails here
  -- (foreign key).
  SELECT array_agg(DISTINCT (x->>'u')::bigint ORDER BY (x->>'u')::bigint) INTO users
  FROM jsonb_array_elements(batch) AS e, jsonb_array_elements(e->'r') AS x;
  IF users IS NOT NULL THEN
    INSERT INTO pending_totals (user_id) SELECT u FROM unnest(users) AS u ORDER BY u
      ON CONFLICT DO NOTHING;
    -- Rows are read in a loop here and below: aggregates cost more to set up than the loop.
    nu := 0;
    FOR u, tm, tb IN
      SELECT t.user_id, t.messages, t.bytes FROM pending_totals AS t
      WHERE t.user_id = ANY(users) ORDER BY t.user_id FOR UPDATE
    LOOP
      nu := nu + 1;
      tot_m[nu] := tm;
      tot_b[nu] := tb;
    END LOOP;
    -- Each row is one of users, so as many rows means the same users in the same order.
    IF nu <> cardinality(users) THEN
      RAISE EXCEPTION 'fastchat_save_messages: % pending totals locked for % recipients',
        nu, cardinality(users);
    END IF;
    SELECT jsonb_object_agg(g.u, g.i) INTO slot FROM unnest(users) WITH ORDINALITY AS g(u, i);
    dem_m := array_fill(0::bigint, ARRAY[cardinality(users)]);
    dem_b := dem_m;
    add_m := dem_m;
    add_b := dem_m;
  END IF;

  -- Stored before: a message row, or the idempotency record of one already gone.
  FOR k, old_id, old_at, orig IN
    SELECT s.ord, o.id, o.created_at, s.first
    FROM (
      SELECT t.ord, (t.e->>'s')::bigint AS s, t.e->>'c' AS c,
        CASE WHEN t.e->>'c' IS NULL THEN t.ord
          ELSE min(t.ord) OVER (PARTITION BY (t.e->>'s')::bigint, t.e->>'c') END AS first
      FROM jsonb_array_elements(batch) WITH ORDINALITY AS t(e, ord)
    ) AS s
    LEFT JOIN LATERAL (
      SELECT m.id, m.created_at FROM messages AS m
      WHERE m.sender_id = s.s AND m.client_msg_id = s.c
      UNION ALL
      SELECT x.msg_id, x.created_at FROM sent_ids AS x
      WHERE x.sender_id = s.s AND x.client_msg_id = s.c
      LIMIT 1
    ) AS o ON true
    ORDER BY s.ord
  LOOP
    IF old_id IS NOT NULL THEN
      msg_id := old_id;
      msg_created_at := old_at;
      is_duplicate := true;
      full_recipients := NULL;
    ELSIF orig < k THEN
      -- A repeat of an earlier input: its ID if that was stored, else what it returned.
      id := res_id[orig];
      msg_id := id;
      msg_created_at := CASE WHEN id = 0 THEN 0 ELSE now_ms END;
      is_duplicate := id <> 0;
      full_recipients := CASE WHEN id = 0 THEN res_full[orig]::bigint[] END;
    ELSE
      msg := batch -> (k - 1);
      rs := msg->'r';
      nr := jsonb_array_length(rs);
      body := msg->>'b';
      -- Taken only if the message is stored; deliveries are listed with it meanwhile (none
      -- are when it is not).
      id := first_id + stored;
      kept := 0;
      full_ := NULL;
      FOR j IN 0 .. nr - 1 LOOP
        rb := rs -> j ->> 'b';
        u := (rs -> j ->> 'u')::bigint;
        sz := octet_length(coalesce(rb, body));
        p := (slot ->> u::text)::integer;
        dem_m[p] := dem_m[p] + 1;
        dem_b[p] := dem_b[p] + sz;
        IF tot_m[p] + dem_m[p] > max_messages OR tot_b[p] + dem_b[p] > max_bytes THEN
          full_ := full_ || u;
        ELSE
          kept := kept + 1;
          nd := nd + 1;
          d_u[nd] := u;
          d_m[nd] := id;
          d_b[nd] := rb;
          d_n[nd] := sz;
          add_m[p] := add_m[p] + 1;
          add_b[p] := add_b[p] + sz;
        END IF;
      END LOOP;
      IF cardinality(full_) > 1 THEN
        full_ := ARRAY(SELECT f FROM unnest(full_) AS f ORDER BY f);
      END IF;
      -- Stored: with someone to deliver to, or with no recipient at all (refused ones, every
      -- recipient full, are not). A message nobody waits for keeps no row, only what a
      -- resend needs.
      IF kept > 0 OR nr = 0 THEN
        stored := stored + 1;
        IF kept > 0 THEN
          nm := nm + 1;
          m_id[nm] := id;
          m_s[nm] := (msg->>'s')::bigint;
          m_c[nm] := msg->>'c';
          m_k[nm] := msg->>'k';
          m_g[nm] := (msg->>'g')::bigint;
          m_b[nm] := body;
          m_r[nm] := kept;
        ELSIF msg->>'c' IS NOT NULL THEN
          nx := nx + 1;
          x_s[nx] := (msg->>'s')::bigint;
          x_c[nx] := msg->>'c';
          x_id[nx] := id;
        END IF;
      ELSE
        id := 0;
      END IF;
      res_id[k] := id;
      res_full[k] := full_::text;
      msg_id := id;
      msg_created_at := CASE WHEN id = 0 THEN 0 ELSE now_ms END;
      is_duplicate := false;
      full_recipients := full_;
    END IF;
    RETURN NEXT;
  END LOOP;

  IF nm > 0 THEN
    INSERT INTO messages
      (id, sender_id, client_msg_id, kind, group_id, body, created_at, remaining, tx)
    SELECT a.id, a.s, a.c, a.k, a.g, a.b, now_ms, a.r, tx_id
    FROM unnest(m_id, m_s, m_c, m_k, m_g, m_b, m_r) AS a(id, s, c, k, g, b, r);
  END IF;
  IF nx > 0 THEN
    INSERT INTO sent_ids (sender_id, client_msg_id, msg_id, created_at)
    SELECT a.s, a.c, a.id, now_ms FROM unnest(x_s, x_c, x_id) AS a(s, c, id);
  END IF;
  IF nd > 0 THEN
    INSERT INTO deliveries (recipient_id, message_id, body, bytes)
    SELECT a.u, a.m, a.b, a.n FROM unnest(d_u, d_m, d_b, d_n) AS a(u, m, b, n);
    -- The rows are locked already; the index lookup by ANY keeps the generic plan a key
    -- lookup whatever the table's size.
    UPDATE pending_totals AS t
    SET messages = t.messages + add_m[(slot ->> t.user_id::text)::integer],
      bytes = t.bytes + add_b[(slot ->> t.user_id::text)::integer],
      oldest_at = coalesce(t.oldest_at, now_ms)
    WHERE t.user_id = ANY(ARRAY(
      SELECT g.u FROM unnest(users, add_m) AS g(u, k) WHERE g.k > 0));
  END IF;
END
$fn$;

-- Acknowledgements only delete deliveries (no message row is touched, so acks of one group
-- message never wait for each other); they queue one row per delivery they removed, and
-- fastchat_settle counts them off each message's "remaining" and deletes the messages that
-- have none left. The recipients' totals are updated here, inline: calling a function from a
-- function costs more than the statements themselves.
CREATE OR REPLACE FUNCTION fastchat_ack(recipients bigint[], ids bigint[])
RETURNS TABLE (recipient_id bigint, id bigint, sender_id bigint, client_msg_id text)
LANGUAGE plpgsql
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
DECLARE
  gone_u bigint[];
  gone_m bigint[];
  gone_b bigint[];
BEGIN
  -- An acknowledgement lost in a crash only means the message is delivered again (clients
  -- drop repeats by ID), so its commit need not wait for the disk.
  PERFORM set_config('synchronous_commit', 'off', true);
  WITH d AS (
    DELETE FROM deliveries AS x USING unnest(recipients, ids) AS r(u, m)
    WHERE x.recipient_id = r.u AND x.message_id = r.m
    RETURNING x.recipient_id, x.message_id, x.bytes
  ),
  q AS (INSERT INTO settle_queue (message_id) SELECT d.message_id FROM d)
  SELECT array_agg(d.recipient_id), array_agg(d.message_id), array_agg(d.bytes::bigint)
  INTO gone_u, gone_m, gone_b FROM d;
  IF gone_u IS NULL THEN
    RETURN;
  END IF;
  -- The recipients' totals lose what ended, locked in user order as saving locks them.
  PERFORM 1 FROM pending_totals AS t WHERE t.user_id = ANY(gone_u) ORDER BY t.user_id
    FOR UPDATE;
  UPDATE pending_totals AS t
  SET messages = t.messages - a.k, bytes = t.bytes - a.b,
    oldest_at = CASE WHEN t.messages <= a.k THEN NULL ELSE t.oldest_at END
  FROM (
    SELECT g.u, count(*) AS k, sum(g.b) AS b FROM unnest(gone_u, gone_b) AS g(u, b)
    GROUP BY g.u
  ) AS a
  WHERE t.user_id = a.u;
  -- The message rows are still there: settle deletes one only after counting off this
  -- transaction's queue rows, which it cannot see before the commit.
  RETURN QUERY
  SELECT g.u, m.id, m.sender_id, m.client_msg_id
  FROM unnest(gone_u, gone_m) AS g(u, mid) JOIN messages AS m ON m.id = g.mid
  ORDER BY 1, 2;
END
$fn$;

-- Counts ended deliveries off their messages and deletes the rows of those with none left
-- (keeping what idempotency needs), then forgets old idempotency records, run-out rate
-- limits and expired link slots. One caller at a time in the whole cluster (the others
-- return 0 at once), so nothing else ever updates a message row. Returns how many message rows it deleted.
CREATE OR REPLACE FUNCTION fastchat_settle(max_rows integer, now_ms bigint, keep_ids_ms bigint)
RETURNS integer
LANGUAGE plpgsql
SET enable_seqscan = off
AS $fn$
DECLARE
  n integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(${PG_LOCKS.settle}) THEN
    RETURN 0;
  END IF;
  -- Lost in a crash, this work is simply done again (the queue rows come back with it).
  PERFORM set_config('synchronous_commit', 'off', true);
  WITH q AS (
    DELETE FROM settle_queue
    WHERE ctid = ANY(ARRAY(SELECT ctid FROM settle_queue LIMIT max_rows))
    RETURNING message_id
  ),
  settled AS (SELECT q.message_id, count(*) AS k FROM q GROUP BY q.message_id),
  c AS (
    SELECT m.id, m.sender_id, m.client_msg_id, m.created_at, m.remaining - settled.k AS left_
    FROM settled JOIN messages AS m ON m.id = settled.message_id
  ),
  counted AS (
    UPDATE messages AS m SET remaining = c.left_ FROM c WHERE m.id = c.id AND c.left_ > 0
  ),
  kept AS (
    INSERT INTO sent_ids (sender_id, client_msg_id, msg_id, created_at)
    SELECT c.sender_id, c.client_msg_id, c.id, c.created_at FROM c
    WHERE c.left_ <= 0 AND c.client_msg_id IS NOT NULL
    ON CONFLICT DO NOTHING
  ),
  del AS (
    DELETE FROM messages AS m USING c WHERE m.id = c.id AND c.left_ <= 0 RETURNING 1
  )
  SELECT count(*) INTO n FROM del;
  DELETE FROM sent_ids AS x WHERE (x.sender_id, x.client_msg_id) IN (
    SELECT y.sender_id, y.client_msg_id FROM sent_ids AS y
    WHERE y.created_at < now_ms - keep_ids_ms ORDER BY y.created_at LIMIT max_rows);
  -- The condition is repeated outside the subquery: a bucket taken from meanwhile is
  -- re-checked on its new version and kept.
  DELETE FROM rate_limits AS r WHERE r.tat <= now_ms AND r.key IN (
    SELECT l.key FROM rate_limits AS l WHERE l.tat <= now_ms ORDER BY l.tat LIMIT max_rows);
  -- Expired link slots, with their steps (ON DELETE CASCADE); likewise re-checked, so a slot
  -- opened again meanwhile under the same name stays.
  DELETE FROM link_slots AS s WHERE s.expires_at <= now_ms AND s.slot IN (
    SELECT l.slot FROM link_slots AS l WHERE l.expires_at <= now_ms
    ORDER BY l.expires_at LIMIT max_rows);
  RETURN n;
END
$fn$;

-- Drops the deliveries of messages accepted before before_ms, for the recipients whose hint
-- says they have some, at most max_rows; their messages are counted off by settle. One caller
-- at a time in the cluster. Returns how many it dropped.
CREATE OR REPLACE FUNCTION fastchat_expire(before_ms bigint, max_rows integer)
RETURNS integer
LANGUAGE plpgsql
SET enable_seqscan = off
AS $fn$
DECLARE
  cands bigint[];
  gone_u bigint[];
  gone_b bigint[];
BEGIN
  IF NOT pg_try_advisory_xact_lock(${PG_LOCKS.expire}) THEN
    RETURN 0;
  END IF;
  SELECT array_agg(c.user_id ORDER BY c.user_id) INTO cands FROM (
    SELECT t.user_id FROM pending_totals AS t WHERE t.oldest_at < before_ms
    ORDER BY t.oldest_at LIMIT max_rows
  ) AS c;
  IF cands IS NULL THEN
    RETURN 0;
  END IF;
  WITH doomed AS (
    SELECT d.recipient_id, d.message_id
    FROM deliveries AS d JOIN messages AS m ON m.id = d.message_id
    WHERE d.recipient_id = ANY(cands) AND m.created_at < before_ms
    ORDER BY d.recipient_id, d.message_id LIMIT max_rows
  ),
  gone AS (
    DELETE FROM deliveries AS x USING doomed
    WHERE x.recipient_id = doomed.recipient_id AND x.message_id = doomed.message_id
    RETURNING x.recipient_id, x.message_id, x.bytes
  ),
  q AS (INSERT INTO settle_queue (message_id) SELECT gone.message_id FROM gone)
  SELECT array_agg(gone.recipient_id), array_agg(gone.bytes::bigint) INTO gone_u, gone_b
  FROM gone;
  -- The candidates' totals, locked in user order, lose what was dropped, and each hint
  -- becomes the acceptance time of the oldest delivery left (or null).
  PERFORM 1 FROM pending_totals AS t WHERE t.user_id = ANY(cands) ORDER BY t.user_id
    FOR UPDATE;
  UPDATE pending_totals AS t
  SET messages = t.messages - coalesce(a.k, 0), bytes = t.bytes - coalesce(a.b, 0),
    oldest_at = (
      SELECT m.created_at FROM deliveries AS d JOIN messages AS m ON m.id = d.message_id
      WHERE d.recipient_id = t.user_id ORDER BY d.message_id LIMIT 1)
  FROM unnest(cands) AS c(u)
  LEFT JOIN (
    SELECT g.u, count(*) AS k, sum(g.b) AS b FROM unnest(gone_u, gone_b) AS g(u, b)
    GROUP BY g.u
  ) AS a ON a.u = c.u
  WHERE t.user_id = c.u;
  RETURN coalesce(array_length(gone_u, 1), 0);
END
$fn$;

-- Takes one attempt from every bucket, or none; returns 0, or the milliseconds to wait.
CREATE OR REPLACE FUNCTION fastchat_take_attempt(
  keys text[], bursts bigint[], intervals bigint[], now_ms bigint)
RETURNS bigint
LANGUAGE plpgsql
AS $fn$
DECLARE
  wait bigint;
BEGIN
  -- Every bucket exists and is locked, in one key order, so callers never deadlock; a
  -- bucket settle forgot meanwhile is simply made again.
  INSERT INTO rate_limits AS r (key, tat)
    SELECT k, 0 FROM unnest(keys) AS k ORDER BY k COLLATE "C"
    ON CONFLICT (key) DO UPDATE SET tat = r.tat;
  SELECT max(greatest(greatest(r.tat, now_ms) + l.i - now_ms - l.b * l.i, 0)) INTO wait
  FROM unnest(keys, bursts, intervals) AS l(k, b, i) JOIN rate_limits AS r ON r.key = l.k;
  IF wait > 0 THEN
    RETURN wait;
  END IF;
  UPDATE rate_limits AS r SET tat = greatest(r.tat, now_ms) + l.i
  FROM unnest(keys, bursts, intervals) AS l(k, b, i) WHERE r.key = l.k;
  RETURN 0;
END
$fn$;

-- Gives one attempt back to every bucket that exists.
CREATE OR REPLACE FUNCTION fastchat_refund_attempt(keys text[], intervals bigint[])
RETURNS void
LANGUAGE plpgsql
AS $fn$
BEGIN
  PERFORM 1 FROM rate_limits AS r WHERE r.key = ANY(keys) ORDER BY r.key COLLATE "C"
    FOR UPDATE;
  UPDATE rate_limits AS r SET tat = r.tat - l.i
  FROM unnest(keys, intervals) AS l(k, i) WHERE r.key = l.k;
END
$fn$;

-- Every change of a group's members or admin locks its row first (add and remove a member
-- FOR SHARE, these two functions exclusively), so the changes of one group take turns, and
-- each statement below, with a snapshot taken after the lock, reads what the one before left.

-- Hands group gid from from_admin to the member to_user. r_status: 'ok' (r_* hold the group
-- after the change), 'not_found', 'not_admin' (r_admin holds the admin) or 'not_member'.
CREATE OR REPLACE FUNCTION fastchat_set_group_admin(gid bigint, from_admin bigint, to_user bigint)
RETURNS TABLE (r_status text, r_name text, r_admin bigint, r_created bigint, r_members bigint[])
LANGUAGE plpgsql AS $fn$
BEGIN
  SELECT g.name, g.admin_id, g.created_at INTO r_name, r_admin, r_created
    FROM groups AS g WHERE g.id = gid AND g.deleted_at IS NULL FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    r_status := 'not_found';
  ELSIF r_admin <> from_admin THEN
    r_status := 'not_admin';
  ELSIF NOT EXISTS (
    SELECT 1 FROM group_members AS m WHERE m.group_id = gid AND m.user_id = to_user
  ) THEN
    r_status := 'not_member';
  ELSE
    UPDATE groups AS g SET admin_id = to_user WHERE g.id = gid;
    r_admin := to_user;
    r_members := array(
      SELECT m.user_id FROM group_members AS m WHERE m.group_id = gid ORDER BY m.user_id);
    r_status := 'ok';
  END IF;
  RETURN NEXT;
END
$fn$;

-- Deletes group gid if by_admin is its admin: its members go, its row stays as a tombstone
-- (name cleared). r_status as above; on 'ok', r_* hold the group as it was.
CREATE OR REPLACE FUNCTION fastchat_delete_group(gid bigint, by_admin bigint, now_ms bigint)
RETURNS TABLE (r_status text, r_name text, r_admin bigint, r_created bigint, r_members bigint[])
LANGUAGE plpgsql AS $fn$
BEGIN
  SELECT g.name, g.admin_id, g.created_at INTO r_name, r_admin, r_created
    FROM groups AS g WHERE g.id = gid AND g.deleted_at IS NULL FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    r_status := 'not_found';
  ELSIF r_admin <> by_admin THEN
    r_status := 'not_admin';
  ELSE
    WITH gone AS (DELETE FROM group_members AS m WHERE m.group_id = gid RETURNING m.user_id)
    SELECT coalesce(array_agg(gone.user_id ORDER BY gone.user_id), '{}') INTO r_members
      FROM gone;
    UPDATE groups AS g SET deleted_at = now_ms, name = '' WHERE g.id = gid;
    r_status := 'ok';
  END IF;
  RETURN NEXT;
END
$fn$;

-- Applies a user's changes, all or none: status 'not_found' (with the unknown IDs),
-- 'too_many' (more than p_max relations after, and more than before) or 'ok'.
CREATE OR REPLACE FUNCTION fastchat_set_contacts(
  p_owner bigint, p_ids bigint[], p_states text[], p_max bigint, p_now bigint)
RETURNS TABLE (status text, missing bigint[]) LANGUAGE plpgsql AS $fn$
DECLARE
  gone bigint[];
  before_n bigint;
  after_n bigint;
BEGIN
  SELECT coalesce(array_agg(x.u ORDER BY x.u), '{}') INTO gone
    FROM unnest(p_owner || p_ids) AS x(u)
    WHERE NOT EXISTS (SELECT 1 FROM users WHERE users.id = x.u);
  IF cardinality(gone) > 0 THEN
    RETURN QUERY SELECT 'not_found'::text, gone;
    RETURN;
  END IF;
  -- One change of a user's relations at a time, so the count below stays true. NO KEY
  -- UPDATE does not wait for (or hold up) the key-share locks of foreign key checks.
  PERFORM 1 FROM users WHERE users.id = p_owner FOR NO KEY UPDATE;
  SELECT count(*) INTO before_n FROM contacts AS c WHERE c.owner_id = p_owner;
  SELECT count(*) INTO after_n FROM (
    SELECT c.user_id FROM contacts AS c WHERE c.owner_id = p_owner
    UNION SELECT a.u FROM unnest(p_ids, p_states) AS a(u, s) WHERE a.s <> 'none'
    EXCEPT SELECT a.u FROM unnest(p_ids, p_states) AS a(u, s) WHERE a.s = 'none') AS r;
  IF after_n > p_max AND after_n > before_n THEN
    RETURN QUERY SELECT 'too_many'::text, '{}'::bigint[];
    RETURN;
  END IF;
  DELETE FROM contacts AS c USING unnest(p_ids, p_states) AS a(u, s)
    WHERE c.owner_id = p_owner AND c.user_id = a.u AND a.s = 'none';
  INSERT INTO contacts (owner_id, user_id, state, updated_at)
    SELECT p_owner, a.u, a.s, p_now FROM unnest(p_ids, p_states) AS a(u, s)
    WHERE a.s <> 'none'
    ON CONFLICT (owner_id, user_id)
    DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at;
  RETURN QUERY SELECT 'ok'::text, '{}'::bigint[];
END
$fn$;

-- Appends version p_version of p_user's device list if it extends the newest stored one:
-- r_status 'ok', 'not_found' (no such user) or 'conflict'; r_newest is the newest version
-- stored before the call (0: none).
CREATE OR REPLACE FUNCTION fastchat_append_device_list(
  p_user bigint, p_version bigint, p_prev text, p_hash text, p_body text, p_at bigint)
RETURNS TABLE (r_status text, r_newest bigint) LANGUAGE plpgsql AS $fn$
DECLARE
  head_hash text;
BEGIN
  -- One append per user at a time, so the check below reads what the one before left (the
  -- primary key would refuse a second equal version anyway, but not a fork of an older one).
  -- NO KEY UPDATE does not wait for (or hold up) the key-share locks of foreign key checks.
  PERFORM 1 FROM users WHERE users.id = p_user FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    r_status := 'not_found';
    r_newest := 0;
    RETURN NEXT;
    RETURN;
  END IF;
  SELECT d.version, d.hash INTO r_newest, head_hash FROM device_lists AS d
    WHERE d.user_id = p_user ORDER BY d.version DESC LIMIT 1;
  IF NOT FOUND THEN
    r_newest := 0;
    head_hash := '';
  END IF;
  IF p_version <> r_newest + 1 OR p_prev <> head_hash THEN
    r_status := 'conflict';
  ELSE
    INSERT INTO device_lists (user_id, version, prev_hash, hash, body, created_at)
      VALUES (p_user, p_version, p_prev, p_hash, p_body, p_at);
    r_status := 'ok';
  END IF;
  RETURN NEXT;
END
$fn$;

-- Opens link slot p_slot with step 0 p_offer, replacing an expired slot of that name (and its
-- steps); false, changing nothing, when a live one holds the name. The upsert decides
-- atomically: of two openers of one name, the second waits for the first and finds it live.
CREATE OR REPLACE FUNCTION fastchat_open_link_slot(
  p_slot text, p_offer text, p_now bigint, p_expires bigint)
RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
  -- A rendezvous lost in a crash is simply started again.
  PERFORM set_config('synchronous_commit', 'off', true);
  INSERT INTO link_slots AS s (slot, steps, created_at, expires_at)
    VALUES (p_slot, 1, p_now, p_expires)
    ON CONFLICT (slot) DO UPDATE
    SET steps = 1, created_at = excluded.created_at, expires_at = excluded.expires_at
    WHERE s.expires_at <= p_now;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  DELETE FROM link_steps AS t WHERE t.slot = p_slot;
  INSERT INTO link_steps (slot, idx, value) VALUES (p_slot, 0, p_offer);
  RETURN true;
END
$fn$;

-- Appends step p_idx to the live slot p_slot if it is the next one: r_status 'ok',
-- 'not_found' (no live slot), 'too_many' (p_max steps already) or 'conflict' (out of turn);
-- r_steps is how many steps the slot held before. Appenders lock the slot's row, so of two
-- writers of one index the second finds it taken.
CREATE OR REPLACE FUNCTION fastchat_append_link_step(
  p_slot text, p_idx integer, p_value text, p_now bigint, p_max integer)
RETURNS TABLE (r_status text, r_steps integer) LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  SELECT s.steps INTO r_steps FROM link_slots AS s
    WHERE s.slot = p_slot AND s.expires_at > p_now FOR UPDATE;
  IF NOT FOUND THEN
    r_status := 'not_found';
    r_steps := 0;
  ELSIF r_steps >= p_max THEN
    r_status := 'too_many';
  ELSIF p_idx <> r_steps THEN
    r_status := 'conflict';
  ELSE
    INSERT INTO link_steps (slot, idx, value) VALUES (p_slot, p_idx, p_value);
    UPDATE link_slots AS s SET steps = r_steps + 1 WHERE s.slot = p_slot;
    r_status := 'ok';
  END IF;
  RETURN NEXT;
END
$fn$;
`;

/** Prekeys (issue 22): storing a device's, and handing one out, each under its bundle's lock. */
const _PREKEY_FUNCTIONS = `
-- r_status: 'ok' (r_count: one-time prekeys now held), 'not_found' (no such user) or
-- 'too_many' (r_count: how many there would be). The bundle row's lock orders the writers
-- and the takers of one device.
CREATE OR REPLACE FUNCTION fastchat_put_prekeys(
  p_user bigint, p_device bigint, p_bundle text, p_keys text[], p_replace boolean,
  p_now bigint, p_max integer)
RETURNS TABLE (r_status text, r_count integer) LANGUAGE plpgsql AS $fn$
DECLARE
  v_top bigint;
BEGIN
  PERFORM 1 FROM users WHERE id = p_user;
  IF NOT FOUND THEN
    r_status := 'not_found';
    r_count := 0;
    RETURN NEXT;
    RETURN;
  END IF;
  INSERT INTO prekey_bundles (user_id, device_id, bundle, updated_at)
    VALUES (p_user, p_device, p_bundle, p_now)
    ON CONFLICT (user_id, device_id) DO UPDATE SET bundle = excluded.bundle,
      updated_at = excluded.updated_at;
  PERFORM 1 FROM prekey_bundles WHERE user_id = p_user AND device_id = p_device FOR UPDATE;
  IF p_replace THEN
    DELETE FROM one_time_prekeys WHERE user_id = p_user AND device_id = p_device;
  END IF;
  SELECT count(*), coalesce(max(seq), 0) INTO r_count, v_top FROM one_time_prekeys
    WHERE user_id = p_user AND device_id = p_device;
  r_count := r_count + coalesce(array_length(p_keys, 1), 0);
  IF r_count > p_max THEN
    -- Nothing of this call is kept: the bundle and any replace are undone.
    RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'fastchat_too_many_prekeys',
      DETAIL = r_count::text;
  END IF;
  INSERT INTO one_time_prekeys (user_id, device_id, seq, value)
    SELECT p_user, p_device, v_top + k.n, k.v FROM unnest(p_keys) WITH ORDINALITY AS k(v, n);
  r_status := 'ok';
  RETURN NEXT;
END
$fn$;

-- The bundle and the oldest one-time prekey, which is deleted; no row when no bundle.
CREATE OR REPLACE FUNCTION fastchat_take_prekeys(p_user bigint, p_device bigint)
RETURNS TABLE (r_bundle text, r_key text, r_remaining integer) LANGUAGE plpgsql AS $fn$
DECLARE
  v_seq bigint;
BEGIN
  SELECT bundle INTO r_bundle FROM prekey_bundles
    WHERE user_id = p_user AND device_id = p_device FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  SELECT seq, value INTO v_seq, r_key FROM one_time_prekeys
    WHERE user_id = p_user AND device_id = p_device ORDER BY seq LIMIT 1;
  IF FOUND THEN
    DELETE FROM one_time_prekeys WHERE user_id = p_user AND device_id = p_device AND seq = v_seq;
  END IF;
  SELECT count(*) INTO r_remaining FROM one_time_prekeys
    WHERE user_id = p_user AND device_id = p_device;
  RETURN NEXT;
END
$fn$;
`;

/** The SQL `migratePostgres` runs on every start: obsolete functions dropped, live ones set. */
export const PG_FUNCTIONS_SQL: string = _OBSOLETE + _FUNCTIONS + _PREKEY_FUNCTIONS;
