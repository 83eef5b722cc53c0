/** @jsxRuntime automatic */
/** @jsxImportSource preact */
/**
 * People who want to talk (not contacts yet: accept or block), and blocked users. The one
 * place a request shows in the browser (the Status entry's badge counts these).
 *
 * @module
 */

import { Avatar } from "./avatar.tsx";
import type { WebController, WebSnapshot } from "./web_controller.ts";

/** Props of {@linkcode RequestsPanel}. */
export interface RequestsPanelProps {
  readonly snap: WebSnapshot;
  readonly controller: WebController;
}

/** The requests and blocked users. */
export function RequestsPanel({ snap, controller }: RequestsPanelProps) {
  if (snap.requests.length === 0 && snap.blocked.length === 0) return null;
  return (
    <div class="requests">
      {snap.requests.length > 0 && <h3>Requests</h3>}
      <ul>
        {snap.requests.map((r) => (
          <li key={r.id} class="request">
            <Avatar name={r.user} size="small" />
            <span>
              <strong>{r.user}</strong> wants to talk to you
              {r.text !== null ? `: "${r.text}"` : ""}
            </span>
            <button
              type="button"
              onClick={() => void controller.run({ name: "accept", user: r.user })}
            >
              Accept {r.user}
            </button>
            <button
              type="button"
              onClick={() => void controller.run({ name: "block", user: r.user })}
            >
              Block {r.user}
            </button>
          </li>
        ))}
      </ul>
      {snap.blocked.length > 0 && <h3>Blocked</h3>}
      <ul>
        {snap.blocked.map((b) => (
          <li key={b.id}>
            {b.user}
            <button
              type="button"
              onClick={() => void controller.run({ name: "unblock", user: b.user })}
            >
              Unblock {b.user}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
