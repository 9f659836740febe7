/**
 * The slice of the WHATWG WebSocket API the client uses, so it runs on `ws` in Node (and Node
 * for Max) and on a browser's own WebSocket alike.
 */

export interface SocketLike {
  readonly readyState: number;
  binaryType: string;
  readonly bufferedAmount: number;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', listener: (event: { message?: string; error?: unknown }) => void): void;
}

/** Opens a socket; `headers` are honoured where the platform allows (ws), ignored elsewhere. */
export type SocketFactory = (url: string, protocols: string[], headers: Record<string, string>) => SocketLike;

export const OPEN = 1;

/** The default factory: the `ws` package, loaded on first use. */
export async function wsFactory(): Promise<SocketFactory> {
  const mod = await import('ws');
  const WebSocket = mod.WebSocket;
  return (url, protocols, headers) => {
    const origin = headers['origin'];
    const rest = { ...headers };
    delete rest['origin'];
    return new WebSocket(url, protocols, {
      headers: rest,
      perMessageDeflate: false,
      ...(origin !== undefined ? { origin } : {}),
    }) as unknown as SocketLike;
  };
}
