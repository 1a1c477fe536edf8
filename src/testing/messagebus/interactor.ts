/**
 * `Interactor`: the fake server's view of one connected client.
 *
 * @module
 */

import { Outbox } from "./outbox.ts";
import type { FakeClientInfo } from "./options.ts";

/** An authorizer\'s answer for one (feed, topic), cached per client. */
export interface AuthInfo {
  required: boolean;
  entitlements: ReadonlySet<number> | null;
}

/** One connected, authenticated client: its identity, authorization cache and outbox. */
export class Interactor implements FakeClientInfo {
  readonly id = crypto.randomUUID();
  readonly user: string;
  readonly host: string;
  readonly conn: Deno.Conn;
  readonly authCache = new Map<string, AuthInfo>();
  readonly publishing = new Set<string>();
  readonly outbox: Outbox;

  constructor(conn: Deno.Conn, user: string, host: string) {
    this.conn = conn;
    this.user = user;
    this.host = host;
    this.outbox = new Outbox(conn, () => this.close());
  }

  get closed(): boolean {
    return this.outbox.closed;
  }

  get queued(): number {
    return this.outbox.queued;
  }

  get info(): FakeClientInfo {
    return { id: this.id, user: this.user, host: this.host };
  }

  send(bytes: Uint8Array): void {
    this.outbox.send(bytes);
  }

  below(limit: number): Promise<void> {
    return this.outbox.below(limit);
  }

  get writing(): Promise<void> | undefined {
    return this.outbox.writing;
  }

  close(): void {
    this.outbox.close();
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }
}
