/**
 * The client's check that a cluster is there before it asks for a password: `probeCluster`
 * with a fake `fetch` (refused, silent, answering), so no socket and no real wait.
 */

import assert from "node:assert/strict";
import {
  NoClusterError,
  probeCluster,
  type ProbeFetch,
} from "../../core/client/transport/cluster_probe.ts";

const A = "http://127.0.0.1:7100";
const B = "http://127.0.0.1:7101";

/** A fake fetch answering per host:port; `silent` hosts never answer until aborted. */
function _fake(
  answers: Record<string, "refused" | "silent" | Response>,
  asked: string[] = [],
): ProbeFetch {
  return (url, { signal }) => {
    asked.push(url.href);
    const answer = answers[url.host];
    if (answer === undefined || answer === "refused") {
      return Promise.reject(new TypeError("error sending request: Connection refused"));
    }
    if (answer === "silent") {
      return new Promise((_, reject) => {
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    }
    return Promise.resolve(answer);
  };
}

async function _rejects(p: Promise<unknown>): Promise<NoClusterError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof NoClusterError, `expected NoClusterError, got ${err}`);
    return err;
  }
  assert.fail("expected probeCluster to throw");
}

Deno.test("probeCluster() resolves with a balancer that answers GET /healthz with ok", async () => {
  const asked: string[] = [];
  const url = await probeCluster([A], {
    fetch: _fake({ "127.0.0.1:7100": new Response("ok") }, asked),
  });
  assert.equal(url, A);
  assert.deepEqual(asked, [`${A}/healthz`]);
});

Deno.test("probeCluster() throws NoClusterError naming the URL when the connection is refused", async () => {
  const err = await _rejects(probeCluster([A], { fetch: _fake({}) }));
  assert.equal(err.code, "no_cluster");
  assert.deepEqual(err.balancers, [{ url: A, reason: "unreachable", detail: "cannot connect" }]);
  assert.equal(
    err.message,
    `No FastChat cluster answers at ${A} (cannot connect); start one with "npm start" ` +
      `(or fastchat up), or give --balancer URL`,
  );
  assert.ok(!err.message.includes("\n"), "one line");
});

Deno.test("probeCluster() throws NoClusterError after timeoutMs when nothing answers", async () => {
  const err = await _rejects(
    probeCluster([A], { fetch: _fake({ "127.0.0.1:7100": "silent" }), timeoutMs: 20 }),
  );
  assert.deepEqual(err.balancers, [{ url: A, reason: "timeout", detail: "no answer in 20 ms" }]);
});

Deno.test("probeCluster() does not take a server that answers something else for a balancer", async () => {
  const err = await _rejects(probeCluster([A, B], {
    fetch: _fake({
      "127.0.0.1:7100": new Response("Not Found", { status: 404 }),
      "127.0.0.1:7101": new Response("<html>hello</html>"),
    }),
  }));
  assert.deepEqual(err.balancers.map((b) => [b.url, b.reason]), [
    [A, "not_fastchat"],
    [B, "not_fastchat"],
  ]);
  assert.match(err.message, /HTTP 404/);
});

Deno.test("probeCluster() passes when any one of several balancers answers, without waiting for the silent ones", async () => {
  const url = await probeCluster([A, B], {
    fetch: _fake({ "127.0.0.1:7100": "silent", "127.0.0.1:7101": new Response("ok\n") }),
    // Far longer than the test may take: resolving must not wait for A's timeout.
    timeoutMs: 600_000,
  });
  assert.equal(url, B);
});

Deno.test("probeCluster() names every balancer in one line when none answers", async () => {
  const err = await _rejects(probeCluster([A, B], {
    fetch: _fake({ "127.0.0.1:7101": "silent" }),
    timeoutMs: 20,
  }));
  assert.match(
    err.message,
    /^No FastChat cluster answers at http:\/\/127\.0\.0\.1:7100 \(cannot connect\) or http:\/\/127\.0\.0\.1:7101 \(no answer in 20 ms\); start one with "npm start"/,
  );
});

Deno.test("probeCluster() refuses an empty list and a timeout that is not positive", async () => {
  await assert.rejects(probeCluster([]), TypeError);
  await assert.rejects(probeCluster([A], { timeoutMs: 0 }), RangeError);
});
