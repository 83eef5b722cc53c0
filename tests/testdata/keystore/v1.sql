PRAGMA application_id = 1178815315;
PRAGMA user_version = 1;
CREATE TABLE kdf (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  salt BLOB NOT NULL,
  log_n INTEGER NOT NULL,
  r INTEGER NOT NULL,
  p INTEGER NOT NULL,
  verifier TEXT NOT NULL
) STRICT;
INSERT INTO "kdf" ("id", "salt", "log_n", "r", "p", "verifier") VALUES (1, X'7475b007a17638fcef7d29ae0eabbc58', 10, 8, 1, 'gAAAAABrCpsgJRzVGX7FkfVvx9DIOgdMjrgwbS_jbLpCR3zgJOpAQan2Mq-EleYFrgxoBwdMGTjEUb9NwL_m_VOP4NL62EvdEmKivmIqSSpLULRv3UsHlp0=');
CREATE TABLE account (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  user_id INTEGER NOT NULL CHECK (user_id > 0),
  username TEXT NOT NULL,
  rsa_public_key TEXT NOT NULL,
  rsa_private_key_enc TEXT NOT NULL,
  identity_public_key TEXT NOT NULL,
  identity_secret_key_enc TEXT NOT NULL,
  session_token_enc TEXT,
  created_at INTEGER NOT NULL,
  last_seen_msg_id INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO "account" ("id", "user_id", "username", "rsa_public_key", "rsa_private_key_enc", "identity_public_key", "identity_secret_key_enc", "session_token_enc", "created_at", "last_seen_msg_id") VALUES (1, 1, 'ada', '-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1F9Gq5RwXIWAVfROssOK
gbOPrZy2f1evE7HqprJMwBTd2OilAEjyVW07Vv2uyY8zqB6YmeNJoAOiRKISDXLk
JEDa+yMljnoix4kcfFGEJwTLve9mvxtDBZ/GgHE6R+6C2Ler5ppnbHT/+XuUiWOC
QdijbKrKNPpsMpHfFawCyy2MJIVPG1//rc88lTpYE5doEZg2RYcqSkfvJtQTaLA3
MxcJyGTEkyABjHVpL16xT/Ba2xXZZDvRweRDDJlEG7UP4i+Y5jLleKBKpfFdTTgD
AvoyjFBEr+OUGnmsKLp2xYlOmaNV+M5MrGj0Kyt+pBFKEuZguPHIW7nhVFNeEH06
1QIDAQAB
-----END PUBLIC KEY-----
', 'gAAAAABrCpsgtgCA9sanXb9hG43KslwORmv-Kn_MNnWSKgx3PhA-mtW9kxr0S1C3fgetDIxOwFO7ncAL3oKYURiWoGXdoE0_FPwgfxCStGuyx6PH3UBQUMOx45C38sltx30wRYDeTBKB0WwR-UyoEYNsK74XmQ55wmoSGF4QBm_tzVU1kngvZJSPpgxrAXDTcqER7Qlc3wBEsE054mZpyCgDIRR9AoWTGQu7qGOUzp8UxK8eu5LsuDMyER4OF1FjTmGERE4CnfXLEL8G8MeEdbOqiMUY_n3fh6LXW7c57jrTE-KMW9scmZ3L6t53xuK2Bp06uVtLC0OjBJ7lj8K_vNBihSkvjFY1CyTwIG6tvpRrg47FTCaZCYPoDE2_7_U2kN04feGS1x9kwJL9QS1_fsCAqCPURuYbW29pfkrxuyTVspU801dYNWl9WOPqnPXtChNY3461Wumzx1ANkOQoiG9HW7gdvEURy4_9mGupi6cIE1E_C7O9iTpMgiPPEB7I9HoSDokpgUJPbUgHSba_SDCG7Oj2u4EgHZySeK85D84h2roX0Iui-6ZGHv1uISpKxi8Tc5hLRNKgNGgHuUcD_C3FZy4sKpm62U0jHqkZKW-0oceNW6wFo_40QHGCFCbZaQrT_nMC1WA_91VDAxUQIYTOkxPeEMTgfMHyT3lQxt_epSGtt-8giQUczPIXKwUfPaQpOiAo3Yb8IwivbdWOmrHfwD194xDRjSKyefr1bUP4073lsVEjD03REcRNZKPcYftUNHVhjBHb4bWxWDLAIWkOtyWhq1cKbQXxjQu0OTFh9AovyQS2CTZm32KWSfwsl5F8COcv0IlyMR63vzWO8KK63by1ZMTdt1CPAzrRIpG09h2xLZJmfWQ-ge7sfT0kCdgPkCoUCykqIV_rTLQ1PnUU4mANfL2Nsw7S4nbyvYxWtNWOhHyYPCHANDMlZgtSVn0d0oUu7vhPvEnnjS52n0sWT1bPfLPYktJ0gNzxM-ZO8rem6kGlMKtIDMla7DcK2lAWCFdAbe1Jo6q4evaHbUFgYDskpYdw13ZgPDhJ5ejOJ1tYIPFfLHoaPasufAGtew7MbP_Lxhh9cTtMTpuaXZy2D9eaeSnr66IZq9qBaxuCi1w7G-afUVYPeOvBEacn8uhJi95mkpxsk0_-bOP2Eewi6RRbptewOMEdXzrJXsn_gFCW8cxM9Wq-YNoHfDpPfVVxUtGoc4Br-HpxjVQOpQYTX1KHdd5BHdGGtaqVDU5rLzGCJEAs4TMxKVCul0t0MutBPEFa1MTi-YfpvXGXXpjP4Uyxl_wIVn3HFJkuWeK0qB4zrMG3gAreaEhu4P4IB9gpbg_wx-IqwWlD68CCdfCMVm_JPEBAVcIuaomP-7_1Zr_wizyc4A3gquZ_Q7cIpDc0nHci7CWHmRhSmkatIU1prpFmuMveVYp9nODVzswXDYV-kMyxC2rbKFnZaxxWKLygjXViSIqdF8VjgOxo4WdeuU9iyKNyUDqjZEfAs83TagLxaAX00ceNELvXVFDRXPDLO5r_URFy6QzwJWtHp1T-4bu86phQpuUUQftdJyGB7hiLkCNYhmhA1BC4b2szg4OHJS5fDLFEbIVb0QaKEOd7_jr_lQCLfMWw3e3SGZcxPrPI2a6EoDMgjKeLgwIzk0hy4ybB-Q3SZ0becDtHbbHPNbRd2lOftcP1il3t9HVNpPsQGt1fbn1P_JgFGWer01PGWLTEVbjWqqkL0mE_AsxDIiYQh80VDDNeyBk7dBVmHrJqyHZcfxMaECe26qIC2PDQsGRwe23KhO0oEkUgbklsRsJirjArI8iF4E6CpAl9rM_xInOycLqD2Igwlgp38I9mTpB4tr9XgX_sNbt0k5voH7iq7nN1wT7Iqy_LgjicwdNIMVDVjx3Y1jL8ucVgt1EAJMgTJnqZ9cGaV9iGNzRRI3gtEAEGAR1eJ1YAKITb-y9GlFJj6WRdD_66jd9RZ4L7aPr69hYUnLJM0tDxY1R2kpEGXEM20pUdJywgiWQizhHIaozzIs0hjM9nBG2J0z98ymW0biWYrfmJcBWUnPBq0FR1eo8H46v4swlgYu4gS51AfQwerDhP4KD7_B8xrbGIvJz0whudbwyF831Pp52LaVdMSw3nhCT3_5THhSXBxmZes4UQbraDwIU1XQNoB5s5HBFi50aagq7OAIb3BoUXrI3OSVebpJ5RO48yL2LyJUl-rGFSQ660auFQwjzG96xKSStiLoCbK23nvsrG1zRcrie5Iafkl4v_Hx99UqRgfddFGMwPIdrRPyb8TmjPgn2-m-Yq6E8nXjbhtKyinCl12dvcfHZFFiydbhUM_q6rSdRvbZfYDSlZiVu7bmY5thb-TZfSpZtFgpdbATwbwxhG3Cgc8JBgtQ==', '4ijkNfIsajMXmkJ5kj_tWI-EmdhJ8NfWlgdkzf9EVSQ', 'gAAAAABrCpsg_FfVSZjVPsrSSTpex3FF4iWXECzW79g3RZGze5z1bIA6OBgNaZ4cLYkUxjHKNXWREUHaEMiuQDA0DDy0lZeAJz8tMolSzTDlUue0H-Q4GMoqjWI8p_7r6TsvwwHaReBHn2zZ4KvUOPkT8J23j8bCH04nO3Tmm1jyTmSG7nprfdc=', NULL, 1795857184758, 10);
CREATE TABLE friends (
  user_id INTEGER PRIMARY KEY CHECK (user_id > 0),
  username TEXT NOT NULL,
  rsa_public_key TEXT NOT NULL,
  identity_key TEXT NOT NULL,
  pinned_at INTEGER NOT NULL,
  added_at INTEGER NOT NULL,
  pending_rsa_public_key TEXT,
  pending_identity_key TEXT,
  pending_seen_at INTEGER,
  CHECK ((pending_rsa_public_key IS NULL) = (pending_identity_key IS NULL)),
  CHECK ((pending_identity_key IS NULL) = (pending_seen_at IS NULL))
) STRICT;
INSERT INTO "friends" ("user_id", "username", "rsa_public_key", "identity_key", "pinned_at", "added_at", "pending_rsa_public_key", "pending_identity_key", "pending_seen_at") VALUES (2, 'bob', '-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1F9Gq5RwXIWAVfROssOK
gbOPrZy2f1evE7HqprJMwBTd2OilAEjyVW07Vv2uyY8zqB6YmeNJoAOiRKISDXLk
JEDa+yMljnoix4kcfFGEJwTLve9mvxtDBZ/GgHE6R+6C2Ler5ppnbHT/+XuUiWOC
QdijbKrKNPpsMpHfFawCyy2MJIVPG1//rc88lTpYE5doEZg2RYcqSkfvJtQTaLA3
MxcJyGTEkyABjHVpL16xT/Ba2xXZZDvRweRDDJlEG7UP4i+Y5jLleKBKpfFdTTgD
AvoyjFBEr+OUGnmsKLp2xYlOmaNV+M5MrGj0Kyt+pBFKEuZguPHIW7nhVFNeEH06
1QIDAQAB
-----END PUBLIC KEY-----
', 'O3s5XLwCxY2BcHJpHCaaw9p5xsY2aGcFBZD83sXe6VQ', 1795857184760, 1795857184760, NULL, NULL, NULL);
INSERT INTO "friends" ("user_id", "username", "rsa_public_key", "identity_key", "pinned_at", "added_at", "pending_rsa_public_key", "pending_identity_key", "pending_seen_at") VALUES (3, 'carol', '-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1F9Gq5RwXIWAVfROssOK
gbOPrZy2f1evE7HqprJMwBTd2OilAEjyVW07Vv2uyY8zqB6YmeNJoAOiRKISDXLk
JEDa+yMljnoix4kcfFGEJwTLve9mvxtDBZ/GgHE6R+6C2Ler5ppnbHT/+XuUiWOC
QdijbKrKNPpsMpHfFawCyy2MJIVPG1//rc88lTpYE5doEZg2RYcqSkfvJtQTaLA3
MxcJyGTEkyABjHVpL16xT/Ba2xXZZDvRweRDDJlEG7UP4i+Y5jLleKBKpfFdTTgD
AvoyjFBEr+OUGnmsKLp2xYlOmaNV+M5MrGj0Kyt+pBFKEuZguPHIW7nhVFNeEH06
1QIDAQAB
-----END PUBLIC KEY-----
', '_GTDPr-fIQBeI9j8BF8aTVmv66H8FRn97uFkCZSlVRI', 1795857184761, 1795857184761, NULL, NULL, NULL);
CREATE TABLE friend_keys (
  friend_id INTEGER NOT NULL REFERENCES friends(user_id),
  kid TEXT NOT NULL,
  key_enc TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('active', 'old')),
  PRIMARY KEY (friend_id, kid)
) STRICT, WITHOUT ROWID;
INSERT INTO "friend_keys" ("friend_id", "kid", "key_enc", "created_at", "role") VALUES (2, 'k1', 'gAAAAABrCpsgc_9_y6ZNGSNaJaCGXf8_e1NaFvqGVsWh7kAqRj8MeFgAQVoo-ClwvD7av2lQSXsTdUVGlnckbwUP6eHxNP-G3MrvyGwOHvfbVMGqwEhjImArZUENLzappWb3W6J5tE7_zZhdYiL7UOSksJUJSTr_Og==', 1795857184762, 'active');
CREATE TABLE groups (
  group_id INTEGER PRIMARY KEY CHECK (group_id > 0),
  name TEXT NOT NULL,
  admin_id INTEGER NOT NULL,
  is_member INTEGER NOT NULL CHECK (is_member IN (0, 1)),
  left_at INTEGER,
  updated_at INTEGER NOT NULL
) STRICT;
INSERT INTO "groups" ("group_id", "name", "admin_id", "is_member", "left_at", "updated_at") VALUES (5, 'team', 1, 1, NULL, 1795857184762);
CREATE TABLE group_members (
  group_id INTEGER NOT NULL REFERENCES groups(group_id),
  user_id INTEGER NOT NULL,
  PRIMARY KEY (group_id, user_id)
) STRICT, WITHOUT ROWID;
INSERT INTO "group_members" ("group_id", "user_id") VALUES (5, 1);
INSERT INTO "group_members" ("group_id", "user_id") VALUES (5, 2);
INSERT INTO "group_members" ("group_id", "user_id") VALUES (5, 3);
CREATE TABLE group_keys (
  group_id INTEGER NOT NULL REFERENCES groups(group_id),
  epoch INTEGER NOT NULL CHECK (epoch >= 0),
  key_enc TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (group_id, epoch)
) STRICT, WITHOUT ROWID;
INSERT INTO "group_keys" ("group_id", "epoch", "key_enc", "created_at") VALUES (5, 1, 'gAAAAABrCpsgdYSfGBXA0utyYCA6RsRLtcxavcjcGn85NcLgv1bdR5taDFADgHymAAPMd7cUG2RzskUE1zkmIpOzHPO0G8T6ySC6szywVy5q2eNrfMXKK76Ol4ycVdSW_vf2IpYK0P7h_8Qq8lynIOHnGBvI5Ni7aQ==', 1795857184763);
CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  msg_id INTEGER UNIQUE,
  client_msg_id TEXT,
  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  kind TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
  peer_id INTEGER NOT NULL,
  sender_id INTEGER NOT NULL,
  text_enc TEXT NOT NULL,
  file_enc TEXT,
  sent_at INTEGER NOT NULL,
  received_at INTEGER,
  state TEXT,
  CHECK ((direction = 'in' AND state IS NULL) OR
    (direction = 'out' AND client_msg_id IS NOT NULL AND
      state IN ('queued', 'accepted', 'delivered', 'failed'))),
  UNIQUE (sender_id, client_msg_id)
) STRICT;
INSERT INTO "messages" ("id", "msg_id", "client_msg_id", "direction", "kind", "peer_id", "sender_id", "text_enc", "file_enc", "sent_at", "received_at", "state") VALUES (1, 10, 'c1', 'in', 'direct', 2, 2, 'gAAAAABrCpsg3a6xBGXKMcM1B0eDfi7xSZxlWrUV_ZdaJTHQADeTzlBaTLeQyKWZPHaSaNyS3PdLMfe9yDUQFxSZl1-OxyEd16sLOx2Xu0EL203w2ivbmJbW8qbrxtb3VWSB-vftBR-c', NULL, 1700000000000, 1795857184763, NULL);
CREATE INDEX friends_by_name ON friends(username);
CREATE UNIQUE INDEX friend_keys_one_active ON friend_keys(friend_id) WHERE role = 'active';
CREATE INDEX groups_by_name ON groups(name);
CREATE INDEX messages_by_conversation ON messages(kind, peer_id, sent_at, id);
CREATE INDEX messages_queued ON messages(id) WHERE state = 'queued';
