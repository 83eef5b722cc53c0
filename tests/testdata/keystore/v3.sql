PRAGMA application_id = 1178815315;
PRAGMA user_version = 3;
CREATE TABLE kdf (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  salt BLOB NOT NULL,
  log_n INTEGER NOT NULL,
  r INTEGER NOT NULL,
  p INTEGER NOT NULL,
  verifier TEXT NOT NULL
) STRICT;
INSERT INTO "kdf" ("id", "salt", "log_n", "r", "p", "verifier") VALUES (1, X'1314e022e9ce55b548125b87484d1ab4', 10, 8, 1, 'gAAAAABrF2Tv0oOTcK22NlgZWlJAyigGrf1Yztt0EnO69xKbDSDPKWigcSwVRpC5KPRtRCwPa_V92wZDubWBnmLG7tDAEqjRmrA7PFQAnZO5DRWw7Y57krk=');
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
', 'gAAAAABrF2TvM1tVXC0jt7GhCFlvfJe58W7-a7BG4etTG-AvfqRm1XJ_kBeYE_PddrsKGsqoqCGAAtjhMDEjZgCHR5fJMV-0W9T_Ip5oRnmIfdQ7_fiX8t6uuMZov01mLFPq2q-AK7oq1sVEMlrausB5ooe9fCZuSVLh5XNDjx6yu4T3qzrSkXgZhSJQtP-PWrwReeeoanBDQHRs07FbmYBMlNPlY4_o06vPL17Dw9JEarAxATItuGJsVr25wndJuheo2u2mRR0BYiUz5sExMw04SRFcXpWO581FKU6kFkwecajprVHWnbrxGEKD3ipuLSc82jPWCz9LS7FRu9nrsBxw3kO3VeGDEyKQMe4mDpPG6Fl1e9bAHYgm13G2Yyk25sBvPcYOLVEkKQpnTXBD2GThIuhyWitgYVq4LlB9khhTNqMseoF-q7T2dKxIiiKu0f5wIEW5F5w1qmrUriSLr8Q5YdSd0pyEu0Izn4ci4pWthpocfigOmeQpYK944eqHbhcUDZ0IYKPWdIuWrpm9V-tlHIKSj9vh3ypJ8XTnZIO8ftXXuCI5mLgy5VnSoiCPxcsc4tJGps6eSkC2ou6tAdweSFpGhX3bdoPfELD0MYWQwuRy6ZOQYsLZB28okZ7n_g3tRdH1OReCPBgtHoKBp4e0fnm2UTfImiGHjLydoo489Yx2KiN8-_mRVjB1x7uA9O1E-PUfHYuJp6Ld4j9SLP8z1VFozEfBk8Nmol2IEKxMSYpYSpWaGx5pkNh3B7-1AcGoKc9fEWg1CElVaUR1rT0bTiRvybNjWbiyaFN60pBbOKIGzz17aRW80zRBhggDbiGpO-62_uojT_VrNK4G_MouvSEa0zZO4StqUAcDFiyEH22b_1v6G0UJKdNyCNF2nODcKU0UFD2NO9gzGLZw2yExna7_fkjgAutj3MqrzmjJbpn4keSJTo3nT3lcT0VoagoYHdf0HSSqqshcZQlJd_VFBlBGbp8lSv0ijitRLGi7Meh4ROSfQuOD4zv2QS4BTkNmpl-9uQebiw7URJIFLp72WQAJdkghudtTI3pMcV8lAsfqw5OQ_c7Q6RzFBOK_jdx1wu41gVxS1UzZvlI5Qn_oAQ_AFp-cZeBMVHKBz8u7_7X_lzwQpN1FCwIH5qi_MxgCHohEB4wzG4r9d_JMPo3Scz8XRxeaIvKbcqxBWMDPaMzEmjJxNMmwQ2G5JhzRcz7cJeVFER8cqrV3nz3f_Zldnb9gNqME7fR_WySKYdSI1mcxNVzEfq16DGaoRyjCppKxD4tqqhPuRBEqZ4FgcMt8PBU9HAXb_fjvblpefLmAJPX-HxqT7JDosLRlt37X3gPgTXSQie375TSl7dYLAqfX7cdMg3HLu3QB-Z5ajC2XYK098X3z2bm2wPZ7PTa7p2KcYQZzlrCj4EZ7S8h3lpUVUmEoY95hxKuOYM0_XCZPLJvQ9wO45op5jhLbX4x6uk2n6jMRQTE2FslGFZ64QqCPZnsrvW-LRy4TfFwiJ6kCmEtMnrboG4vvtlKWY8vVduM4j_NZm-IwboTBe1xvEMZpHfIrOz-1GctUTAn1Dy3hi5-_-e8jsj4f8ITZ1mW-jhryTxIUIbaZdnSd2uaOaBrHZqdlUmAt8CqYzjJ_-SHmYmtIJEKrVujVI5ymCAHUuhhwOeBPh0JDUFFN9_G1t7CdFR3_QDbfVYEfMCSEEIDDmDmnTq1F5o7GuXRF6G8QqcxyHujN-4qpVOhWYmcQcn2XfYxcPhP6FclEo0z-SrNUQwIIuFwbr34xPph6ikBA9LaeJK8llWw0EBqqm-pfez8tMaG1OMBL-McZmO0v_c-nqvin2O8lQgPAUdn79ogWOuqcmvwy7gjlOTlmmJx8qZ6v3IfU-Qtnd8XYJFJ8fHD9mLrTJlphuEzLm3uaQzhIsM_CscXTx57reNrYw6W1Mte_--NGovdduSGc6ZK8jIDIDdKKv_6j2S6Bl8DaSIrlYXY2wGBslL3f5_1AIkFi0468QPlf82QCZ85ukQ0GRAEfoTHS7JA6L_hHuPJ-YfMnJAPY1lpO40SzW7Fusn9J6z8_S12QGBSxFjePgHk1q1kRlMNcfh6Qhnrjejifa4lKbPpeGdyGf0-I8QF1njtY2sZZ45TrohvcmmXeCsyDoZTG6w7imPLp-4DFhPNwKjPERWOSqmWutgyn6VnAgk-D4CVy_yUSfFzIQKNob4jKK-w0KYyut5yLypkWLpDnS8G4hL0V7OK6raj7bJe3Bw3I1HnKOUUNSiUj5M3T0-5VkjO9s6dxmNxGKi3Cj4V1tzS4Ldups5efFFKYXdikyqwXoeUaxG8F2BSgiyNunw_xs910LTBpC8Gi4L_vufQfasUIkqdAQwARhS_OQ8AFgd3MvmWWUZvk2fAMsA==', 'mQFHszYcv62nnw8aipeyKAQ6aY_YqrAuOo_oZ1HokRc', 'gAAAAABrF2TvwMpVI5jEoXdy9ljM03LDvj2PcjnbDEN4XVPFSSsrrsQhcOqCGxOEhRiypWqkEJYN0ko7BntGwNY6TR1ZIOEPwtl7bZxcvBpGLT_DpyucgxER-Y2uzNUa6i2gC9kyUbJBgmXzTjoc9TLtJ11f9Kw_xPJBbegWFrGkNSkxNNn4NrM=', 'gAAAAABrF2TvDhCGwD2Oz-nSWSR8ZtZyQV_FvzMAXR0kCCrrlKC4A8aYwuHee8-pn7z9o4bkpUbX5tgbLY3w7Iu_oHlArpIy52vcJUChzIgmAdGLmqonELyDKIXYTq9UwZU5rlVh7Q3aGalXoK3pG09vrq3qOhKkHQ==', 1796695279141, 11);
CREATE TABLE friends (
  user_id INTEGER PRIMARY KEY CHECK (user_id > 0),
  username TEXT NOT NULL,
  rsa_public_key TEXT NOT NULL,
  identity_key TEXT NOT NULL,
  pinned_at INTEGER NOT NULL,
  added_at INTEGER NOT NULL,
  pending_rsa_public_key TEXT,
  pending_identity_key TEXT,
  pending_seen_at INTEGER, contact INTEGER NOT NULL DEFAULT 1 CHECK (contact IN (0, 1)), verified_at INTEGER,
  CHECK ((pending_rsa_public_key IS NULL) = (pending_identity_key IS NULL)),
  CHECK ((pending_identity_key IS NULL) = (pending_seen_at IS NULL))
) STRICT;
INSERT INTO "friends" ("user_id", "username", "rsa_public_key", "identity_key", "pinned_at", "added_at", "pending_rsa_public_key", "pending_identity_key", "pending_seen_at", "contact", "verified_at") VALUES (2, 'bob', '-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1F9Gq5RwXIWAVfROssOK
gbOPrZy2f1evE7HqprJMwBTd2OilAEjyVW07Vv2uyY8zqB6YmeNJoAOiRKISDXLk
JEDa+yMljnoix4kcfFGEJwTLve9mvxtDBZ/GgHE6R+6C2Ler5ppnbHT/+XuUiWOC
QdijbKrKNPpsMpHfFawCyy2MJIVPG1//rc88lTpYE5doEZg2RYcqSkfvJtQTaLA3
MxcJyGTEkyABjHVpL16xT/Ba2xXZZDvRweRDDJlEG7UP4i+Y5jLleKBKpfFdTTgD
AvoyjFBEr+OUGnmsKLp2xYlOmaNV+M5MrGj0Kyt+pBFKEuZguPHIW7nhVFNeEH06
1QIDAQAB
-----END PUBLIC KEY-----
', '7gwudnA_8HSkCgYWF35hEpReDveh2l8iuD8p46Wl9dg', 1796695279150, 1796695279150, NULL, NULL, NULL, 1, 1796695279153);
INSERT INTO "friends" ("user_id", "username", "rsa_public_key", "identity_key", "pinned_at", "added_at", "pending_rsa_public_key", "pending_identity_key", "pending_seen_at", "contact", "verified_at") VALUES (3, 'carol', '-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1F9Gq5RwXIWAVfROssOK
gbOPrZy2f1evE7HqprJMwBTd2OilAEjyVW07Vv2uyY8zqB6YmeNJoAOiRKISDXLk
JEDa+yMljnoix4kcfFGEJwTLve9mvxtDBZ/GgHE6R+6C2Ler5ppnbHT/+XuUiWOC
QdijbKrKNPpsMpHfFawCyy2MJIVPG1//rc88lTpYE5doEZg2RYcqSkfvJtQTaLA3
MxcJyGTEkyABjHVpL16xT/Ba2xXZZDvRweRDDJlEG7UP4i+Y5jLleKBKpfFdTTgD
AvoyjFBEr+OUGnmsKLp2xYlOmaNV+M5MrGj0Kyt+pBFKEuZguPHIW7nhVFNeEH06
1QIDAQAB
-----END PUBLIC KEY-----
', 'YptTfXuQVxKcnb5xbMy9IZwmeuz2pL6F9XGcM27FgAs', 1796695279152, 1796695279152, NULL, NULL, NULL, 0, NULL);
CREATE TABLE friend_keys (
  friend_id INTEGER NOT NULL REFERENCES friends(user_id),
  kid TEXT NOT NULL,
  key_enc TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('active', 'old')),
  PRIMARY KEY (friend_id, kid)
) STRICT, WITHOUT ROWID;
INSERT INTO "friend_keys" ("friend_id", "kid", "key_enc", "created_at", "role") VALUES (2, 'k1', 'gAAAAABrF2TvkEY3K8t_3PbPTJvLB95TFh0-qhNIDdpGJpoNpE1rLULQcRBqmpvmj_-HgXNCPq6WGIJrPdIPZIsKfglTZsN4tQpn5aqdPoq9PGDQxIYypjDToh4eAlbSjekDF-zEx2CdSBjbs4q-UqzVM1DEs0VrYQ==', 1000, 'active');
CREATE TABLE groups (
  group_id INTEGER PRIMARY KEY CHECK (group_id > 0),
  name TEXT NOT NULL,
  admin_id INTEGER NOT NULL,
  is_member INTEGER NOT NULL CHECK (is_member IN (0, 1)),
  left_at INTEGER,
  updated_at INTEGER NOT NULL
, left_by INTEGER, left_how TEXT CHECK (left_how IN ('left', 'removed', 'deleted'))) STRICT;
INSERT INTO "groups" ("group_id", "name", "admin_id", "is_member", "left_at", "updated_at", "left_by", "left_how") VALUES (5, 'team', 1, 1, NULL, 1796695279156, NULL, NULL);
INSERT INTO "groups" ("group_id", "name", "admin_id", "is_member", "left_at", "updated_at", "left_by", "left_how") VALUES (6, 'party', 3, 1, NULL, 1796695279157, NULL, NULL);
CREATE TABLE group_members (
  group_id INTEGER NOT NULL REFERENCES groups(group_id),
  user_id INTEGER NOT NULL,
  PRIMARY KEY (group_id, user_id)
) STRICT, WITHOUT ROWID;
INSERT INTO "group_members" ("group_id", "user_id") VALUES (5, 1);
INSERT INTO "group_members" ("group_id", "user_id") VALUES (5, 2);
INSERT INTO "group_members" ("group_id", "user_id") VALUES (5, 3);
INSERT INTO "group_members" ("group_id", "user_id") VALUES (6, 1);
INSERT INTO "group_members" ("group_id", "user_id") VALUES (6, 3);
CREATE TABLE group_keys (
  group_id INTEGER NOT NULL REFERENCES groups(group_id),
  epoch INTEGER NOT NULL CHECK (epoch >= 0),
  key_enc TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (group_id, epoch)
) STRICT, WITHOUT ROWID;
INSERT INTO "group_keys" ("group_id", "epoch", "key_enc", "created_at") VALUES (5, 1, 'gAAAAABrF2Tv4nt7oQr7cLJ1DPI6K7RJvWy3p_I4jng3fx3VfP4MZwTqK6H9hv0wljIrhm_-PENkwAqHdb6SaSjNi8_GX_I-xOzOrZR1c-zojnh2sbJMPhkQG4FJAYpHYvKYvNQsjotVGvaDZ9yHBEhnu3xBcwG5Rw==', 1796695279157);
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
INSERT INTO "messages" ("id", "msg_id", "client_msg_id", "direction", "kind", "peer_id", "sender_id", "text_enc", "file_enc", "sent_at", "received_at", "state") VALUES (1, 10, 'b1', 'in', 'direct', 2, 2, 'gAAAAABrF2TvY-YuYVM02laNexMjakO7XF82q8cr8yDQR4DuYXElTpOPdxtjVJ1SzSSIs2sPQ3kagd8MZoCTjfgXFH3KUw67IeDlftugcAnjxZqO6TWe4bJcbP6AVgiVKaLqddhbesy1', NULL, 3000, 3001, NULL);
CREATE TABLE requests (
  user_id INTEGER PRIMARY KEY REFERENCES friends(user_id),
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  preview_enc TEXT
) STRICT;
INSERT INTO "requests" ("user_id", "first_at", "last_at", "preview_enc") VALUES (3, 4000, 4000, 'gAAAAABrF2TvpV5SQL2F7FV7jhVJFiLC8cMF6oApI7nnZbn_U-ibEzXRNjUHFv4d4lt3DnwGUv_URv8sX1deVfRuaz-FNYi8x6teDFJebAxnkmxsbReHiRUFWngvUVOf5YIZuHnI1-2S');
CREATE TABLE request_messages (
  msg_id INTEGER PRIMARY KEY CHECK (msg_id > 0),
  user_id INTEGER NOT NULL REFERENCES requests(user_id),
  frame_enc TEXT NOT NULL,
  received_at INTEGER NOT NULL
) STRICT;
INSERT INTO "request_messages" ("msg_id", "user_id", "frame_enc", "received_at") VALUES (11, 3, 'gAAAAABrF2Tv4KbzqpTxtmsy6pC3hF4zNRBfJ_LemIHuQt016Jpzs0FVDGqDzyvKj-qS3Jh-emIxIpWhsXWXXj-ny7BQHnxte2VH7QrOinDVqYbJbB9tUq-wxrL3sEu3PD8d6WymcGqf', 4000);
CREATE TABLE blocked (
  user_id INTEGER PRIMARY KEY CHECK (user_id > 0),
  username TEXT NOT NULL,
  blocked_at INTEGER NOT NULL
) STRICT;
INSERT INTO "blocked" ("user_id", "username", "blocked_at") VALUES (4, 'dave', 1796695279163);
CREATE TABLE settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO "settings" ("name", "value") VALUES ('file_limit_bytes', '1000');
INSERT INTO "settings" ("name", "value") VALUES ('secret:files_key', 'gAAAAABrF2TvL1JNJj6wiKOCJ458npzFdONhFvrnHdGiReHJ680NNFcNM1aFMIFP8mWysDA3-P3cJDsi2BHhHMcWB-Cymmdx_XM4I2lSvqBoZHacJcpTCwT1qWD1HhqaaN27J5PiDJfT');
CREATE TABLE group_invites (
  group_id INTEGER PRIMARY KEY REFERENCES groups(group_id),
  by_id INTEGER NOT NULL CHECK (by_id > 0),
  by_name TEXT NOT NULL,
  invited_at INTEGER NOT NULL
) STRICT;
INSERT INTO "group_invites" ("group_id", "by_id", "by_name", "invited_at") VALUES (6, 3, 'carol', 2000);
CREATE INDEX friends_by_name ON friends(username);
CREATE UNIQUE INDEX friend_keys_one_active ON friend_keys(friend_id) WHERE role = 'active';
CREATE INDEX groups_by_name ON groups(name);
CREATE INDEX messages_by_conversation ON messages(kind, peer_id, sent_at, id);
CREATE INDEX messages_queued ON messages(id) WHERE state = 'queued';
CREATE INDEX request_messages_by_user ON request_messages(user_id, msg_id);
CREATE INDEX blocked_by_name ON blocked(username);
