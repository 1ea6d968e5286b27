export interface NodeProfile {
  index: number;
  name: string;
  stateDir: string;
  pidFile: string;
  ports: { amqp: number; stomp: number; webStomp: number; management: number; dist: number };
}
export function nodeProfile(index?: number): NodeProfile;
export function brokerUrl(): string;
export function brokerUrls(): string[];
export function webStompUrl(node: NodeProfile): string;
export function shownUrl(url: string): string;
export function amqpUrl(): string;
export function log(line: string): void;
export function webStompAnswers(url?: string, timeoutMs?: number): Promise<boolean>;
export function rabbitmqTool(node: NodeProfile, tool: string, args: string[], timeoutMs?: number): string;
export function ensureInstalled(): void;
export function aptInstall(packageName: string): void;
export function unitsToStop(epmdInUse: string[]): string[];
export function nodePid(node?: NodeProfile): number | undefined;
export function launchNode(node: NodeProfile, definitions?: string): boolean;
export function waitForNode(node: NodeProfile): Promise<void>;
export function ensureBroker(): Promise<{ url: string; started: boolean; foreign: boolean }>;
export function requireOwnBroker(broker: { url: string; foreign: boolean }): void;
export function stopNode(node?: NodeProfile): Promise<void>;
export function restartLocalBroker(): Promise<void>;
export function freezeLocalBroker(ms: number): Promise<void>;
export function runAsCommand(moduleUrl: string, main: (command: string | undefined) => Promise<number>): void;
