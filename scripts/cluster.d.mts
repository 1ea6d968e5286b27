import type { NodeProfile } from './broker.mjs';

export const CLUSTER_NODES: NodeProfile[];
export function clusterUrls(): string[];
export function replicatedDefinitions(): Record<string, unknown>;
export function clusterStatus(): { members: string[]; running: string[] };
export function ensureCluster(): Promise<{ urls: string[]; launched: NodeProfile[] }>;
export function stopCluster(nodes?: NodeProfile[]): Promise<void>;
export function killNode(node: NodeProfile): Promise<void>;
export function restartNode(node: NodeProfile): Promise<void>;
