/** @jsxRuntime automatic */
/** @jsxImportSource preact */
/**
 * An initials avatar (see initials.ts). Decorative: hidden from screen readers, so the name
 * written next to it is what they read, once.
 *
 * @module
 */

import { avatarColor, initials } from "./initials.ts";

/** Props of {@linkcode Avatar}. */
export interface AvatarProps {
  readonly name: string;
  /** `small` for message lines and member lists. */
  readonly size?: "small" | "normal";
  /** A group's avatar is a rounded square, a person's a circle. */
  readonly group?: boolean;
}

/** The avatar of `name`. */
export function Avatar({ name, size = "normal", group = false }: AvatarProps) {
  const cls = ["avatar", size === "small" ? "small" : "", group ? "group" : ""].filter(Boolean);
  return (
    <span class={cls.join(" ")} style={{ background: avatarColor(name) }} aria-hidden="true">
      {initials(name)}
    </span>
  );
}
