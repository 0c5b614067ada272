/**
 * Error types of the plugin and the one place where any thrown value becomes a
 * CNI error object.
 *
 * @example
 * ```ts
 * import { CniError, ErrorCode, toCniError } from "./errors.ts";
 * const e = toCniError(new CniError(ErrorCode.InvalidNetworkConfig, "Bad field"));
 * if (e.code !== 7) throw new Error("unexpected");
 * ```
 *
 * @module
 */

/** Well-known CNI error codes (0-99 belong to the spec) and ours (100+). */
export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidNetworkConfig: 7,
  /** CNI_NETNS names the plugin's own network namespace (the node): refused before anything changes. */
  NetnsIsHost: 8,
  TryAgainLater: 11,
  StatusNotAvailable: 50,
  StatusDegraded: 51,
  /** Another host answered for one of the pod's addresses. */
  IpConflict: 100,
  /** The pod's gateway did not answer ARP / neighbour solicitation. */
  GatewayUnreachable: 101,
  /** The pod netns or the interface named by CNI_IFNAME is not there. */
  NotFound: 102,
  /** A kernel operation (ip, iptables, sysctl) failed. */
  NetworkSetupFailed: 103,
  /** CHECK found the live state different from what ADD made. */
  CheckFailed: 104,
  /** A raw socket could not be opened or used. */
  RawSocketFailed: 105,
  Internal: 999,
} as const;

/** One of the numeric codes in {@linkcode ErrorCode}. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** A CNI error: printed as `{cniVersion, code, msg, details}` on stdout. */
export class CniError extends Error {
  /** The CNI error code. */
  readonly code: number;
  /** Longer text: printed as `details`. */
  readonly details: string | undefined;

  /**
   * @param code the CNI error code
   * @param msg short message, sentence case, no trailing period
   * @param options `details` and an optional `cause`
   */
  constructor(code: number, msg: string, options: { details?: string; cause?: unknown } = {}) {
    super(msg, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CniError";
    this.code = code;
    this.details = options.details;
  }
}

/** A child process (ip, iptables, nsenter ...) that exited with an unexpected status. */
export class CommandError extends Error {
  /** The argv that was run. */
  readonly argv: readonly string[];
  /** Its exit code. */
  readonly exitCode: number;
  /** The last lines of its stderr. */
  readonly stderrTail: string;

  /**
   * @param argv the command line
   * @param exitCode the exit status
   * @param stderr the whole stderr text (only its tail is kept)
   */
  constructor(argv: readonly string[], exitCode: number, stderr: string) {
    const tail = stderr.trim().split("\n").slice(-6).join("\n");
    super(`Command "${argv.join(" ")}" failed with exit code ${exitCode}: ${tail}`);
    this.name = "CommandError";
    this.argv = argv;
    this.exitCode = exitCode;
    this.stderrTail = tail;
  }
}

/**
 * The message of anything thrown: an Error's message, else its text.
 *
 * @param err the thrown value
 * @returns the message
 */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Turn anything thrown into a {@linkcode CniError}: a CniError passes through,
 * a CommandError becomes code 103, everything else code 999 (no stack on stdout).
 *
 * @param err the thrown value
 * @returns a CniError
 */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof CommandError) {
    return new CniError(ErrorCode.NetworkSetupFailed, err.message, { cause: err });
  }
  return new CniError(ErrorCode.Internal, `Internal error: ${errorMessage(err)}`, { cause: err });
}
