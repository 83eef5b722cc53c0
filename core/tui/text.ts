/**
 * Text measuring and cleaning for the screen, in one place for the full-screen client.
 *
 * @module
 */

export { displaySafe, displayWidth, truncateToWidth, wrapToWidth } from "./text_interim.ts";
