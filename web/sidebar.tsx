/** @jsxRuntime automatic */
/** @jsxImportSource preact */
/**
 * The conversation list (avatars, unread counts, online dots, verified and key-warning
 * marks; the Status entry counts pending requests) and the buttons that open the forms to
 * start a chat or a group.
 *
 * @module
 */

import { useRef, useState } from "preact/hooks";
import type { Conversation } from "../core/view/view_state.ts";
import { Avatar } from "./avatar.tsx";
import { StatusIcon } from "./icons.tsx";
import { NewChatForm, NewGroupForm } from "./start_forms.tsx";
import type { WebController, WebSnapshot } from "./web_controller.ts";

/** Props of {@linkcode Sidebar}. */
export interface SidebarProps {
  readonly snap: WebSnapshot;
  readonly controller: WebController;
}

/** The side list. */
export function Sidebar({ snap, controller }: SidebarProps) {
  const [form, setForm] = useState<"chat" | "group" | null>(null);
  const chatButton = useRef<HTMLButtonElement>(null);
  const groupButton = useRef<HTMLButtonElement>(null);
  const close = () => {
    // Back to the button that opened it, so the keyboard user is where they were.
    (form === "group" ? groupButton : chatButton).current?.focus();
    setForm(null);
  };
  const { view } = snap;
  return (
    <nav class="sidebar" aria-label="Conversations">
      <div class="start-buttons">
        <button
          type="button"
          ref={chatButton}
          aria-expanded={form === "chat"}
          aria-controls="new-chat"
          onClick={() => setForm(form === "chat" ? null : "chat")}
        >
          New chat
        </button>
        <button
          type="button"
          ref={groupButton}
          aria-expanded={form === "group"}
          aria-controls="new-group"
          onClick={() => setForm(form === "group" ? null : "group")}
        >
          New group
        </button>
      </div>
      {form === "chat" && <NewChatForm controller={controller} onClose={close} />}
      {form === "group" && <NewGroupForm controller={controller} onClose={close} />}
      <ul class="conversations">
        {view.conversations.map((c) => (
          <li key={c.key}>
            <_Entry
              conv={c}
              current={c.key === view.current}
              requests={c.kind === "status" ? snap.requests.length + snap.groupRequests.length : 0}
              onOpen={() => controller.open(c.key)}
            />
          </li>
        ))}
      </ul>
    </nav>
  );
}

function _Entry(
  { conv, current, requests, onOpen }: {
    conv: Conversation;
    current: boolean;
    requests: number;
    onOpen: () => void;
  },
) {
  return (
    <button
      type="button"
      class={current ? "conv current" : "conv"}
      aria-current={current ? "true" : undefined}
      data-conv={conv.key}
      onClick={onOpen}
    >
      <span class="avatar-slot">
        {conv.kind === "status"
          ? <StatusIcon />
          : <Avatar name={conv.name} group={conv.kind === "group"} />}
        {conv.kind === "direct" && <_Presence online={conv.online} />}
      </span>
      <span class="conv-name">{conv.kind === "status" ? "Status" : conv.name}</span>
      {conv.verified && <span class="verified" title="Keys verified">✓</span>}
      {conv.keyWarning && <span class="key-warning" title="Their keys changed">⚠</span>}
      {requests > 0 && (
        <span class="unread" aria-label={requests === 1 ? "1 request" : `${requests} requests`}>
          {requests}
        </span>
      )}
      {conv.unread > 0 && (
        <span class="unread" aria-label={`${conv.unread} unread`}>{conv.unread}</span>
      )}
    </button>
  );
}

/** Online, offline, or not told (null): the server tells only those the person made contacts. */
function _Presence({ online }: { online: boolean | null | undefined }) {
  if (online !== true && online !== false) return null;
  return (
    <span
      class={online ? "dot online" : "dot"}
      role="img"
      aria-label={online ? "online" : "offline"}
    />
  );
}
