import assert from "node:assert/strict";
import { Proc } from "./helpers/cluster.ts";

Deno.test("fastchat demo walks through everything, finds no plaintext on the server, exits 0", async () => {
  const p = new Proc("demo", ["demo"]);
  const status = await p.done;
  assert.equal(status.code, 0, p.output);
  for (
    const expected of [
      /alice joined as user #\d+ on server \d/,
      /bob received message #\d+: "Hi Bob! Lunch on Friday\?"/,
      /alice got the delivered receipt/,
      /bob received the epoch 2 key; carol did not/,
      /bob logged in again and received it: "Bring the map, please"/,
      /\{"v":1,"t":"dm","kid":"[A-Za-z0-9_-]{11}","ct":"gAAAAA/,
      /identical to what alice sent: true/,
      /the 5 plaintexts and the file name: 0 found/,
      /Demo complete/,
      /temporary cluster stopped and its files removed/,
    ]
  ) assert.match(p.output, expected);
  assert.doesNotMatch(p.output, /! (alice|bob|carol):/, "no client reported an error");
  const dir = /sharing (\/\S+)\/server\/fastchat\.db/.exec(p.output)![1]!;
  await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
});
