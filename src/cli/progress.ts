/**
 * The live progress line `pubsub bridge` and `pubsub bench` draw on a
 * terminal's standard error.
 *
 * @module
 */

import type { Context } from "./context.ts";

/** The live progress line on a terminal's stderr. */
export class Progress {
  readonly #ctx: Context;
  readonly #line: () => string;
  readonly #timer: ReturnType<typeof setInterval>;
  #drawing: Promise<unknown> = Promise.resolve();

  /**
   * Starts drawing.
   *
   * @param ctx The I/O (its `err` is drawn on).
   * @param line Makes the line, each time it is drawn.
   * @param everyMs How often it is drawn.
   */
  constructor(ctx: Context, line: () => string, everyMs = 200) {
    this.#ctx = ctx;
    this.#line = line;
    this.#timer = setInterval(() => this.#draw(), everyMs);
  }

  #draw(): void {
    this.#drawing = this.#drawing.then(() => this.#ctx.err.write(`\r\x1b[2K${this.#line()}`));
  }

  /** Stops drawing and clears the line. */
  async end(): Promise<void> {
    clearInterval(this.#timer);
    await this.#drawing;
    await this.#ctx.err.write("\r\x1b[2K");
  }
}
