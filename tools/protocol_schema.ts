/**
 * Writes docs/protocol.schema.json from the protocol's schema table
 * (`deno task schema`). tests/protocol_schema_test.ts fails while the published file differs.
 *
 * @module
 */

import { protocolJsonSchema } from "../core/protocol/json_schema.ts";
import { VERSION } from "../core/version.ts";

const out = new URL("../docs/protocol.schema.json", import.meta.url);
await Deno.writeTextFile(out, JSON.stringify(protocolJsonSchema(VERSION), null, 2) + "\n");
console.log(`Wrote ${out.pathname}`);
