/**
 * `fastchat demo`: a guided tour on a temporary in-process cluster.
 *
 * @module
 */

import { runDemo } from "../core/demo/demo.ts";
import type { Command } from "./command.ts";
import { parseFlags } from "./flags.ts";

/** `fastchat demo`. */
export const demoCommand: Command = {
  name: "demo",
  summary: "Walk three users through FastChat on a temporary cluster",
  async run(args) {
    const values = parseFlags(args, { help: { type: "boolean", short: "h" } });
    if (values.help) {
      console.log(
        "Usage: fastchat demo\n\nStarts a temporary cluster in this process (balancer + 3 " +
          "servers on 127.0.0.1), walks alice, bob and carol through friendship, direct and " +
          "group messages, a member's removal with key rotation, offline delivery and a file, " +
          "shows that the server stored only ciphertext, and cleans up.",
      );
      return 0;
    }
    return await runDemo();
  },
};
