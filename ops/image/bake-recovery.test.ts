/** A killed image bake finished by the next command: its image (if it made one) in both parameters, the sandbox stopped. */
import { describe, expect, it } from "vitest";
import { GoldenImageError } from "../aws/golden-images";
import { finishInterruptedBake, type BakeFacts, type BakeImages } from "./bake-recovery";

const facts: BakeFacts = { sandbox: "i-sandbox", sandboxName: "sandbox", parameters: { relay: "/sandstone/ami/relay", producer: "/sandstone/ami/producer" } };

function fakeImages(options: { named?: Record<string, string>; states?: Record<string, string>; parameters?: Record<string, string> } = {}) {
  const parameters = { ...options.parameters };
  const stopped: string[] = [];
  const images: BakeImages = {
    imageNamed: async (name) => options.named?.[name],
    waitAvailable: async (id) => {
      const state = options.states?.[id] ?? "available";
      if (state !== "available") throw new GoldenImageError(`image ${id} is ${state}: no reason given`);
    },
    readParameter: async (name) => parameters[name],
    writeParameter: async (name, value) => {
      parameters[name] = value;
    },
    stop: async (id) => {
      stopped.push(id);
    },
  };
  return { images, parameters, stopped };
}

describe("finishInterruptedBake", () => {
  it("killed between the two parameter writes: the image goes into the other one too, and the sandbox is stopped", async () => {
    const f = fakeImages({ parameters: { "/sandstone/ami/relay": "ami-new", "/sandstone/ami/producer": "ami-old" } });
    const lines = await finishInterruptedBake({ ...facts, imageName: "sandstone-node-11.1.3-x", imageId: "ami-new" }, f.images, 1000);
    expect(f.parameters).toEqual({ "/sandstone/ami/relay": "ami-new", "/sandstone/ami/producer": "ami-new" });
    expect(lines).toEqual(["its image ami-new recorded in /sandstone/ami/producer", "sandbox stopped"]);
    expect(f.stopped).toEqual(["i-sandbox"]);
  });

  it("killed just after asking for the image: found by the name journalled before, recorded once available", async () => {
    const f = fakeImages({ named: { "sandstone-node-11.1.3-x": "ami-made" }, parameters: { "/sandstone/ami/relay": "ami-old", "/sandstone/ami/producer": "ami-old" } });
    const lines = await finishInterruptedBake({ ...facts, imageName: "sandstone-node-11.1.3-x" }, f.images, 1000);
    expect(f.parameters).toEqual({ "/sandstone/ami/relay": "ami-made", "/sandstone/ami/producer": "ami-made" });
    expect(lines[0]).toBe("its image ami-made recorded in /sandstone/ami/relay and /sandstone/ami/producer");
  });

  it("killed before imaging: the parameters are left alone, the sandbox stopped", async () => {
    const f = fakeImages({ parameters: { "/sandstone/ami/relay": "ami-old", "/sandstone/ami/producer": "ami-old" } });
    expect(await finishInterruptedBake(facts, f.images, 1000)).toEqual(["it had made no image: the AMI parameters are unchanged", "sandbox stopped"]);
    expect(f.parameters["/sandstone/ami/relay"]).toBe("ami-old");
    expect(f.stopped).toEqual(["i-sandbox"]);
  });

  it("an image that failed is not recorded, and says so", async () => {
    const f = fakeImages({ states: { "ami-bad": "failed" }, parameters: { "/sandstone/ami/relay": "ami-old", "/sandstone/ami/producer": "ami-old" } });
    const lines = await finishInterruptedBake({ ...facts, imageId: "ami-bad" }, f.images, 1000);
    expect(lines[0]).toMatch(/its image ami-bad is not usable \(image ami-bad is failed: no reason given\): not recorded/);
    expect(f.parameters).toEqual({ "/sandstone/ami/relay": "ami-old", "/sandstone/ami/producer": "ami-old" });
  });
});
