/**
 * An AWS SDK client whose module loads on first use. Loading the SDK's clients costs pool-ops 0.1–0.4 s of start-up
 * each; commands that never call AWS (ping, run, put, push-config without a leader lookup…) should not pay it.
 */
export interface LazySdk<M, C> {
  /** The module and one client, loaded and made on the first call. */
  get(): Promise<{ readonly sdk: M; readonly client: C }>;
  /** Destroys the client if it was made. */
  destroy(): void;
}

export function lazySdk<M, C extends { destroy(): void }>(load: () => Promise<M>, make: (sdk: M) => C): LazySdk<M, C> {
  let loaded: Promise<{ sdk: M; client: C }> | undefined;
  return {
    get: () => (loaded ??= load().then((sdk) => ({ sdk, client: make(sdk) }))),
    destroy: () => void loaded?.then(({ client }) => client.destroy(), () => undefined),
  };
}
