/** `balancerOrigins`: the origins of the balancer's pages, which `fastchat up` allows. */

import assert from "node:assert/strict";
import { balancerOrigins } from "../../core/cluster/balancer_origins.ts";

Deno.test("balancerOrigins gives the loopback origins and the balancer's own address", () => {
  assert.deepEqual(balancerOrigins("127.0.0.1", 7100), [
    "http://127.0.0.1:7100",
    "http://localhost:7100",
  ]);
  assert.deepEqual(balancerOrigins("localhost", 8000), [
    "http://127.0.0.1:8000",
    "http://localhost:8000",
  ]);
  assert.deepEqual(balancerOrigins("192.168.1.5", 7100), [
    "http://127.0.0.1:7100",
    "http://localhost:7100",
    "http://192.168.1.5:7100",
  ]);
  assert.deepEqual(balancerOrigins("Chat.Lan", 80), [
    "http://127.0.0.1",
    "http://localhost",
    "http://chat.lan",
  ]);
  assert.deepEqual(balancerOrigins("::1", 7100), [
    "http://127.0.0.1:7100",
    "http://localhost:7100",
    "http://[::1]:7100",
  ]);
});

Deno.test("balancerOrigins leaves out wildcard addresses, which no page is served from", () => {
  for (const host of ["0.0.0.0", "::", "[::]"]) {
    assert.deepEqual(balancerOrigins(host, 7100), [
      "http://127.0.0.1:7100",
      "http://localhost:7100",
    ]);
  }
});
