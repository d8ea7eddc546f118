// Writes the CRD YAML generated from schema.ts into crds/ and the Helm chart's crds/.
//   npm run generate
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CRD_DIRECTORIES, buildCrds, renderCrdYaml } from './crd.js';

for (const dir of CRD_DIRECTORIES) {
  mkdirSync(dir, { recursive: true });
  for (const { fileName, crd } of buildCrds()) {
    writeFileSync(join(dir, fileName), renderCrdYaml(crd));
    console.log(`wrote ${join(dir, fileName)}`);
  }
}
