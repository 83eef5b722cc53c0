/**
 * Runs a function after the events already received are handled: `setImmediate` where the
 * runtime has it (Deno), a zero timeout in a browser.
 *
 * @module
 */

const _setImmediate = (globalThis as { setImmediate?: (fn: () => void) => unknown })
  .setImmediate;

/** Calls `fn` on a later turn of the event loop. */
export function nextTurn(fn: () => void): void {
  if (_setImmediate !== undefined) _setImmediate(fn);
  else setTimeout(fn, 0);
}
