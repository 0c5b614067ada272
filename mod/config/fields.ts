/**
 * The field table: every configuration key the plugin reads, with its kind,
 * default, limits and description. It is the one source of the validator
 * (`./parse.ts`), the JSON Schema (`tools/scripts/gen_schema.ts`) and the
 * README's configuration table (`tools/scripts/gen_config_table.ts`).
 *
 * @module
 */

/** The kinds of value a field takes; each has one validator and one schema form. */
export type FieldKind =
  | "string"
  | "boolean"
  | "integer"
  | "enum"
  | "ifname"
  | "cidrList"
  | "policyRoutes"
  | "macPrefix"
  | "ipv4"
  | "duration"
  | "logLevel"
  | "logFile"
  | "object";

/** One field of the configuration: the single source for validation, defaults and the schema. */
export interface FieldSpec {
  kind: FieldKind;
  description: string;
  /** Default when the key is missing (also for "" / [] where `emptyIsDefault`). */
  default?: unknown;
  /** An empty string or list means "use the default" (the original's merge rule). */
  emptyIsDefault?: boolean;
  enum?: readonly string[];
  minimum?: number;
  maximum?: number;
  /** Integer values that are refused even inside [minimum, maximum]. */
  forbidden?: readonly number[];
  /** Other accepted spellings of the key. */
  aliases?: readonly string[];
  /** For kind "object". */
  properties?: Readonly<Record<string, FieldSpec>>;
  /** Parsed for compatibility, has no effect. */
  ignored?: boolean;
}

const IFNAME_DESC = "Linux interface name: 1-15 bytes, no '/', ':', whitespace, not '.' or '..'";

/** Every configuration key the plugin reads, with its rules. */
export const CONFIG_FIELDS: Readonly<Record<string, FieldSpec>> = {
  mode: {
    kind: "enum",
    enum: ["auto", "underlay", "overlay", "disable", "disabled"],
    default: "auto",
    emptyIsDefault: true,
    description: "auto: underlay when the NIC is podDefaultCniNic or veth0 exists, else overlay; " +
      "disable/disabled: pass prevResult through and touch nothing",
  },
  podDefaultCniNic: {
    kind: "ifname",
    default: "eth0",
    emptyIsDefault: true,
    description: `The pod's first NIC. ${IFNAME_DESC}`,
  },
  podDefaultRouteNic: {
    kind: "ifname",
    default: "",
    emptyIsDefault: true,
    description:
      `NIC that keeps the pod's default route ("" = the one that has it). ${IFNAME_DESC}`,
  },
  multusNicPrefix: { kind: "string", ignored: true, description: "Accepted and ignored" },
  tunePodRoutes: {
    kind: "boolean",
    default: true,
    description: "Per-NIC policy routing for multi-NIC pods",
  },
  overlayPodCIDR: {
    kind: "cidrList",
    default: [],
    description: "Cluster pod CIDRs routed through the node (veth0 / eth0)",
  },
  serviceCIDR: {
    kind: "cidrList",
    default: [],
    description: "Service CIDRs routed through the node (veth0 / eth0)",
  },
  hijackCIDR: {
    kind: "cidrList",
    default: [],
    description: "Extra CIDRs routed through the node (CIDRs only: write a host as /32 or /128)",
  },
  policyRoutes: {
    kind: "policyRoutes",
    default: [],
    description:
      "Static routes [{dst, gw}] added via the current NIC (dst a CIDR, same family as gw)",
  },
  hostRuleTable: {
    kind: "integer",
    default: 500,
    minimum: 1,
    maximum: 4294967295,
    forbidden: [253, 254, 255],
    description: "Node routing table for the /32 routes to pods (not 253/254/255)",
  },
  podRPFilter: {
    kind: "integer",
    default: 0,
    minimum: -1,
    maximum: 2,
    description: "rp_filter in the pod (all, default and every interface); -1 leaves it alone",
  },
  hostRPFilter: {
    kind: "integer",
    minimum: -1,
    maximum: 2,
    ignored: true,
    description: "Deprecated: accepted and ignored, the node's sysctls are never written",
  },
  txQueueLen: {
    kind: "integer",
    default: 0,
    minimum: 0,
    maximum: 4294967295,
    description: "txqueuelen of the pod NIC (0 leaves it alone)",
  },
  podMACPrefix: {
    kind: "macPrefix",
    default: "",
    emptyIsDefault: true,
    description: "Two unicast bytes 'xx:yy' (first byte even); the NIC MAC becomes prefix + " +
      "the last 4 bytes of its first IP",
  },
  vethLinkAddress: {
    kind: "ipv4",
    default: "",
    emptyIsDefault: true,
    description: "IPv4 address (e.g. 169.254.200.1) put on veth0 as /32",
  },
  vethMTU: {
    kind: "integer",
    default: 1500,
    minimum: 68,
    maximum: 65535,
    description: "MTU of the veth pair",
  },
  detectIPConflict: {
    kind: "boolean",
    default: false,
    description: "Fail ADD when another host answers for a pod address (ARP probe / DAD NS)",
  },
  detectGateway: {
    kind: "boolean",
    default: false,
    description: "Fail ADD when a default gateway of the NIC does not answer (ARP / NS)",
  },
  detectOptions: {
    kind: "object",
    description: "Detection timing",
    properties: {
      retries: {
        kind: "integer",
        default: 3,
        minimum: 0,
        maximum: 100,
        aliases: ["retry"],
        description: "Probes per address (0 means the default, 3)",
      },
      interval: {
        kind: "duration",
        default: "10ms",
        emptyIsDefault: true,
        minimum: 0,
        maximum: 10_000,
        description: "Gap between probes, Go duration syntax (e.g. 10ms)",
      },
      timeout: {
        kind: "duration",
        default: "100ms",
        emptyIsDefault: true,
        minimum: 1,
        maximum: 60_000,
        description: "Wait after the last probe, Go duration syntax (e.g. 100ms)",
      },
    },
  },
  logOptions: {
    kind: "object",
    description: "Log file settings",
    properties: {
      logLevel: {
        kind: "logLevel",
        default: "debug",
        enum: ["debug", "info", "warn", "error", "fatal", "panic"],
        description: "Lowest level written (case-insensitive)",
      },
      logFile: {
        kind: "logFile",
        default: "/var/log/spidernet/coordinator.log",
        emptyIsDefault: true,
        description: "Absolute path under /var/log, no symlinks on the way",
      },
      logMaxSize: {
        kind: "integer",
        default: 100,
        minimum: 0,
        maximum: 1_000_000,
        aliases: ["maxSize"],
        description: "Rotate at this size in MB (0 = 100)",
      },
      logMaxAge: {
        kind: "integer",
        default: 0,
        minimum: 0,
        maximum: 1_000_000,
        aliases: ["maxAge"],
        description: "Delete rotated files older than this many days (0 = never)",
      },
      logMaxCount: {
        kind: "integer",
        default: 0,
        minimum: 0,
        maximum: 1_000_000,
        aliases: ["maxCount"],
        description: "Keep at most this many rotated files (0 = all)",
      },
    },
  },
};
