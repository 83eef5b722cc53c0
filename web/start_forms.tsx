/** @jsxRuntime automatic */
/** @jsxImportSource preact */
/**
 * The forms that start something, each shown when its button in the side list is pressed:
 * a chat with a user (a contact request) and a group. Escape or Cancel closes one; so does
 * sending it.
 *
 * @module
 */

import { useEffect, useRef, useState } from "preact/hooks";
import type { WebController } from "./web_controller.ts";

/** Props of the start forms. */
export interface StartFormProps {
  readonly controller: WebController;
  /** Closes the form (it was sent, or the user cancelled). */
  readonly onClose: () => void;
}

/** Asks `username` to talk and opens the conversation with them. */
export function NewChatForm({ controller, onClose }: StartFormProps) {
  const [contact, setContact] = useState("");
  const first = _useFocus();
  return (
    <form
      id="new-chat"
      class="mini-form"
      aria-label="New chat"
      onKeyDown={(e) => _escape(e, onClose)}
      onSubmit={(e) => {
        e.preventDefault();
        const name = contact.trim();
        if (name === "") return;
        void controller.run({ name: "add_friend", user: name });
        controller.openByName(name);
        onClose();
      }}
    >
      <label for="add-contact">Chat with (username)</label>
      <input
        id="add-contact"
        ref={first}
        placeholder="username"
        autoComplete="off"
        value={contact}
        onInput={(e) => setContact((e.target as HTMLInputElement).value)}
      />
      <_Buttons submit="Add" onClose={onClose} />
    </form>
  );
}

/** Creates a group with a name and members. */
export function NewGroupForm({ controller, onClose }: StartFormProps) {
  const [groupName, setGroupName] = useState("");
  const [groupMembers, setGroupMembers] = useState("");
  const first = _useFocus();
  return (
    <form
      id="new-group"
      class="mini-form"
      aria-label="New group"
      onKeyDown={(e) => _escape(e, onClose)}
      onSubmit={(e) => {
        e.preventDefault();
        const name = groupName.trim();
        const users = groupMembers.split(/[\s,]+/).filter((u) => u !== "");
        if (name === "") return;
        void controller.run({ name: "create_group", group: name, users });
        onClose();
      }}
    >
      <label for="group-name">Group name</label>
      <input
        id="group-name"
        ref={first}
        placeholder="group name"
        autoComplete="off"
        value={groupName}
        onInput={(e) => setGroupName((e.target as HTMLInputElement).value)}
      />
      <label for="group-members">Members</label>
      <input
        id="group-members"
        placeholder="e.g. bob carol"
        autoComplete="off"
        value={groupMembers}
        onInput={(e) => setGroupMembers((e.target as HTMLInputElement).value)}
      />
      <_Buttons submit="Create" onClose={onClose} />
    </form>
  );
}

function _Buttons({ submit, onClose }: { submit: string; onClose: () => void }) {
  return (
    <div class="row form-buttons">
      <button type="submit">{submit}</button>
      <button type="button" onClick={onClose}>Cancel</button>
    </div>
  );
}

/** Focuses the form's first field when it opens: the button press meant "let me type". */
function _useFocus() {
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return ref;
}

/** Escape closes the form, and goes no further (it would also clear the notice). */
function _escape(e: KeyboardEvent, onClose: () => void): void {
  if (e.key !== "Escape") return;
  e.preventDefault();
  e.stopPropagation();
  onClose();
}
