// Writes what is generated from schema.ts: the CRD YAML into crds/ and the Helm chart's crds/, and
// the resource reference into docs/reference.md.
//   npm run generate
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CRD_DIRECTORIES, buildCrds, renderCrdYaml } from './crd.js';
import { REFERENCE_PATH, generateReference } from './reference.js';

for (const dir of CRD_DIRECTORIES) {
  mkdirSync(dir, { recursive: true });
  for (const { fileName, crd } of buildCrds()) {
    writeFileSync(join(dir, fileName), renderCrdYaml(crd));
    console.log(`wrote ${join(dir, fileName)}`);
  }
}

mkdirSync(dirname(REFERENCE_PATH), { recursive: true });
writeFileSync(REFERENCE_PATH, await generateReference());
console.log(`wrote ${REFERENCE_PATH}`);
