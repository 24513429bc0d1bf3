/** `npm run lab:down [-- ID …]`: removes the named labs (LAB_ID, or every lab under .lab/ when none is named). */
import { labDown, listLabs } from "./lab";

const ids = process.argv.slice(2).filter((a) => a !== "--");
const targets = ids.length > 0 ? ids : process.env.LAB_ID ? [process.env.LAB_ID] : listLabs();
if (targets.length === 0) console.log("lab:down: no labs to remove");
let failed = false;
for (const id of targets) {
  try {
    await labDown(id);
    console.log(`lab ${id} removed`);
  } catch (error) {
    failed = true;
    console.error(`lab:down ${id}: ${(error as Error).message}`);
  }
}
process.exit(failed ? 1 : 0);
