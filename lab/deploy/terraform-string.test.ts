import { describe, expect, test } from "vitest";
import { asTerraformString } from "../../stacks/boot/cloud-init";
import { evaluateTerraformString } from "./terraform-string";

describe("Terraform string evaluation (lab deploy)", () => {
  test("undoes the stacks' escaping and fills references: shell text comes back byte for byte", () => {
    const shell = 'x=${HOME} y="%{not a directive}" vol=@@CHAIN_VOLUME_ID@@ $$ $${';
    const terraform = asTerraformString(shell, { CHAIN_VOLUME_ID: "${aws_ebs_volume.v.id}" });
    expect(evaluateTerraformString(terraform, { "aws_ebs_volume.v.id": "vol-0abc" })).toBe(shell.replace("@@CHAIN_VOLUME_ID@@", "vol-0abc"));
  });

  test("an unknown reference or a template directive is refused, not rendered differently", () => {
    expect(() => evaluateTerraformString("${aws_instance.x.id}", {})).toThrow(/has no value in the lab/);
    expect(() => evaluateTerraformString("%{ if true }x%{ endif }", {})).toThrow(/directive/);
  });
});
