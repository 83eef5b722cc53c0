/** @jsxRuntime automatic */
/** @jsxImportSource preact */
/**
 * The account's devices on the Status page: each with when it was linked, this browser
 * marked, and an Unlink button for the others (it is logged out everywhere at once and gets
 * nothing new). The list is the newest one this browser checked (docs/CRYPTO.md).
 *
 * @module
 */

import type { WebController, WebSnapshot } from "./web_controller.ts";

/** Props of {@linkcode DevicesPanel}. */
export interface DevicesPanelProps {
  readonly snap: WebSnapshot;
  readonly controller: WebController;
}

/** The account's devices. */
export function DevicesPanel({ snap, controller }: DevicesPanelProps) {
  if (snap.devices.length === 0) return null;
  return (
    <div class="devices">
      <h3>Your devices</h3>
      <ul>
        {snap.devices.map((d) => (
          <li key={d.id} class="device">
            <strong>{d.name}</strong> · linked {new Date(d.added).toLocaleDateString()}
            {d.current ? <span class="this-device">(this browser)</span> : (
              <button
                type="button"
                onClick={() => void controller.run({ name: "unlink", device: d.name })}
              >
                Unlink {d.name}
              </button>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
