/**
 * Text measuring and cleaning for the screen: the shared Unicode-safe module, re-exported
 * for the full-screen client.
 *
 * @module
 */

export { displaySafe, displayWidth, truncateToWidth, wrapToWidth } from "../client/text_safety.ts";
