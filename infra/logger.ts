import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; anything that looks like a credential is redacted before it is written. */
export function createLogger(options: { level?: string; name: string }): Logger {
  return pino({
    name: options.name,
    level: options.level ?? 'info',
    redact: {
      paths: ['apiKey', '*.apiKey', 'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', 'secret', '*.secret'],
      censor: '[redacted]',
    },
  });
}
