import { afterAll } from "vitest";
import { Testing } from "cdktf";
import { removeTempDirs } from "./test/support";

// Every test file's temp dirs go when it ends (registered first, so it runs after the file's own afterAll hooks).
afterAll(() => removeTempDirs());

// Adds cdktf's matchers (toHaveResource, toHaveResourceWithProperties, …) to vitest's expect.
Testing.setupJest();

interface CdktfMatchers<R = unknown> {
  toHaveResource(resourceType: { tfResourceType: string }): R;
  toHaveResourceWithProperties(resourceType: { tfResourceType: string }, properties: Record<string, unknown>): R;
  toHaveDataSource(dataSourceType: { tfResourceType: string }): R;
  toHaveDataSourceWithProperties(dataSourceType: { tfResourceType: string }, properties: Record<string, unknown>): R;
  toHaveProvider(providerType: { tfResourceType: string }): R;
  toHaveProviderWithProperties(providerType: { tfResourceType: string }, properties: Record<string, unknown>): R;
  toBeValidTerraform(): R;
  toPlanSuccessfully(): R;
}

declare module "vitest" {
  // Vitest 5: custom matchers extend `Matchers`, which both `expect(x)` and the asymmetric matchers include.
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Matchers<R extends void | Promise<void> = void | Promise<void>, T = unknown> extends CdktfMatchers<R> {}
}
