export function brokerUrl(): string;
export function webStompAnswers(url?: string, timeoutMs?: number): Promise<boolean>;
export function ensureBroker(): Promise<{ url: string; started: boolean }>;
export function stopBroker(): void;
export function restartLocalBroker(): Promise<void>;
export function freezeLocalBroker(ms: number): Promise<void>;
