/**
 * Terraform's string templates, as far as the synthesised user data uses them: `${ref}` interpolations of known
 * references, and the escapes `$${` (a literal `${`) and `%%{` (a literal `%{`). Anything else is refused, so the lab
 * never boots a machine from user data Terraform would have rendered differently.
 */
export function evaluateTerraformString(text: string, refs: Readonly<Record<string, string>>): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("$${", i)) {
      out += "${";
      i += 3;
    } else if (text.startsWith("%%{", i)) {
      out += "%{";
      i += 3;
    } else if (text.startsWith("${", i)) {
      const end = text.indexOf("}", i);
      if (end < 0) throw new Error(`unterminated Terraform interpolation at offset ${i}`);
      const ref = text.slice(i + 2, end).trim();
      const value = refs[ref];
      if (value === undefined) throw new Error(`Terraform interpolation \${${ref}} has no value in the lab`);
      out += value;
      i = end + 1;
    } else if (text.startsWith("%{", i)) {
      throw new Error(`Terraform template directive at offset ${i} is not supported in the lab`);
    } else {
      out += text[i];
      i++;
    }
  }
  return out;
}
