/** The conversation state and one streaming request at a time, stoppable. */
import { useCallback, useEffect, useRef, useState } from 'react';
import {
  streamChat,
  type ChatMessageParam,
  type ChatRequest,
  type ChatResult,
} from '../../api/chat-stream.js';
import { errorMessage } from '../../api/http.js';

export interface Turn {
  id: number;
  role: 'user' | 'assistant';
  content: string;
  /** The model name that was asked for (a deployment or `name@version`). */
  requested?: string;
  status?: 'streaming' | 'done' | 'stopped' | 'error';
  error?: string;
  result?: ChatResult;
  /** Tokens so far while streaming. */
  partialTokens?: number;
}

export type SamplingOptions = Omit<ChatRequest, 'model' | 'messages'>;

let nextId = 1;

export function useChat() {
  const [turns, setTurns] = useState<Turn[]>([]);
  const [streaming, setStreaming] = useState(false);
  const ctrlRef = useRef<AbortController | null>(null);
  // Leaving the view must not leave the server generating a reply nobody will see.
  useEffect(() => () => ctrlRef.current?.abort(), []);

  const update = (id: number, patch: (t: Turn) => Partial<Turn>) =>
    setTurns((list) => list.map((t) => (t.id === id ? { ...t, ...patch(t) } : t)));

  const send = async (text: string, model: string, system: string, options: SamplingOptions) => {
    if (ctrlRef.current) return;
    const user: Turn = { id: nextId++, role: 'user', content: text };
    const reply: Turn = {
      id: nextId++,
      role: 'assistant',
      content: '',
      requested: model,
      status: 'streaming',
      partialTokens: 0,
    };
    // Earlier failed or empty replies are not part of the conversation the model sees.
    const history: ChatMessageParam[] = turns
      .filter((t) => t.role === 'user' || (t.status !== 'error' && t.content))
      .map((t) => ({ role: t.role, content: t.content }));
    setTurns((list) => [...list, user, reply]);
    const ctrl = new AbortController();
    ctrlRef.current = ctrl;
    setStreaming(true);
    try {
      const messages: ChatMessageParam[] = [
        ...(system.trim() ? [{ role: 'system' as const, content: system.trim() }] : []),
        ...history,
        { role: 'user', content: text },
      ];
      const result = await streamChat({ model, messages, ...options }, ctrl.signal, {
        onDelta: (_delta, partial) =>
          update(reply.id, () => ({
            content: partial.text,
            partialTokens: partial.completionTokens,
            result: partial,
          })),
      });
      update(reply.id, () => ({
        content: result.text,
        result,
        status: result.aborted ? 'stopped' : 'done',
      }));
    } catch (e) {
      update(reply.id, () => ({ status: 'error', error: errorMessage(e) }));
    } finally {
      ctrlRef.current = null;
      setStreaming(false);
    }
  };

  const stop = useCallback(() => ctrlRef.current?.abort(), []);
  const clear = useCallback(() => {
    ctrlRef.current?.abort();
    setTurns([]);
  }, []);

  return { turns, streaming, send, stop, clear };
}
