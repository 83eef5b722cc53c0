/** FastChat's version, printed by `fastchat --version` and reported by servers. */
export const VERSION = "0.4.0";
