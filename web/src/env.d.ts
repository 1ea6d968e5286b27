/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Web-STOMP URL, or a comma-separated list (one per cluster node). @default ws://127.0.0.1:15674/ws */
  readonly VITE_STOMP_URL?: string;
  /** Broker user. @default rpc-browser */
  readonly VITE_STOMP_LOGIN?: string;
  /** Broker password. @default rpc-browser */
  readonly VITE_STOMP_PASSCODE?: string;
  /** RabbitMQ virtual host. @default / */
  readonly VITE_STOMP_VHOST?: string;
  /** The queue the servers consume. @default rpc_queue */
  readonly VITE_RPC_QUEUE?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
