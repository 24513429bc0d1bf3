/**
 * The per-node classifier on a plan real Terraform made: `fixtures/nodes-plan-moto.json` is `terraform show -json`
 * (Terraform 1.11.4, hashicorp/aws 5.100.0) of the nodes stack applied on moto with relays.count 3, then planned with
 * relays.count 2, relays.chainDbVolumeGiB 250, producers.instanceType m6i.xlarge, rootVolumeGiB 40 and
 * `-replace` of relay-2's instance (user data dropped to keep the file small). node-changes.int.test.ts makes such a
 * plan afresh on the emulator and checks the same.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { hostOfAddress, nodesPlan, stoppingNodes } from "./node-changes";
import { parsePlanJson, PlanJsonError } from "./plan-json";

const recorded = readFileSync(join(import.meta.dirname, "fixtures", "nodes-plan-moto.json"), "utf8");

describe("the nodes stack's plan, per host", () => {
  const plan = nodesPlan(parsePlanJson(recorded));
  const of = (host: string) => plan.hosts.find((h) => h.host === host)!;

  test("every host of the plan is listed once, with its role", () => {
    expect(plan.hosts.map((h) => `${h.host}:${h.role}`)).toEqual(
      ["relay-1:relay", "relay-2:relay", "relay-3:relay", "producer-1:producer", "producer-2:producer", "bastion:bastion"],
    );
    expect(plan.others).toEqual([]);
  });

  test("a new instance type stops the producers; the bigger root volume alone does not", () => {
    expect(of("producer-1").effect).toBe("stop");
    expect(of("producer-1").reasons).toContain("instance type m6i.large → m6i.xlarge (stopped, changed, started)");
    expect(of("producer-1").reasons).toContain("root volume 30 → 40 GiB (online; its filesystem is grown after)");
    expect(of("bastion").effect).toBe("online");
    expect(of("bastion").grows).toEqual(["root"]);
  });

  test("a grown chain volume is online, with both filesystems to grow", () => {
    expect(of("relay-1").effect).toBe("online");
    expect(of("relay-1").reasons).toContain("chain volume 200 → 250 GiB (online; its filesystem is grown after)");
    expect([...of("relay-1").grows].sort()).toEqual(["chain", "root"]);
  });

  test("a replaced instance replaces the host; a removed relay is destroyed with all its resources", () => {
    expect(of("relay-2").effect).toBe("replace");
    expect(of("relay-2").reasons).toContain("instance replaced (-replace)");
    expect(of("relay-2").reasons).toContain("chain volume re-attached (forced by instance_id) (the instance is stopped to detach it)");
    expect(of("relay-3").effect).toBe("destroy");
    expect(of("relay-3").addresses).toHaveLength(4);
  });

  test("the nodes that go down: stops, replacements, removals of relays and producers (not the bastion)", () => {
    expect(stoppingNodes(plan).map((h) => h.host)).toEqual(["relay-2", "relay-3", "producer-1", "producer-2"]);
  });
});

describe("classifier details", () => {
  const change = (address: string, actions: string[], before: unknown, after: unknown, extra: object = {}) => ({ address, mode: "managed", type: address.split(".")[0], name: address.split(".")[1], change: { actions, before, after }, ...extra });
  const doc = (...resource_changes: object[]) => JSON.stringify({ format_version: "1.2", terraform_version: "1.11.4", resource_changes });

  test("a new relay is created; unchanged hosts say nothing; a change to no host is listed apart", () => {
    const plan = nodesPlan(
      parsePlanJson(
        doc(
          change("aws_instance.relays_relay-5_instance_0A1B2C3D", ["create"], null, { instance_type: "m6i.large" }),
          change("aws_ebs_volume.relays_relay-5_chain-db_0A1B2C3E", ["create"], null, { size: 200 }),
          change("aws_instance.relays_relay-1_instance_8AFC7103", ["no-op"], { instance_type: "m6i.large" }, { instance_type: "m6i.large" }),
          change("aws_ssm_parameter.parameters_leader_0630D23F", ["update"], { value: "a" }, { value: "b" }),
        ),
      ),
    );
    expect(plan.hosts.map((h) => [h.host, h.effect])).toEqual([["relay-1", "none"], ["relay-5", "create"]]);
    expect(plan.others).toEqual([{ address: "aws_ssm_parameter.parameters_leader_0630D23F", actions: ["update"] }]);
  });

  test("a replaced chain volume stops the node and says the database is lost", () => {
    const plan = nodesPlan(parsePlanJson(doc(change("aws_ebs_volume.producers_producer-1_chain-db_A903ACF5", ["delete", "create"], { size: 200 }, { size: 100 }, { change: { actions: ["delete", "create"], before: { size: 200 }, after: { size: 100 }, replace_paths: [["size"]] } }))));
    expect(plan.hosts[0]!.effect).toBe("stop");
    expect(plan.hosts[0]!.reasons[0]).toMatch(/chain volume replaced \(forced by size\): a new, empty volume; the chain database is lost/);
  });

  test("tags changed on a running instance: in place, while it runs", () => {
    const plan = nodesPlan(parsePlanJson(doc(change("aws_instance.relays_relay-1_instance_8AFC7103", ["update"], { instance_type: "m6i.large", tags: { a: "1" } }, { instance_type: "m6i.large", tags: { a: "2" } }))));
    expect(plan.hosts[0]).toMatchObject({ effect: "online", reasons: ["tags (changed while it runs)"] });
  });

  test("addresses cdktf gives the nodes stack's host resources map to their host", () => {
    expect(hostOfAddress("aws_instance.bastion_instance_8ECFA57E")).toEqual({ host: "bastion", part: "instance" });
    expect(hostOfAddress("aws_volume_attachment.relays_relay-12_chain-db-attachment_0D53017D")).toEqual({ host: "relay-12", part: "chain-db-attachment" });
    expect(hostOfAddress("aws_ssm_parameter.parameters_leader_0630D23F")).toBeUndefined();
  });

  test("what is not a Terraform JSON plan is refused, saying why", () => {
    expect(() => parsePlanJson("Error: no plan")).toThrow(PlanJsonError);
    expect(() => parsePlanJson(JSON.stringify({ format_version: "0.1" }))).toThrow(/format_version: a Terraform JSON plan of format 1\.x/);
  });
});
