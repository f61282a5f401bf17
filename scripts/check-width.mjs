// Fails when a source line passes 100 columns (URLs excepted): the house limit that
// Prettier cannot enforce on comments and strings.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const widthMax = 100;
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
  encoding: 'utf8',
})
  .split('\n')
  .filter((file) => /\.(ts|js|mjs|cjs|yaml|yml|json)$/.test(file))
  .filter((file) => !file.endsWith('package-lock.json'))
  // Generated benchmark results carry whole notes as JSON strings; Prettier skips them too.
  .filter((file) => !file.startsWith('bench/results/'));

const offences = [];
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue; // Deleted in the work tree but still in the index.
  }
  text.split('\n').forEach((line, index) => {
    if (line.length > widthMax && !/https?:\/\//.test(line)) {
      offences.push(`${file}:${index + 1}: ${line.length} columns`);
    }
  });
}

if (offences.length > 0) {
  console.error(`Lines past ${widthMax} columns:\n${offences.join('\n')}`);
  process.exit(1);
}
console.log(`check-width: ${files.length} files within ${widthMax} columns`);
