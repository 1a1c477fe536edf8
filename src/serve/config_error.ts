/**
 * The error every mistake in a `pubsub serve` configuration becomes.
 *
 * @module
 */

/** A mistake in the configuration file: where it is and why. Exit code 2 on the command line. */
export class ConfigError extends TypeError {
  /** The error's name. */
  override name: string = "ConfigError";
  /** The file, as given (or `"<config>"`). */
  readonly file: string;
  /** The line (from 1). */
  readonly line: number;
  /** The column (from 1). */
  readonly column: number;
  /** What is wrong, without the position. */
  readonly reason: string;

  /**
   * Creates the error.
   *
   * @param file The file.
   * @param line The line.
   * @param column The column.
   * @param reason What is wrong.
   */
  constructor(file: string, line: number, column: number, reason: string) {
    super(`${file}:${line}:${column}: ${reason}`);
    this.file = file;
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}
