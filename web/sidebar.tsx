/** @jsxRuntime automatic */
/** @jsxImportSource preact */
/**
 * The conversation list (unread counts, online dots, verified and key-warning marks) and
 * the forms to start a chat or a group.
 *
 * @module
 */

import { useState } from "preact/hooks";
import type { Conversation } from "../core/view/view_state.ts";
import type { WebController, WebSnapshot } from "./web_controller.ts";

/** Props of {@linkcode Sidebar}. */
export interface SidebarProps {
  readonly snap: WebSnapshot;
  readonly controller: WebController;
}

/** The side list. */
export function Sidebar({ snap, controller }: SidebarProps) {
  const [contact, setContact] = useState("");
  const [groupName, setGroupName] = useState("");
  const [groupMembers, setGroupMembers] = useState("");
  const { view } = snap;
  return (
    <nav class="sidebar" aria-label="Conversations">
      <ul class="conversations">
        {view.conversations.map((c) => (
          <li key={c.key}>
            <button
              type="button"
              class={c.key === view.current ? "conv current" : "conv"}
              aria-current={c.key === view.current ? "true" : undefined}
              data-conv={c.key}
              onClick={() => controller.open(c.key)}
            >
              <_Dot conv={c} />
              <span class="conv-name">{c.kind === "status" ? "Status" : c.name}</span>
              {c.verified && <span class="verified" title="Keys verified">✓</span>}
              {c.keyWarning && <span class="key-warning" title="Their keys changed">⚠</span>}
              {c.unread > 0 && (
                <span class="unread" aria-label={`${c.unread} unread`}>{c.unread}</span>
              )}
            </button>
          </li>
        ))}
      </ul>
      <form
        class="mini-form"
        onSubmit={(e) => {
          e.preventDefault();
          const name = contact.trim();
          if (name === "") return;
          void controller.run({ name: "add_friend", user: name });
          controller.openByName(name);
          setContact("");
        }}
      >
        <label for="add-contact">Add a contact</label>
        <div class="row">
          <input
            id="add-contact"
            placeholder="username"
            value={contact}
            onInput={(e) => setContact((e.target as HTMLInputElement).value)}
          />
          <button type="submit">Add</button>
        </div>
      </form>
      <form
        class="mini-form"
        onSubmit={(e) => {
          e.preventDefault();
          const name = groupName.trim();
          const users = groupMembers.split(/[\s,]+/).filter((u) => u !== "");
          if (name === "") return;
          void controller.run({ name: "create_group", group: name, users });
          setGroupName("");
          setGroupMembers("");
        }}
      >
        <label for="group-name">New group</label>
        <input
          id="group-name"
          placeholder="group name"
          value={groupName}
          onInput={(e) => setGroupName((e.target as HTMLInputElement).value)}
        />
        <label for="group-members" class="sr-only">Members</label>
        <div class="row">
          <input
            id="group-members"
            placeholder="members, e.g. bob carol"
            value={groupMembers}
            onInput={(e) => setGroupMembers((e.target as HTMLInputElement).value)}
          />
          <button type="submit">Create</button>
        </div>
      </form>
    </nav>
  );
}

function _Dot({ conv }: { conv: Conversation }) {
  if (conv.kind !== "direct") {
    return <span class="dot none" aria-hidden="true">{conv.kind === "group" ? "#" : "*"}</span>;
  }
  // Unknown (null) unless this person made the user a contact: the server tells only them.
  const label = conv.online === true ? "online" : conv.online === false ? "offline" : "";
  if (label === "") return <span class="dot unknown" aria-hidden="true">@</span>;
  return (
    <span class={label === "online" ? "dot online" : "dot"} role="img" aria-label={label}>
      ●
    </span>
  );
}
