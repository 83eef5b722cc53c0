/** @jsxRuntime automatic */
/** @jsxImportSource preact */
/**
 * A group's members, opened by the Members button in the conversation's header: a panel over
 * the right of the messages (the header stays as it is), with each member's avatar and, for
 * the admin, removing, handing over and adding. Escape or Close closes it.
 *
 * @module
 */

import { useEffect, useRef, useState } from "preact/hooks";
import { Avatar } from "./avatar.tsx";
import type { GroupInfo, WebController } from "./web_controller.ts";

/** The element ID of the panel, for the button's `aria-controls`. */
export const MEMBER_PANEL_ID = "member-panel";

/** Props of {@linkcode MemberPanel}. */
export interface MemberPanelProps {
  readonly group: GroupInfo;
  /** Your user ID: the admin may manage everyone else. */
  readonly myId: number;
  readonly controller: WebController;
  readonly onClose: () => void;
}

/** The member panel of `group`. */
export function MemberPanel({ group, myId, controller, onClose }: MemberPanelProps) {
  const [member, setMember] = useState("");
  const panel = useRef<HTMLElement>(null);
  // Opened from the keyboard, the panel is where the user goes next.
  useEffect(() => panel.current?.focus(), []);
  const admin = group.admin === myId;
  const gid = String(group.id);
  return (
    <aside
      id={MEMBER_PANEL_ID}
      class="member-panel"
      ref={panel}
      tabIndex={-1}
      aria-label={`Members of ${group.name}`}
      onKeyDown={(e) => {
        if (e.key !== "Escape") return;
        e.preventDefault();
        e.stopPropagation();
        onClose();
      }}
    >
      <div class="member-panel-head">
        <h3>Members ({group.members.length})</h3>
        <button type="button" class="small" onClick={onClose}>Close</button>
      </div>
      <ul class="members">
        {group.members.map((m) => (
          <li key={m.id}>
            <Avatar name={m.name} size="small" />
            <span class="member-name">{m.name}</span>
            {m.id === group.admin && <span class="badge">admin</span>}
            {admin && m.id !== myId && (
              <span class="member-actions">
                <button
                  type="button"
                  class="small"
                  aria-label={`Remove ${m.name}`}
                  onClick={() =>
                    void controller.run({ name: "remove_member", group: gid, user: m.name })}
                >
                  Remove
                </button>
                <button
                  type="button"
                  class="small"
                  aria-label={`Make ${m.name} the admin`}
                  onClick={() =>
                    void controller.run({ name: "transfer_group", group: gid, user: m.name })}
                >
                  Make admin
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
      {admin && (
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (member.trim() === "") return;
            void controller.run({ name: "add_member", group: gid, user: member.trim() });
            setMember("");
          }}
        >
          <label for="add-member" class="sr-only">Add a member</label>
          <input
            id="add-member"
            placeholder="add a member"
            autoComplete="off"
            value={member}
            onInput={(e) => setMember((e.target as HTMLInputElement).value)}
          />
          <button type="submit">Add</button>
        </form>
      )}
    </aside>
  );
}
