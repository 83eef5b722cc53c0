import assert from "node:assert/strict";
import { askPersistentStorage } from "../../web/storage_persist.ts";

Deno.test("askPersistentStorage() asks unless granted already, and counts a failure as refused", async () => {
  let asked = 0;
  const port = (persisted: boolean, grant: boolean | Error) => ({
    persisted: () => Promise.resolve(persisted),
    persist: () => {
      asked++;
      return grant instanceof Error ? Promise.reject(grant) : Promise.resolve(grant);
    },
  });
  assert.equal(await askPersistentStorage(port(true, false)), "granted");
  assert.equal(asked, 0, "not asked again once granted");
  assert.equal(await askPersistentStorage(port(false, true)), "granted");
  assert.equal(await askPersistentStorage(port(false, false)), "refused");
  assert.equal(await askPersistentStorage(port(false, new Error("no"))), "refused");
  assert.equal(await askPersistentStorage({}), "unsupported");
  assert.equal(await askPersistentStorage(undefined), "unsupported");
});
