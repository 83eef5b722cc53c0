/** @jsxRuntime automatic */
/** @jsxImportSource preact */
/**
 * The signed-in page: status bar, conversation list, the open conversation and the
 * composer, the notice line and the safety number dialog. Alt+Up/Down switch
 * conversations; Escape closes the dialog or the notice.
 *
 * @module
 */

import { useEffect, useState } from "preact/hooks";
import { Composer } from "./composer.tsx";
import { connText } from "./format.ts";
import { ConversationPane } from "./conversation_pane.tsx";
import { SafetyDialog } from "./safety_dialog.tsx";
import { Sidebar } from "./sidebar.tsx";
import type { Session } from "./session.ts";
import type { WebSnapshot } from "./web_controller.ts";

/** Props of {@linkcode ChatView}. */
export interface ChatViewProps {
  readonly session: Session;
  readonly onLogout: () => void;
}

/** The signed-in page. */
export function ChatView({ session, onLogout }: ChatViewProps) {
  const { controller } = session;
  const [snap, setSnap] = useState<WebSnapshot>(controller.snapshot);
  const [menu, setMenu] = useState(false);
  useEffect(() => controller.subscribe(() => setSnap(controller.snapshot)), [controller]);
  useEffect(() => {
    // `/quit` and `/logout` typed in the composer leave as the "Log out" button does.
    controller.onLeave = onLogout;
    return () => {
      controller.onLeave = null;
    };
  }, [controller, onLogout]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.altKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
        e.preventDefault();
        const keys = controller.snapshot.view.conversations.map((c) => c.key);
        const at = keys.indexOf(controller.snapshot.view.current);
        const next = keys[(at + (e.key === "ArrowUp" ? -1 : 1) + keys.length) % keys.length];
        if (next !== undefined) controller.open(next);
      } else if (e.key === "Escape") {
        if (controller.snapshot.safety) controller.closeSafety();
        else controller.clearNotice();
      }
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, [controller]);
  useEffect(() => {
    // Requests waiting count as the Status entry's badge counts them.
    const unread = snap.view.conversations.reduce(
      (n, c) => n + c.unread,
      snap.requests.length + snap.groupRequests.length,
    );
    document.title = unread > 0 ? `(${unread}) FastChat` : "FastChat";
  }, [snap]);

  const { view } = snap;
  const conv = view.conversations.find((c) => c.key === view.current)!;
  const download = async (path: string) => {
    const name = path.split("/").pop() || "file";
    const bytes = await session.files.received(path);
    if (bytes === null) {
      controller.onEvent({ event: "error", message: `${name} is not stored in this browser` });
      return;
    }
    const url = URL.createObjectURL(new Blob([bytes as BlobPart]));
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  return (
    <div class={menu ? "chat menu-open" : "chat"}>
      <header class="topbar">
        <button
          type="button"
          class="menu-button"
          aria-expanded={menu}
          aria-controls="sidebar"
          onClick={() => setMenu(!menu)}
        >
          ☰ <span class="sr-only">Conversations</span>
        </button>
        <strong class="me">{view.me}</strong>
        <span class={`conn ${view.conn}`} role="status" aria-live="polite">
          {connText(view.conn, view.server, view.attempts)}
        </span>
        <button type="button" onClick={onLogout}>Log out</button>
      </header>
      <div class="body">
        <div
          id="sidebar"
          onClick={(e) => {
            // Choosing a conversation (or starting one) folds the phone menu; opening a form
            // in it does not. Enter in a form clicks its submit button too.
            if ((e.target as Element).closest(".conv, button[type=submit]")) setMenu(false);
          }}
        >
          <Sidebar snap={snap} controller={controller} />
        </div>
        <div class="main">
          <ConversationPane snap={snap} controller={controller} onDownload={download} />
          {view.notice !== null && (
            <p
              class={view.notice.error ? "notice error" : "notice"}
              role={view.notice.error ? "alert" : "status"}
            >
              {view.notice.text}
              <button
                type="button"
                class="small"
                aria-label="Dismiss"
                onClick={() => controller.clearNotice()}
              >
                ×
              </button>
            </p>
          )}
          <Composer
            label={conv.kind === "status"
              ? "Type a command, e.g. add_friend bob"
              : `Message ${conv.name}`}
            transfers={view.transfers}
            canSendFile={conv.kind !== "status"}
            onSubmit={(text) => controller.submit(text)}
            onFile={(file) => {
              const path = session.files.pick(file);
              void controller.sendFile(path).finally(() => session.files.release(path));
            }}
          />
        </div>
      </div>
      {snap.safety !== null && (
        <SafetyDialog
          user={snap.safety.user}
          number={snap.safety.number}
          verified={snap.safety.verified}
          onVerify={() => void controller.run({ name: "verify", user: snap.safety!.user })}
          onClose={() => controller.closeSafety()}
        />
      )}
    </div>
  );
}
