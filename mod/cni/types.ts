/**
 * Wire types of the CNI protocol, in the 1.x shape we hold internally.
 *
 * @module
 */

/** One interface of a CNI result. */
export interface Interface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

/** One address of a CNI result (1.x: no `version`). */
export interface IpConfig {
  /** CIDR with host bits kept, e.g. "10.1.0.5/16". */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

/** One route of a CNI result. */
export interface Route {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

/** DNS settings of a CNI result. */
export interface Dns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A CNI result in the internal (1.x) model. */
export interface Result {
  cniVersion: string;
  interfaces?: Interface[];
  ips?: IpConfig[];
  routes?: Route[];
  dns?: Dns;
}

/** The CNI_* environment of one invocation (empty strings mean absent). */
export interface CniEnv {
  command: string;
  containerId: string;
  netns: string;
  ifname: string;
  args: string;
  path: string;
}
