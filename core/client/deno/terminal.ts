/**
 * Terminal input for the client: a password prompt that does not echo (raw mode), and a
 * line reader for stdin in both the interactive and the scriptable mode.
 *
 * @module
 */

const _enc = new TextEncoder();

/**
 * Asks for a password on the terminal without echoing it. Backspace edits, Ctrl-C or
 * Ctrl-D cancel (rejects). Throws `TypeError` when stdin is not a terminal: scripts pass
 * `--password-file` or `FASTCHAT_PASSWORD` instead.
 */
export async function promptPassword(prompt = "Password: "): Promise<string> {
  if (!Deno.stdin.isTerminal()) {
    throw new TypeError(
      "No password given and stdin is not a terminal; use --password-file or FASTCHAT_PASSWORD",
    );
  }
  Deno.stderr.writeSync(_enc.encode(prompt));
  Deno.stdin.setRaw(true);
  const chars: string[] = [];
  const buf = new Uint8Array(64);
  const dec = new TextDecoder();
  try {
    for (;;) {
      const n = await Deno.stdin.read(buf);
      if (n === null) throw new Error("Password entry cancelled");
      for (const ch of dec.decode(buf.subarray(0, n), { stream: true })) {
        if (ch === "\r" || ch === "\n") return chars.join("");
        if (ch === "\u0003" || ch === "\u0004") throw new Error("Password entry cancelled");
        if (ch === "\u007f" || ch === "\b") chars.pop();
        else if (ch >= " ") chars.push(ch);
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(_enc.encode("\n"));
  }
}

/** Yields stdin's lines (without the newline) until end of input. */
export async function* stdinLines(): AsyncGenerator<string> {
  const dec = new TextDecoder();
  let pending = "";
  for await (const chunk of Deno.stdin.readable) {
    pending += dec.decode(chunk, { stream: true });
    let nl = pending.indexOf("\n");
    while (nl >= 0) {
      yield pending.slice(0, nl).replace(/\r$/, "");
      pending = pending.slice(nl + 1);
      nl = pending.indexOf("\n");
    }
  }
  pending += dec.decode();
  if (pending !== "") yield pending;
}
