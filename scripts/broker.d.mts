export interface NodeProfile {
  index: number;
  name: string;
  stateDir: string;
  pidFile: string;
  ports: { amqp: number; stomp: number; webStomp: number; management: number; dist: number };
}
export function nodeProfile(index?: number): NodeProfile;
export function brokerUrl(): string;
export function amqpUrl(): string;
export function webStompAnswers(url?: string, timeoutMs?: number): Promise<boolean>;
export function ensureBroker(): Promise<{ url: string; started: boolean }>;
export function stopBroker(): void;
export function restartLocalBroker(): Promise<void>;
export function freezeLocalBroker(ms: number): Promise<void>;
