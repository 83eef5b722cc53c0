/**
 * The client keeps its device's prekeys on the server (`core/client/engine/prekey_keeper.ts`):
 * once it is a device it publishes a bundle and 50 one-time prekeys whose secrets its keystore
 * holds, another user starts a session from what the server hands out, the client refills
 * when the server says few are left, and a restart publishes nothing new. Real `ChatClient`s
 * with keystores on disk, on real chat server logic in this process (`in_process_dialer.ts`).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ChatClient } from "../../core/client/engine/chat_client.ts";
import type { ClientEvent } from "../../core/client/engine/events.ts";
import { PREKEY_SECRETS_NAME, PREKEYS_PER_BATCH } from "../../core/client/engine/prekey_keeper.ts";
import { fileKeystore } from "../../core/client/deno/file_keystore.ts";
import {
  fromBase64Url,
  generateIdentityKeyPair,
  importRsaPrivateKey,
  importRsaPublicKey,
} from "../../core/crypto/mod.ts";
import {
  acceptSession,
  initiateSession,
  joinBundleFromServer,
  makePrekeys,
  parseDeviceList,
  parsePrekeySecrets,
  sessionIdentity,
  verifyPrekeyBundle,
} from "../../core/e2e/mod.ts";
import { FEATURES, LIMITS } from "../../core/protocol/mod.ts";
import { MemoryFiles } from "../helpers/client_fakes.ts";
import { type FakeClient, InProcessCluster } from "../helpers/in_process.ts";
import { inProcessDialer } from "../helpers/in_process_dialer.ts";
import { untilAsync } from "../helpers/wait.ts";

/** Alice's client on server 1 with the `devices` feature, and what it emitted. */
async function _alice(cluster: InProcessCluster, dir: string) {
  const events: ClientEvent[] = [];
  const client = new ChatClient({
    balancerUrls: "http://unused.invalid",
    username: "alice",
    password: "pw of alice",
    emit: (e) => void events.push(e),
    keystoreScryptN: 1024,
    dialer: inProcessDialer(cluster, 1, { features: [FEATURES.devices] }),
    keystore: fileKeystore(join(dir, "alice")),
    files: new MemoryFiles(),
    saveDir: join(dir, "alice", "files"),
    deviceName: "laptop",
    keyCheckMs: 0,
  });
  await client.start();
  return { client, events };
}

/** Fetches device 1 of `userId`'s prekeys on `conn`: the bundle text and one one-time prekey. */
async function _fetch(conn: FakeClient, userId: number) {
  const got = await conn.request({ type: "fetch_prekeys", ref: 0, user_id: userId, device_id: 1 });
  assert.equal(got.type, "prekeys", JSON.stringify(got));
  return got as { bundle: string; one_time: string | null };
}

Deno.test("a device publishes its prekeys, a session starts from them, a restart keeps them, and the client refills when few are left", async (t) => {
  const c = await InProcessCluster.start(1);
  const dir = await Deno.makeTempDir({ prefix: "fastchat_client_prekeys_" });
  try {
    let alice = await _alice(c, dir);
    const aliceId = alice.client.userId;
    const count = () => c.store.prekeyCount(aliceId, 1);
    const bob = await c.user(1, "bob");

    await t.step("the server holds the new device's bundle and 50 one-time prekeys", async () => {
      await untilAsync(
        async () => (await count()) === PREKEYS_PER_BATCH,
        `${PREKEYS_PER_BATCH} one-time prekeys of alice's device on the server`,
      );
    });

    await t.step(
      "bob starts a session from them, and alice's stored secrets accept it",
      async () => {
        const lists = await bob.client.request({
          type: "device_lists",
          ref: 0,
          user_id: aliceId,
          from_version: 1,
        });
        assert.equal(lists.type, "device_chain", JSON.stringify(lists));
        const texts = (lists as { lists: string[] }).lists;
        const device = parseDeviceList(texts.at(-1)!).devices.find((d) => d.id === 1)!;
        const fetched = await _fetch(bob.client, aliceId);
        assert.notEqual(fetched.one_time, null);
        const bundle = verifyPrekeyBundle(
          joinBundleFromServer(fetched.bundle, fetched.one_time),
          fromBase64Url(device.sign),
        );
        assert.equal(bundle.opks.length, 1);
        const bobSign = generateIdentityKeyPair();
        const bobKeys = makePrekeys(bobSign.secretKey, { user: bob.id, device: 1, opks: 0 });
        const started = initiateSession({
          myIdentity: sessionIdentity(bobKeys.secrets),
          bundle,
          recipientRsaPublicKey: importRsaPublicKey(device.rsa),
        });
        assert.equal(started.initialMessage.opk_id, bundle.opks[0]!.id);

        await alice.client.close();
        const ks = (await fileKeystore(join(dir, "alice")).open("pw of alice"))!;
        const secrets = parsePrekeySecrets(ks.secret(PREKEY_SECRETS_NAME)!);
        const rsaPrivateKey = importRsaPrivateKey(ks.deviceIdentity()!.rsaPrivateKey);
        ks.close();
        const accepted = acceptSession({
          mySecrets: secrets,
          initialMessage: started.initialMessage,
          senderIdentity: { user: bob.id, device: 1, signingPublicKey: bobSign.publicKey },
          rsaPrivateKey,
        });
        assert.deepEqual(accepted.sk, started.sk);
        assert.deepEqual(accepted.ad, started.ad);
      },
    );

    await t.step("a restart publishes nothing new while the server holds the prekeys", async () => {
      assert.equal(await count(), PREKEYS_PER_BATCH - 1);
      const stored = await c.store.takePrekeys(aliceId, 1);
      alice = await _alice(c, dir);
      // start() resolves after the login's attach, where the keeper publishes if it must.
      assert.equal(await count(), PREKEYS_PER_BATCH - 2);
      const after = await _fetch(bob.client, aliceId);
      assert.equal(after.bundle, stored!.bundle, "the same bundle as before the restart");
    });

    await t.step(
      "fetches that leave fewer than prekeysLow make the client publish more",
      async () => {
        let left = (await count())!;
        while (left >= LIMITS.prekeysLow) {
          await _fetch(bob.client, aliceId);
          left--;
        }
        await untilAsync(
          async () => (await count())! >= left + PREKEYS_PER_BATCH,
          `${PREKEYS_PER_BATCH} more one-time prekeys of alice's device on the server`,
        );
        // The refill's secrets are kept: the new one-time prekeys start sessions too.
        const fetched = await _fetch(bob.client, aliceId);
        assert.notEqual(fetched.one_time, null);
        assert.deepEqual(alice.events.filter((e) => e.event === "error"), []);
        await alice.client.close();
        const ks = (await fileKeystore(join(dir, "alice")).open("pw of alice"))!;
        const secrets = parsePrekeySecrets(ks.secret(PREKEY_SECRETS_NAME)!);
        ks.close();
        const id = JSON.parse(fetched.one_time!).id;
        assert.ok(secrets.opks.some((p) => p.id === id), `the secret of one-time prekey ${id}`);
      },
    );
  } finally {
    await c.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
