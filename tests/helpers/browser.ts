/**
 * A real browser for the web client's tests: Debian's Chromium, headless, driven by
 * playwright-core (it cannot download browsers here, and needs none). Each user gets a
 * context of their own (own IndexedDB, like a separate browser profile).
 *
 * @module
 */

import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

/** Where Debian installs Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Launches headless Chromium with nothing reaching out to the network on its own. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** One person in their own browser profile, on the page served by the balancer. */
export class WebUser {
  readonly name: string;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Everything the page logged (errors included), for failure messages. */
  readonly console: string[] = [];

  private constructor(name: string, context: BrowserContext, page: Page) {
    this.name = name;
    this.context = context;
    this.page = page;
    page.on("console", (m) => void this.console.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => void this.console.push(`pageerror: ${e.message}`));
  }

  /** Opens `url` in a new context of `browser`; `locale` as the browser's (e.g. `de-DE`). */
  static async open(
    browser: Browser,
    name: string,
    url: string,
    viewport = { width: 1100, height: 720 },
    locale?: string,
    /** Script run in every page before its own (e.g. to make a browser API answer otherwise). */
    initScript?: string,
  ): Promise<WebUser> {
    const context = await browser.newContext({ viewport, acceptDownloads: true, locale });
    if (initScript !== undefined) await context.addInitScript(initScript);
    const page = await context.newPage();
    const u = new WebUser(name, context, page);
    await page.goto(url);
    return u;
  }

  /** Signs in (a new account when this profile has no keys for the name). */
  async signIn(password = `pw-of-${this.name}`): Promise<void> {
    const p = this.page;
    await p.fill("#username", this.name);
    await p.fill("#password", password);
    if (await p.locator("#password-again").count() > 0) {
      await p.fill("#password-again", password);
    }
    await p.click("form button[type=submit]");
    await p.locator(".conn.online").waitFor({ timeout: 30_000 });
  }

  /** Opens the conversation with key `key` (`@name`, `#id`, `*`). */
  async open(key: string): Promise<void> {
    await this.page.click(`.conv[data-conv="${key}"]`);
  }

  /** Asks `name` to talk through the New chat form (opened with its button, as people do). */
  async addContact(name: string): Promise<void> {
    const p = this.page;
    const open = p.getByRole("button", { name: "New chat" });
    if (await open.getAttribute("aria-expanded") !== "true") await open.click();
    await p.fill("#add-contact", name);
    await p.press("#add-contact", "Enter");
  }

  /** Types `text` in the composer and sends it. */
  async say(text: string): Promise<void> {
    await this.page.fill("#composer-input", text);
    await this.page.press("#composer-input", "Enter");
  }

  /** Waits until a message line containing `text` is shown in the open conversation. */
  async sees(text: string, timeout = 20_000): Promise<void> {
    await this.page.locator(".messages .line", { hasText: text }).first().waitFor({ timeout });
  }

  /** The page's log, for assertion messages. */
  log(): string {
    return this.console.join("\n");
  }
}
