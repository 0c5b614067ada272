/**
 * What a subcommand gets and gives: its arguments, stdin on demand, and text
 * for stdout and stderr; the exit code is its return value. main.ts does the
 * writing, so subcommands run in-process in tests.
 *
 * @module
 */

/** The I/O of one subcommand run. */
export interface CliIo {
  /** The arguments after the subcommand's name. */
  args: string[];
  /** stdin, read when called (at most 1 MiB). */
  stdin(): Promise<Uint8Array>;
  out(text: string): void;
  err(text: string): void;
}

/** A subcommand module: `run` returns the exit code. */
export interface Subcommand {
  /** One line for `coordinator --help`. */
  summary: string;
  run(io: CliIo): Promise<number>;
}
