import assert from "node:assert/strict";
import { E2eError } from "../../core/e2e/mod.ts";
import {
  ClientError,
  ConnectionClosedError,
  errorCode,
  isRetryable,
  RequestError,
  RequestTimeoutError,
  toErrorCode,
} from "../../core/client/engine/errors.ts";

Deno.test("toErrorCode() keeps the protocol's codes and maps unknown ones to internal", () => {
  assert.equal(toErrorCode("not_found"), "not_found");
  assert.equal(toErrorCode("rate_limited"), "rate_limited");
  assert.equal(toErrorCode("from_a_newer_server"), "internal");
});

Deno.test("isRetryable() is true for the connection's and the server's failures only", () => {
  assert.equal(isRetryable(new ConnectionClosedError("Connection closed (1006)", 1006)), true);
  assert.equal(isRetryable(new RequestTimeoutError("ping", 100)), true);
  assert.equal(isRetryable(new RequestError("internal", "Oops")), true);
  assert.equal(isRetryable(new RequestError("rate_limited", "Slow down", 500)), true);
  assert.equal(isRetryable(new RequestError("not_member", "Not a member")), false);
  assert.equal(isRetryable(new RequestError("forbidden", "Not allowed")), false);
  assert.equal(isRetryable(new ClientError("no_key", "No key yet")), false);
  // The words of a message decide nothing.
  assert.equal(isRetryable(new Error("Connection closed (1006)")), false);
});

Deno.test("errorCode() gives the code of the client's typed errors, and nothing else", () => {
  assert.equal(errorCode(new RequestError("forbidden", "No")), "forbidden");
  assert.equal(errorCode(new ConnectionClosedError("Gone")), "connection_closed");
  assert.equal(errorCode(new RequestTimeoutError("lookup", 5)), "request_timeout");
  assert.equal(errorCode(new ClientError("keys_changed", "Changed")), "keys_changed");
  assert.equal(errorCode(new E2eError("bad_signature", "Forged")), "bad_signature");
  assert.equal(errorCode(new Error("plain")), undefined);
  assert.equal(errorCode("not an error"), undefined);
});

Deno.test("RequestTimeoutError says which request and how long", () => {
  const err = new RequestTimeoutError("list_groups", 250);
  assert.equal(err.message, "No answer to list_groups within 250 ms");
  assert.equal(err.requestType, "list_groups");
  assert.equal(err.timeoutMs, 250);
});
